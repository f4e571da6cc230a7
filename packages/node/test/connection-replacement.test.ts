import { describe, expect, it } from "vitest";
import { memoryTransport, type Connection, type FrameSink, type Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
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
function slowHelloTransport(delayMs: number, inner: Transport = memoryTransport()): Transport & { slowNext: boolean } {
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

async function startNode(transport: Transport, listen = `memory://replace-${process.pid}-${++counter}`): Promise<Playground> {
  const pg = track(new Playground("replace-app", { transports: [transport], listen: [listen] }));
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

/**
 * Two nodes on TCP on loopback, `hi` joined to `lo`; then `lo` joins `hi` too
 * (as a node does that dials an address without knowing whose it is). The
 * connection lo dialled replaces the first, and one side hears of it 300 ms
 * after the other, while `sender` sends to the other node all along:
 * - `slow: "new"`: lo's view of the new connection is held back, so hi drops
 *   the first connection at once while lo still sends on it;
 * - `slow: "old"`: hi's view of the first connection is held back, so the
 *   new one opens at hi while the first has not ended there yet.
 */
async function replacedWhileSending(
  slow: "new" | "old",
  sender: "lo" | "hi",
  send: (from: Playground, n: number) => Promise<void>,
  receive: (to: Playground, got: (n: number) => void) => void,
): Promise<{ accepted: number[]; received: Set<number> }> {
  const transports = [slowHelloTransport(300, tcpTransport()), slowHelloTransport(300, tcpTransport())];
  const [x, y] = await Promise.all(transports.map((t) => startNode(t, "tcp://127.0.0.1:0")));
  const [lo, hi] = x!.peerId < y!.peerId ? [x!, y!] : [y!, x!];
  const transportOf = (pg: Playground): (typeof transports)[number] => transports[pg === x ? 0 : 1]!;
  if (slow === "old") transportOf(hi).slowNext = true;
  await hi.join(lo.addresses[0]!);
  await until(() => lo.peers.length === 1 && hi.peers.length === 1, 5000, "the first connection opens on both sides");
  const [from, to] = sender === "lo" ? [lo, hi] : [hi, lo];
  const received = new Set<number>();
  receive(to, (n) => void received.add(n));
  const accepted: number[] = [];
  let sending = true;
  let n = 0;
  const stream = (async () => {
    for (; sending; n++) {
      // Only what is sent while the sender lists the other as a peer counts: a message to no peer goes nowhere.
      if (from.peers.length === 1) await send(from, n).then(() => accepted.push(n), () => {});
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await until(() => received.size >= 10, 5000, "messages on the first connection");
  if (slow === "new") transportOf(lo).slowNext = true;
  await lo.join(hi.addresses[0]!);
  await until(() => hi.peers.length === 1 && !hi.peers[0]!.outbound && lo.peers.length === 1 && lo.peers[0]!.outbound, 5000, "both keep the new connection");
  // Some more on the connection kept.
  const next = n;
  await until(() => received.has(next + 10), 5000, "messages on the connection kept");
  sending = false;
  await stream;
  return { accepted, received };
}

describe("messages sent while a connection is being replaced", () => {
  const direct = (from: Playground, n: number): Promise<void> => from.send("seq", n, { to: from.peers[0]!.peerId });
  const directIn = (to: Playground, got: (n: number) => void): void => void to.on<number>("seq", (_src, _kind, n) => got(n));
  const broadcast = (from: Playground, n: number): Promise<void> => from.sendText(String(n));
  const broadcastIn = (to: Playground, got: (n: number) => void): void => void to.on<{ text: string }>("text", (_src, _kind, payload) => got(Number(payload.text)));

  it("every direct message send() accepted arrives, also those that went on the connection the other side had dropped", async () => {
    const { accepted, received } = await replacedWhileSending("new", "lo", direct, directIn);
    await until(() => accepted.every((n) => received.has(n)), 5000, `all ${accepted.length} accepted messages to arrive`);
    expect(accepted.filter((n) => !received.has(n))).toEqual([]);
  });

  it("every broadcast send() accepted arrives, also those that went on the connection the other side had dropped", async () => {
    const { accepted, received } = await replacedWhileSending("new", "lo", broadcast, broadcastIn);
    await until(() => accepted.every((n) => received.has(n)), 5000, `all ${accepted.length} accepted broadcasts to arrive`);
    expect(accepted.filter((n) => !received.has(n))).toEqual([]);
  });

  it("every broadcast send() accepted arrives, also those sent after the new connection opened while the old one had not ended", async () => {
    const { accepted, received } = await replacedWhileSending("old", "hi", broadcast, broadcastIn);
    await until(() => accepted.every((n) => received.has(n)), 5000, `all ${accepted.length} accepted broadcasts to arrive`);
    expect(accepted.filter((n) => !received.has(n))).toEqual([]);
  });
});
