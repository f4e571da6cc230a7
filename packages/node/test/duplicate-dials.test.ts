import { describe, expect, it } from "vitest";
import type { Connection, FrameSink, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { roundTrip, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

/** How one dialled connection is held back: its frames from the `sendFrom`-th on leave `sendMs` late (a close waits for them), those it receives from the `readFrom`-th on arrive `readMs` late. */
interface Hold {
  readonly sendFrom: number;
  readonly sendMs: number;
  readonly readFrom: number;
  readonly readMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** TCP on loopback, whose next dialled connections take the holds in `next`, in the order they connect. */
function heldTransport(): Transport & { next: Hold[] } {
  const inner = tcpTransport();
  const wrap = (conn: Connection, hold: Hold): Connection => {
    let sent = 0;
    let received = 0;
    // One chain for every send and the close: frames keep their order, and a close comes after the frames sent before it.
    let chain = Promise.resolve();
    const later = <T>(work: () => Promise<T>, ms: number): Promise<T> => {
      const done = chain.then(() => (ms > 0 ? sleep(ms) : undefined)).then(work);
      chain = done.then(
        () => {},
        () => {},
      );
      return done;
    };
    return new Proxy(conn, {
      get(target, name) {
        if (name === "send") {
          return (frame: Uint8Array) => {
            // The caller may reuse its buffer once `send` returns.
            const copy = frame.slice();
            return later(() => target.send(copy), sent++ >= hold.sendFrom ? hold.sendMs : 0);
          };
        }
        if (name === "sendParts") return (parts: readonly Uint8Array[]) => later(() => target.sendParts(parts), sent++ >= hold.sendFrom ? hold.sendMs : 0);
        if (name === "close") return (error?: Parameters<Connection["close"]>[0]) => later(() => target.close(error), 0);
        if (name === "read" && hold.readMs > 0) {
          return (sink: FrameSink) =>
            target.read({
              frame: (data) => {
                if (received++ < hold.readFrom) return sink.frame(data);
                const copy = data.slice();
                setTimeout(() => sink.frame(copy), hold.readMs);
              },
              ...(sink.close === undefined ? {} : { close: (info) => setTimeout(() => sink.close?.(info), hold.readMs) }),
            });
        }
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  const t = Object.assign(Object.create(inner) as Transport, {
    next: [] as Hold[],
    dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => {
      const conn = await inner.dial(address, options);
      const hold = t.next.shift();
      return hold === undefined ? conn : wrap(conn, hold);
    },
  });
  return t;
}

async function startNode(options: PlaygroundOptions): Promise<Playground> {
  const pg = track(new Playground("dup-app", { listen: ["tcp://127.0.0.1:0"], ...options }));
  await pg.start();
  return pg;
}

/** What each node saw of the other: joins and leaves, in order. */
function watch(pg: Playground): string[] {
  const seen: string[] = [];
  pg.events.on("peer:joined", () => seen.push("joined"));
  pg.events.on("peer:left", () => seen.push("left"));
  return seen;
}

/**
 * `a` dials `b` twice at once; each end takes a different connection for the
 * first (a reads b's hello on the first dial at once, b reads a's hello on
 * the second first), and each end meets the other connection before it hears
 * what the other end did about it. Ends when both joins have answered and
 * both ends list one connection that carries messages both ways.
 */
async function raceTwoDials(options: PlaygroundOptions, holds: [Hold, Hold]): Promise<{ joins: PromiseSettledResult<unknown>[]; seenByA: string[]; seenByB: string[] }> {
  const transport = heldTransport();
  const b = await startNode(options);
  const a = await startNode({ ...options, transports: [transport] });
  const seenByA = watch(a);
  const seenByB = watch(b);
  transport.next.push(...holds);
  const address = b.addresses[0]!;
  const joins = await Promise.allSettled([a.join(address), a.join(address)]);
  await until(() => a.peers.length === 1 && b.peers.length === 1, 5000, "one connection listed on both ends");
  await roundTrip(a, b);
  expect(a.peers.map((p) => [p.peerId, p.outbound])).toEqual([[b.peerId, true]]);
  expect(b.peers.map((p) => [p.peerId, p.outbound])).toEqual([[a.peerId, false]]);
  return { joins, seenByA, seenByB };
}

const D = 400;

describe("two dials between the same two nodes at once", () => {
  it("end with one connection on both ends when each end admits a different one first (no encryption: no handshake hash to break the tie)", async () => {
    // First dial: a's frames reach b D late. Second dial: a reads b's frames D/2 late, and a's frames after its hello reach b 3D late.
    const { joins, seenByA, seenByB } = await raceTwoDials({ dangerouslyDisableEncryption: true }, [
      { sendFrom: 0, sendMs: D, readFrom: 0, readMs: 0 },
      { sendFrom: 1, sendMs: 3 * D, readFrom: 0, readMs: D / 2 },
    ]);
    expect(joins.map((j) => j.status)).toEqual(["fulfilled", "fulfilled"]);
    expect([seenByA, seenByB]).toEqual([["joined"], ["joined"]]);
  });

  it("end with one connection on both ends when one end has seen the first open and the other has not (encrypted, several rounds)", async () => {
    // The old rule kept an opened first connection on one end and let the handshake hash pick on the other: a coin toss per round.
    for (let round = 0; round < 4; round++) {
      // First dial: a's welcome (after Noise 1 and 3 and the hello) reaches b D late, and what b sends after its welcome reaches a 2D late.
      // Second dial: a reads b's hello (after Noise 2) D late, so a meets it with the first connection open.
      const { joins, seenByA, seenByB } = await raceTwoDials({}, [
        { sendFrom: 3, sendMs: D, readFrom: 3, readMs: 2 * D },
        { sendFrom: 3, sendMs: 0, readFrom: 1, readMs: D },
      ]);
      expect(joins.map((j) => j.status), `round ${round}`).toEqual(["fulfilled", "fulfilled"]);
      expect([seenByA, seenByB], `round ${round}`).toEqual([["joined"], ["joined"]]);
    }
  });
});
