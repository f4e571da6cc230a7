import { describe, expect, it, vi } from "vitest";
import { now } from "@xppg/errors";
import { ENVELOPE_VERSION } from "@xppg/framing";
import { generateIdentity, secureConnection } from "@xppg/secure";
import type { Connection, FrameSink, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { collect, RawPeer, roundTrip, stopNodesAfterEach, track, until } from "./helpers.js";
import { errorsOf } from "./tcp-helpers.js";

stopNodesAfterEach();

/** How one dialled connection is held back: its frames from the `sendFrom`-th on leave `sendMs` late (a close waits for them), those it receives from the `readFrom`-th on arrive `readMs` late. */
interface Hold {
  readonly sendFrom: number;
  readonly sendMs: number;
  readonly readFrom: number;
  readonly readMs: number;
  /** Frames from this one on leave on time again. */
  readonly sendUntil?: number;
  /** Received frames from this one on arrive this much later instead (`readLateMs`, at least `readMs`). */
  readonly readLateFrom?: number;
  readonly readLateMs?: number;
  /** Called when this node closes the connection (before it has ended). */
  readonly onClose?: () => void;
  /** Called with a received frame's number once it was handed up. */
  readonly onRead?: (n: number) => void;
  /** The close this node hears arrives this late (default: as late as the received frames, after them). */
  readonly closeMs?: number;
  /** Called with the dialled connection itself (under the holds) once it is open. */
  readonly onDialled?: (conn: Connection) => void;
}

/** What a node signs before a broadcast's bytes. */
const BROADCAST_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const held = (n: number, hold: Hold): number => (n >= hold.sendFrom && n < (hold.sendUntil ?? Infinity) ? hold.sendMs : 0);

/** TCP on loopback, whose next dialled connections take the holds in `next`, in the order they connect. */
function heldTransport(): Transport & { next: Hold[] } {
  const inner = tcpTransport();
  const wrap = (conn: Connection, hold: Hold): Connection => {
    hold.onDialled?.(conn);
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
        // Every frame goes through the held `send`: this connection lends no room of its send buffer (a frame written
        // there would leave at once, past the holds and ahead of the frames held before it).
        if (name === "lendRoom" || name === "sendLent" || name === "endLoan") return undefined;
        if (name === "send") {
          return (frame: Uint8Array) => {
            // The caller may reuse its buffer once `send` returns.
            const copy = frame.slice();
            return later(() => target.send(copy), held(sent++, hold));
          };
        }
        if (name === "sendParts") return (parts: readonly Uint8Array[]) => later(() => target.sendParts(parts), held(sent++, hold));
        if (name === "close") {
          return (error?: Parameters<Connection["close"]>[0]) => {
            hold.onClose?.();
            return later(() => target.close(error), 0);
          };
        }
        if (name === "read" && (hold.readMs > 0 || hold.onRead !== undefined)) {
          return (sink: FrameSink) =>
            target.read({
              frame: (data) => {
                const n = received++;
                if (n < hold.readFrom) {
                  sink.frame(data);
                  return hold.onRead?.(n);
                }
                const copy = data.slice();
                setTimeout(() => (sink.frame(copy), hold.onRead?.(n)), n >= (hold.readLateFrom ?? Infinity) ? hold.readLateMs! : hold.readMs);
              },
              ...(sink.close === undefined ? {} : { close: (info) => setTimeout(() => sink.close?.(info), hold.closeMs ?? Math.max(hold.readMs, hold.readLateMs ?? 0)) }),
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

describe("a second connection held while the peer decides (a standby)", () => {
  /** `a` dials `b` twice; `b` admits the second first (a's hello on the first reaches b late), `a` admits the first first (b's hello on the second reaches a late). */
  async function standbyRace(before?: (b: Playground) => Promise<void>, holds?: (a: Playground, b: Playground) => [Hold, Hold]): Promise<{ a: Playground; b: Playground; joins: Promise<PromiseSettledResult<unknown>[]>; seenByA: string[] }> {
    const transport = heldTransport();
    const b = await startNode({});
    const a = await startNode({ transports: [transport] });
    const seenByA = watch(a);
    await before?.(b);
    // Encrypted, a dial's frames are Noise 1, Noise 3, the hello, the welcome: the first dial's hello reaches b 3D late;
    // the second dial's frames from b after Noise 2 (its hello, its welcome, the mesh's first messages) reach a D/2 late.
    transport.next.push(...(holds?.(a, b) ?? [{ sendFrom: 2, sendMs: 3 * D, readFrom: 0, readMs: 0 }, { sendFrom: 0, sendMs: 0, readFrom: 1, readMs: D / 2 }]));
    const address = b.addresses[0]!;
    return { a, b, joins: Promise.allSettled([a.join(address), a.join(address)]), seenByA };
  }

  it("takes over when the peer welcomes it: the peer's mesh messages on it are no violation, and both joins answer with one link", async () => {
    // b has broadcast into its mesh (to c) just before it meets a: it announces that broadcast to a new mesh neighbour on the link it keeps.
    const { a, b, joins, seenByA } = await standbyRace(async (b) => {
      const c = await startNode({});
      await c.join(b.addresses[0]!);
      await b.send("news", { n: 1 });
    });
    const errors = errorsOf(a);
    expect((await joins).map((j) => j.status)).toEqual(["fulfilled", "fulfilled"]);
    // (a may meet c through b: only the link between a and b counts here.)
    const links = (x: Playground, y: Playground): number => x.peers.filter((p) => p.peerId === y.peerId).length;
    await until(() => links(a, b) === 1 && links(b, a) === 1, 5000, "one connection listed on both ends");
    // Past the late bye on the first dial.
    await new Promise((resolve) => setTimeout(resolve, 4 * D));
    await roundTrip(a, b);
    expect(links(a, b)).toBe(1);
    expect(errors).toEqual([]);
    expect(a.stats.droppedPeers).toBe(0);
    expect(a.bans).toEqual([]);
    expect(seenByA.filter((e) => e === "left")).toEqual([]);
  });

  it("keeps this node's third dial aside too: the peer may keep that one", async () => {
    // b admits the third dial first (the hellos of the first two reach it 3D late) and keeps it; a admits the first two before it
    // (b's hello on the third reaches a D/2 late): a lists the first, holds the second, and must hold the third as well.
    const transport = heldTransport();
    const b = await startNode({});
    const a = await startNode({ transports: [transport] });
    transport.next.push({ sendFrom: 2, sendMs: 3 * D, readFrom: 0, readMs: 0 }, { sendFrom: 2, sendMs: 3 * D, readFrom: 0, readMs: 0 }, { sendFrom: 0, sendMs: 0, readFrom: 1, readMs: D / 2 });
    const address = b.addresses[0]!;
    const joins = await Promise.allSettled([a.join(address), a.join(address), a.join(address)]);
    expect(joins.map((j) => j.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    await until(() => a.peers.length === 1 && b.peers.length === 1, 5000, "one connection listed on both ends");
    // Past the late byes on the first two dials.
    await new Promise((resolve) => setTimeout(resolve, 4 * D));
    await roundTrip(a, b);
    expect([a.peers.length, b.peers.length]).toEqual([1, 1]);
  });

  it("does not carry a peer on once it is banned while its other connection is closing", async () => {
    let banned = false;
    // b's bye on the first dial reaches a while the second is held aside (b's welcome on it comes 2D late); a bans b as it closes the first.
    const { a, joins, seenByA } = await standbyRace(undefined, (a, b) => [
      { sendFrom: 2, sendMs: D, readFrom: 0, readMs: 0, onClose: () => void (banned ||= (a.ban(b.peerId), true)) },
      { sendFrom: 0, sendMs: 0, readFrom: 2, readMs: 2 * D },
    ]);
    await joins;
    await until(() => banned, 5000, "a closed its first connection");
    const joinedBefore = seenByA.length;
    // Past b's late welcome on the second dial.
    await new Promise((resolve) => setTimeout(resolve, 3 * D));
    expect(a.peers).toEqual([]);
    expect(seenByA.slice(joinedBefore)).not.toContain("joined");
  });
});

describe("a connection held aside while the peer decides, that closes before the peer chose", () => {
  it("rejects its join with XPPG_ERR_CONNECTION_CLOSED in its own words (nothing was sent on it; join again)", async () => {
    // The peer (raw, without dup/1: it decides alone, by a bye on the loser) accepts both of a's dials and welcomes each;
    // a lists the first and holds the second aside. Once the peer's welcome on the second is read, that connection
    // closes under a before the peer said which one it keeps.
    const identity = generateIdentity();
    const listener = await tcpTransport().listen("tcp://127.0.0.1:0", (conn) => {
      void secureConnection(conn, { identity }).then((secure) => new RawPeer(secure, identity.peerId, secure.remotePeerId).hello("dup-app"));
    });
    try {
      const transport = heldTransport();
      const a = await startNode({ transports: [transport] });
      await a.join(listener.address);
      let second: Connection | undefined;
      const read: number[] = [];
      transport.next.push({
        sendFrom: 0,
        sendMs: 0,
        readFrom: Infinity,
        readMs: 0,
        closeMs: 0,
        onDialled: (conn) => void (second = conn),
        onRead: (n) => void (read.push(n), n === 2 && setTimeout(() => void second!.close(), 0)),
      });
      const joined = await a.join(listener.address).then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      expect(read).toEqual([0, 1, 2]);
      expect([joined?.code, joined?.message]).toEqual(["XPPG_ERR_CONNECTION_CLOSED", `The second connection to ${identity.peerId} closed before the peer chose one of the two; nothing was sent on it. Join again.`]);
      expect(a.peers.map((p) => p.peerId)).toEqual([identity.peerId]);
    } finally {
      await listener.close();
    }
  });
});

describe("a third connection, dialled by the other side, that wins over this node's two", () => {
  it("is not closed by a late welcome on the one held aside: the newest connection stays on both ends", async () => {
    // a (the larger id) dials b twice; then b (the smaller id) dials a. The rule between a dial of each side keeps b's.
    const [small, large] = [generateIdentity(), generateIdentity()].sort((x, y) => (x.peerId < y.peerId ? -1 : 1));
    const transport = heldTransport();
    const b = await startNode({ identity: small });
    const a = await startNode({ identity: large, transports: [transport] });
    const seenByA = watch(a);
    // First dial: a's hello reaches b 3D late (b admits the second first, and refuses this one). Second dial, once a has admitted
    // the first: a reads b's hello D/2 late (held aside) and b's welcome on it 4D late, after b's own dial has replaced both.
    let admitted = false;
    transport.next.push(
      { sendFrom: 2, sendMs: 3 * D, readFrom: 0, readMs: 0, onRead: (n) => void (admitted ||= n === 1) },
      { sendFrom: 0, sendMs: 0, readFrom: 1, readMs: D / 2, readLateFrom: 2, readLateMs: 4 * D },
    );
    const address = b.addresses[0]!;
    const first = a.join(address);
    // a admits its first dial (b's hello on it read) before its second.
    await until(() => admitted, 5000, "b's hello on the first dial read");
    const joins = Promise.allSettled([first, a.join(address)]);
    // b lists a's second dial once a has welcomed it (held aside on a): now b dials a.
    await until(() => b.peers.length === 1, 5000, "b lists a's second dial");
    const joined = await b.join(a.addresses[0]!);
    expect(joined.peerId).toBe(a.peerId);
    expect((await joins).map((j) => j.status)).toEqual(["fulfilled", "fulfilled"]);
    // Past b's late welcome (and goodbye) on a's second dial.
    await sleep(5 * D);
    await roundTrip(a, b);
    expect(a.peers.map((p) => [p.peerId, p.outbound])).toEqual([[b.peerId, false]]);
    expect(b.peers.map((p) => [p.peerId, p.outbound])).toEqual([[a.peerId, true]]);
    expect(seenByA).toEqual(["joined"]);
  });
});

describe("a third connection, dialled by the other side, whose join is aborted before it opens", () => {
  it("leaves the connection held aside to carry the link on both ends: no leave", async () => {
    // As above: a (the larger id) dials b twice, the second held aside on a (b's welcome on it read 4D late); then b dials a.
    const [small, large] = [generateIdentity(), generateIdentity()].sort((x, y) => (x.peerId < y.peerId ? -1 : 1));
    const [transportA, transportB] = [heldTransport(), heldTransport()];
    const b = await startNode({ identity: small, transports: [transportB] });
    const a = await startNode({ identity: large, transports: [transportA] });
    const [seenByA, seenByB] = [watch(a), watch(b)];
    let admitted = false;
    transportA.next.push(
      { sendFrom: 2, sendMs: 3 * D, readFrom: 0, readMs: 0, onRead: (n) => void (admitted ||= n === 1) },
      { sendFrom: 0, sendMs: 0, readFrom: 1, readMs: D / 2, readLateFrom: 2, readLateMs: 4 * D },
    );
    // b's dial: its secure handshake goes through, then a's hello on it is read 4D late, so b is still in its handshake when it gives up.
    let secured = false;
    transportB.next.push({ sendFrom: 0, sendMs: 0, readFrom: 1, readMs: 4 * D, onRead: (n) => void (secured ||= n === 0) });
    const address = b.addresses[0]!;
    const first = a.join(address);
    await until(() => admitted, 5000, "b's hello on the first dial read");
    const joins = Promise.allSettled([first, a.join(address)]);
    await until(() => b.peers.length === 1, 5000, "b lists a's second dial");
    const abort = new AbortController();
    const third = b.join(a.addresses[0]!, { signal: abort.signal });
    await until(() => secured, 5000, "b's dial secured");
    // a admits b's dial as soon as it reads b's hello on it (a few ms): b gives up well before a's hello reaches it.
    await sleep(D);
    abort.abort();
    await expect(third).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    // Past b's late welcome on a's second dial, and a's late hello on b's dial.
    await sleep(5 * D);
    await roundTrip(a, b);
    expect(a.peers.map((p) => [p.peerId, p.outbound])).toEqual([[b.peerId, true]]);
    expect(b.peers.map((p) => [p.peerId, p.outbound])).toEqual([[a.peerId, false]]);
    expect((await joins).map((j) => j.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(seenByA).toEqual(["joined"]);
    expect(seenByB).toEqual(["joined"]);
  });
});

describe("a peer without dup/1 that dialled both connections (the previous release's rule)", () => {
  it("keeps the listed one when the peer welcomes the other first and then keeps the listed one: its welcome on the standby is no decision", async () => {
    const node = track(new Playground("test-app", { host: "127.0.0.1", port: 0 }));
    await node.start();
    const got = collect(node, "note");
    const identity = generateIdentity();
    const address = `tcp://127.0.0.1:${node.port}`;
    // The node admits `first` (listed), then `second` (a standby: the peer offers no dup/1), and welcomes both.
    const first = await RawPeer.dial(tcpTransport(), address, identity);
    await first.hello("test-app", undefined, false);
    await until(() => first.received.some((m) => m.kind === "xppg/welcome"), 5000, "the node welcomes the first");
    const second = await RawPeer.dial(tcpTransport(), address, identity);
    await second.hello("test-app", undefined, false);
    await until(() => second.received.some((m) => m.kind === "xppg/welcome"), 5000, "the node welcomes the second");
    let firstOpen = true;
    void first.conn.closed.then(() => (firstOpen = false));
    // The old rule, with the other arrival order: it welcomed `second` as it admitted it, then `first` won the
    // handshake-hash comparison: a bye on `second`, and its welcome on `first`.
    await second.send("xppg/welcome", null);
    await second.send("xppg/bye", { code: "XPPG_ERR_DUPLICATE_CONNECTION", reason: "the other connection is kept" });
    await second.conn.closed;
    await first.send("xppg/welcome", null);
    await first.send("note", { n: 1 });
    await until(() => got.length === 1, 5000, "the node gets the note on the connection both kept");
    expect(firstOpen).toBe(true);
    expect(node.peers.map((p) => p.peerId)).toEqual([identity.peerId]);
    void first.conn.close();
  });
});

describe("a peer without dup/1 that dials one node again and again", () => {
  it("holds at most one connection beside its listed one, and its connections share one set of rate limits", async () => {
    const node = track(new Playground("test-app", { host: "127.0.0.1", port: 0, limits: { maxPendingHandshakesPerHost: 16, maxPendingHandshakes: 16, messagesPerSecond: 1, messageBurst: 20, handshakeTimeoutMs: 10_000 } }));
    await node.start();
    const got = collect(node, "note");
    const identity = generateIdentity();
    const raws = await Promise.all(Array.from({ length: 10 }, () => RawPeer.dial(tcpTransport(), `tcp://127.0.0.1:${node.port}`, identity)));
    const open = raws.map(() => true);
    raws.forEach((r, i) => void r.conn.closed.then(() => (open[i] = false)));
    // Every hello first (a hello without capabilities: no dup/1), then each connection answers the node's welcome and sends 15 messages.
    await Promise.all(raws.map((r) => r.hello("test-app", undefined, false)));
    await until(() => raws.every((r, i) => !open[i] || r.received.some((m) => m.kind === "xppg/welcome" || m.kind === "xppg/bye")), 5000, "the node answered every hello");
    await vi.waitFor(() => expect(open.filter(Boolean).length).toBeLessThanOrEqual(2), { timeout: 2000 });
    await Promise.all(
      raws.map(async (r, i) => {
        if (!open[i]) return;
        await r.send("xppg/welcome", null).catch(() => {});
        for (let n = 0; n < 15; n++) await r.send("note", { n }).catch(() => {});
      }),
    );
    // The peer's welcome on the standby is no decision (no dup/1): both stay, and the notes on both spend from one budget.
    // The shared budget is spent (a connection is dropped), or both carried all their notes.
    await vi.waitFor(() => expect(open.filter(Boolean).length <= 1 || got.length >= 30).toBe(true), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // One burst of 20 (the two hellos and welcomes included), not one per connection (each alone would take its 15).
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThanOrEqual(20);
    for (const r of raws) void r.conn.close();
  });
});

describe("a peer without dup/1 that floods signed broadcasts on its listed connection and its standby", () => {
  it("gets one share of the node's signature checks, not one per connection: an honest peer's share is not cut", async () => {
    // 160 checks a second, 40 in each of the budget's 250 ms windows once its one-second burst is spent. The flooder's two
    // connections count as one peer beside the honest one: a share of 20 a window each. Counted as two, the honest peer's
    // share would be 13, and a burst of 18 in one window would lose some broadcasts unchecked.
    const WINDOW_MS = 250;
    const BURST = 18;
    const node = track(new Playground("test-app", { host: "127.0.0.1", port: 0, limits: { verificationsPerSecond: 160, broadcastsPerSecond: Infinity, messagesPerSecond: Infinity, bytesPerSecond: Infinity } }));
    await node.start();
    const got = collect<{ n: number }>(node, "news");
    const address = `tcp://127.0.0.1:${node.port}`;
    const flooder = generateIdentity();
    // The first connection is listed, the second held aside (a hello without capabilities: no dup/1); both are welcomed and answer.
    const xs = [await RawPeer.dial(tcpTransport(), address, flooder), await RawPeer.dial(tcpTransport(), address, flooder)];
    for (const x of xs) {
      await x.hello("test-app", undefined, false);
      await until(() => x.received.some((m) => m.kind === "xppg/welcome"), 5000, "the node welcomes the connection");
    }
    for (const x of xs) await x.send("xppg/welcome", null);
    const honest = await RawPeer.dial(tcpTransport(), address);
    await honest.hello("test-app");
    await until(() => node.peers.length === 2, 5000, "the flooder and the honest peer listed");
    let flooding = true;
    // One origin, one sequence of ids for both connections (ids an origin used already would be dropped as replays, unchecked).
    let id = Date.now() * 1024;
    const signed = (x: RawPeer): Uint8Array =>
      RawPeer.bundle(x.codec.encodeSigned({ version: ENVELOPE_VERSION, kind: "news", source: flooder.peerId, destination: null, id: id++, hopLimit: 0, payload: { n: -1 } }, (bytes) => flooder.sign(new Uint8Array([...BROADCAST_PREFIX, ...bytes]))));
    // Each connection: 10 signed broadcasts every 25 ms, far over any share.
    const floods = xs.map(async (x) => {
      while (flooding && !x.conn.isClosed) {
        for (let i = 0; i < 10; i++) void x.conn.send(signed(x)).catch(() => {});
        await sleep(25);
      }
    });
    try {
      // The burst is spent: the checks are shared from now on.
      await vi.waitFor(() => expect(node.stats.unverifiedBroadcasts).toBeGreaterThan(0), { timeout: 10_000 });
      const window = (): number => Math.floor(now() / WINDOW_MS);
      const fromHonest = (): number => got.filter((m) => m.src === honest.peerId).length;
      for (let burst = 0; burst < 6; burst++) {
        // Each burst in a window of its own (the clock is the budget's), after the last one was checked.
        const last = window();
        await until(() => window() > last, 5000, "the budget's next window");
        for (let i = 0; i < BURST; i++) void honest.conn.send(honest.signedBroadcast("news", { n: burst * BURST + i + 1 }, honest.identity!));
        await vi.waitFor(() => expect(fromHonest()).toBe((burst + 1) * BURST), { timeout: 5000 });
      }
    } finally {
      flooding = false;
      await Promise.all(floods);
    }
    expect(node.stats.forgedMessages).toBe(0);
    for (const r of [...xs, honest]) void r.conn.close();
  }, 40_000);
});

describe("a join aborted after the peer kept its connection", () => {
  it("leaves the other join to dial once more rather than end with no connection", async () => {
    const transport = heldTransport();
    const b = await startNode({});
    const a = await startNode({ transports: [transport] });
    const address = b.addresses[0]!;
    // First dial: b admits it first, and a's welcome and goodbye on it reach b late (D/2 each); a reads b's welcome on it very late (it never opens on a).
    // Second dial: a's hello reaches b D late (b refuses it: the first is still there). Third dial (the retry): a's hello (alone) reaches b well after the first ended there.
    transport.next.push({ sendFrom: 3, sendMs: D / 2 + D / 4, readFrom: 2, readMs: 5 * D }, { sendFrom: 2, sendMs: D, readFrom: 0, readMs: 0 }, { sendFrom: 2, sendUntil: 3, sendMs: 2 * D, readFrom: 0, readMs: 0 });
    const abort = new AbortController();
    const first = a.join(address, { signal: abort.signal });
    first.catch(() => {});
    const second = a.join(address);
    await new Promise((resolve) => setTimeout(resolve, D / 2));
    abort.abort();
    await expect(second).resolves.toMatchObject({ peerId: b.peerId });
    await until(() => a.peers.length === 1 && b.peers.length === 1, 5000, "one connection listed on both ends");
    await roundTrip(a, b);
  });

  it("does not dial again when the application disconnected the peer before the kept connection opened", async () => {
    const transport = heldTransport();
    const b = await startNode({});
    const a = await startNode({ transports: [transport] });
    const address = b.addresses[0]!;
    let dials = 0;
    const dial = transport.dial;
    transport.dial = (...args) => (dials++, dial(...args));
    // First dial: b admits it first; a reads b's welcome on it very late (it never opens on a). Second dial: a's hello reaches b D late,
    // and b refuses it; as a closes it on that bye, the application disconnects b.
    transport.next.push({ sendFrom: 3, sendMs: 0, readFrom: 2, readMs: 5 * D }, { sendFrom: 2, sendMs: D, readFrom: 0, readMs: 0, onClose: () => void a.disconnect(b.peerId) });
    const joins = Promise.allSettled([a.join(address), a.join(address)]);
    const answers = await joins;
    expect(answers.map((j) => j.status)).toEqual(["rejected", "rejected"]);
    expect(dials).toBe(2);
    expect(a.peers).toEqual([]);
  });
});

describe("a connection replaced before it opened, while the peer already writes compact envelopes on it (lean/1)", () => {
  it("is still read to its end: the peer's welcome settles lean/1 there too, and what the peer sent on it reaches the handlers", async () => {
    for (let round = 0; round < 3; round++) {
      const [first, second] = [heldTransport(), heldTransport()];
      const p = await startNode({ dangerouslyDisableEncryption: true, transports: [first] });
      const q = await startNode({ dangerouslyDisableEncryption: true, transports: [second] });
      // y, the larger peer id, dials; its welcome and all it sends after reach x D late. x's own dial, D/4 later, replaces
      // y's on x while that one is still admitted there (no welcome seen), but y has opened it and sends on it at once.
      const [x, y, yTransport] = p.peerId < q.peerId ? [p, q, second] : [q, p, first];
      const got: string[] = [];
      for (const [me, name] of [
        [x, "x"],
        [y, "y"],
      ] as const) {
        me.events.on("peer:joined", (peer) => void me.send("hi", 1, { to: peer.peerId }).catch(() => {}));
        me.on("hi", () => void got.push(`${name} got hi`));
      }
      yTransport.next.push({ sendFrom: 1, sendUntil: 2, sendMs: D, readFrom: 0, readMs: 0 });
      const dialled = y.join(x.addresses[0]!);
      await sleep(D / 4);
      await Promise.allSettled([dialled, x.join(y.addresses[0]!)]);
      await until(() => got.length === 2, 6 * D, `both greetings (round ${round})`);
      expect(got.sort(), `round ${round}`).toEqual(["x got hi", "y got hi"]);
      await Promise.all([x.stop(), y.stop()]);
    }
  });
});
