import { describe, expect, it } from "vitest";
import { memoryTransport, type Connection, type FrameSink, type Transport } from "@xppg/transport";
import { Playground } from "../src/index.js";
import { nextEvent, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

let counter = 0;

/**
 * The memory transport, whose next dialled connection holds back every
 * frame it receives after the first (the secure handshake's reply) for
 * `delayMs`: the peer's hello on that connection arrives after anything it
 * sends on another one at the same moment.
 */
function slowHelloTransport(delayMs: number): Transport & { slowNext: boolean } {
  const inner = memoryTransport();
  const wrap = (conn: Connection): Connection => {
    let frames = 0;
    return new Proxy(conn, {
      get(target, name) {
        if (name === "read") {
          return (sink: FrameSink) =>
            target.read({
              frame: (data) => {
                if (++frames === 1) return sink.frame(data);
                const copy = data.slice();
                setTimeout(() => sink.frame(copy), delayMs);
              },
              ...(sink.close === undefined ? {} : { close: (info) => setTimeout(() => sink.close?.(info), delayMs) }),
            });
        }
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  const t = Object.assign(Object.create(inner) as Transport, {
    slowNext: false,
    dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => {
      const conn = await inner.dial(address, options);
      if (!t.slowNext) return conn;
      t.slowNext = false;
      return wrap(conn);
    },
  });
  return t;
}

async function startNode(transport: Transport): Promise<Playground> {
  const pg = track(new Playground("replace-app", { transports: [transport], listen: [`memory://replace-${process.pid}-${++counter}`] }));
  await pg.start();
  return pg;
}

describe("a connection replaced by another to the same peer", () => {
  it("is no leave and join on the side that hears of the replacement before the new connection opens", async () => {
    const transports = [slowHelloTransport(300), slowHelloTransport(300)];
    const [x, y] = await Promise.all(transports.map((t) => startNode(t)));
    // The kept connection is the one dialled by the smaller id: the larger dials first, the smaller replaces it.
    const [lo, hi] = x!.peerId < y!.peerId ? [x!, y!] : [y!, x!];
    const loTransport = transports[lo === x ? 0 : 1]!;
    await hi.join(lo.addresses[0]!);
    await until(() => lo.peers.length === 1, 5000, "the first connection opens on both sides");
    const seen: string[] = [];
    lo.events.on("peer:left", (p) => seen.push(`left ${p.peerId}`));
    lo.events.on("peer:joined", (p) => seen.push(`joined ${p.peerId}`));
    // hi closes the old connection (a goodbye, at once) as soon as lo's hello arrives on the new one; hi's own hello reaches lo 300 ms later.
    loTransport.slowNext = true;
    const peer = await lo.join(hi.addresses[0]!);
    expect(peer.peerId).toBe(hi.peerId);
    expect(lo.peers.map((p) => [p.peerId, p.outbound])).toEqual([[hi.peerId, true]]);
    await until(() => hi.peers.length === 1 && !hi.peers[0]!.outbound, 5000, "hi keeps the new connection");
    // The link works over the new connection.
    const got = nextEvent(lo, "message:unhandled");
    await hi.send("ping-kind", 1, { to: lo.peerId });
    await got;
    expect(seen).toEqual([]);
  });

  it("is a leave when the new connection fails before it opens", async () => {
    const transports = [slowHelloTransport(300), slowHelloTransport(300)];
    const [x, y] = await Promise.all(transports.map((t) => startNode(t)));
    const [lo, hi] = x!.peerId < y!.peerId ? [x!, y!] : [y!, x!];
    const loTransport = transports[lo === x ? 0 : 1]!;
    await hi.join(lo.addresses[0]!);
    await until(() => lo.peers.length === 1, 5000, "the first connection opens on both sides");
    const seen: string[] = [];
    lo.events.on("peer:left", (p) => seen.push(`left ${p.peerId}`));
    lo.events.on("peer:joined", (p) => seen.push(`joined ${p.peerId}`));
    loTransport.slowNext = true;
    const joining = lo.join(hi.addresses[0]!).catch((error: unknown) => error);
    // hi goes away while the new connection's hello is held back: lo must still see it leave, once.
    await until(() => hi.peers.length === 0 || !hi.peers[0]!.outbound, 5000, "hi took the new connection");
    await hi.stop();
    await joining;
    await until(() => lo.peers.length === 0 && seen.length > 0 && seen.at(-1)!.startsWith("left"), 5000, "lo sees hi leave");
    // Whatever lo saw of the new connection, the events pair up and end with the leave.
    expect(seen.filter((e) => e.startsWith("left")).length).toBe(seen.filter((e) => e.startsWith("joined")).length + 1);
  });
});
