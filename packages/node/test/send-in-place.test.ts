import { afterEach, describe, expect, it, vi } from "vitest";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Outbox, QUEUED } from "../src/outbox.js";
import { PeerSession } from "../src/peer-session.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { errorsOf, leftOf, tcpNode } from "./tcp-helpers.js";

// A plaintext node's message of raw bytes to a neighbour is written in place
// (Outbox.sendLean, framing's encodeLeanBytesInto) with no read of a typed
// array's `.buffer` per message (issue 15). In Node 20 that getter is a call
// into C++ on every read (some 250 instructions, about 15 ns): two of them per
// send, to check whether the payload lay in the loan's memory, made the
// in-place send slower than the codec's way it replaced, and it was reverted
// for that. The one read left is per loan: the DataView its later messages'
// heads are written through (encodeLeanBytesWithView).

stopNodesAfterEach();

const plain = { dangerouslyDisableEncryption: true, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const bufferGetter = Object.getOwnPropertyDescriptor(TypedArrayPrototype, "buffer")!;

/**
 * Two plaintext nodes over TCP, b joined to a, and the session b's pg.send to a goes through, found by its first
 * message (a 100 B blob of 1s, on its way to a); b's sends to a take `to`.
 */
async function joinedPlainPair() {
  const a = await tcpNode(plain);
  const b = await tcpNode(plain);
  const errors = [...errorsOf(a), ...errorsOf(b)];
  const atA = collect<Uint8Array>(a, "blob");
  await b.join(`tcp://127.0.0.1:${a.port}`);
  await until(() => a.peers.length === 1, 5000, "a to see b");
  const to = { to: a.peerId };
  // Its ids are the node's counter, always fine: only a call of its own can pass another.
  const sessions: PeerSession[] = [];
  const sendDirect = PeerSession.prototype.sendDirect;
  vi.spyOn(PeerSession.prototype, "sendDirect").mockImplementation(function (this: PeerSession, kind, payload, id) {
    sessions.push(this);
    return sendDirect.call(this, kind, payload, id);
  });
  await b.send("blob", new Uint8Array(100).fill(1), to);
  vi.restoreAllMocks();
  return { a, b, errors, atA, to, session: sessions[0]! };
}

/** A full collection: the flag, then the `gc` of a fresh context (the flag alone does not define it in this one). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

afterEach(() => {
  Object.defineProperty(TypedArrayPrototype, "buffer", bufferGetter);
  vi.restoreAllMocks();
});

/**
 * Runs `fn` with the reads of a typed array's `.buffer` made by this node's
 * own code or by framing's counted, and answers the count. The TCP transport
 * below reads it once per flush or per new batch (Node's `Buffer#subarray`
 * does), not per message: those are left out.
 */
function countBufferReads(fn: () => void): number {
  let reads = 0;
  Object.defineProperty(TypedArrayPrototype, "buffer", {
    ...bufferGetter,
    get(this: Uint8Array) {
      // The frame that read it: the first under this getter.
      const caller = new Error().stack?.split("\n")[2] ?? "";
      if (/[\\/]packages[\\/](node|framing)[\\/]/.test(caller)) reads++;
      return bufferGetter.get!.call(this);
    },
  });
  try {
    fn();
  } finally {
    Object.defineProperty(TypedArrayPrototype, "buffer", bufferGetter);
  }
  return reads;
}

describe("pg.send of raw bytes to a neighbour, plaintext", () => {
  it("is written in place, reads a typed array's .buffer once per loan, not per message, and arrives as sent, tick after tick", async () => {
    // Its first send settles what a stream of them meets (the kind checked, the session kept).
    const { b, errors, atA, to } = await joinedPlainPair();
    await until(() => atA.length === 1, 5000, "the first message");

    // Payloads of several kinds: a Uint8Array, a subarray at an offset, a Buffer, and a Buffer from Node's pool (whose memory other Buffers share).
    const payloads = [new Uint8Array(100).fill(2), new Uint8Array(300).fill(3).subarray(17, 117), Buffer.alloc(100, 4), Buffer.from(new Uint8Array(100).fill(5))];
    // Three ticks of 200 sends: each tick's loans are new memory, so a DataView kept from an earlier loan would write the heads elsewhere.
    for (let tick = 0; tick < 3; tick++) {
      const inPlace = vi.spyOn(Outbox.prototype, "sendLean");
      const loans = vi.spyOn(Outbox.prototype, "flush");
      const sent: Promise<void>[] = [];
      const reads = countBufferReads(() => {
        for (let i = 0; i < 200; i++) sent.push(b.send("blob", payloads[i % payloads.length]!, to));
      });
      // One read for each loan that took more than one message (a tick's first message goes alone, and a loan ends with a flush
      // when it is full): never one per message.
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(reads).toBeLessThanOrEqual(1 + loans.mock.calls.length);
      // Nearly each went the in-place way and was queued at once; the rest (a tick's first two, before a loan is open,
      // and one that found the loan full) answered undefined and went the codec's way.
      expect(inPlace).toHaveBeenCalledTimes(200);
      const values = inPlace.mock.results.map((r) => (r.type === "return" ? r.value : r.type));
      expect(values.filter((v) => v === QUEUED).length).toBeGreaterThanOrEqual(190);
      expect(values.every((v) => v === QUEUED || v === undefined)).toBe(true);
      await Promise.all(sent);
      const before = 1 + tick * 200;
      await until(() => atA.length === before + 200, 5000, `the 200 messages of tick ${tick}`);
      for (let i = 0; i < 200; i++) expect(atA[before + i]!.payload, `message ${i} of tick ${tick}`).toEqual(new Uint8Array(payloads[i % payloads.length]!));
      vi.restoreAllMocks();
    }
    expect(errors).toEqual([]);
  });
  it("refuses a message id the codec refuses, as the codec does, though the compact layout carries none, and the link goes on", async () => {
    const { b, errors, atA, to, session } = await joinedPlainPair();
    const inPlace = vi.spyOn(Outbox.prototype, "sendLean");
    for (const id of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => session.sendDirect("blob", new Uint8Array(100).fill(2), id), String(id)).toThrow(expect.objectContaining({ code: "XPPG_ERR_UNENCODABLE_PAYLOAD" }));
    }
    // Refused before the compact layout's way, which would have taken it (it writes no id).
    expect(inPlace).not.toHaveBeenCalled();
    await b.send("blob", new Uint8Array(100).fill(3), to);
    await until(() => atA.length === 2, 5000, "the message after the refused ones");
    expect(atA.map((m) => m.payload[0])).toEqual([1, 3]);
    expect(errors).toEqual([]);
  });

  it("holds no loan of the connection's send buffer once the tick's bundle has gone (its DataView neither)", async () => {
    const { b, errors, atA, to, session } = await joinedPlainPair();
    // Each loan the connection lends, weakly: an idle connection holds no batch of its own (it goes back to the shared
    // pool, or to the collector when the pool is full), so neither may the outbox, through a loan or a view over one.
    const connection = session.connection;
    const lendRoom = connection.lendRoom!;
    const loans: WeakRef<Uint8Array>[] = [];
    connection.lendRoom = (min: number, max: number) => {
      const room = lendRoom.call(connection, min, max);
      if (room !== undefined) loans.push(new WeakRef(room));
      return room;
    };
    const sent: Promise<void>[] = [];
    // One tick's messages: those sharing a loan after its first have their heads written through a view over it.
    for (let i = 0; i < 20; i++) sent.push(b.send("blob", new Uint8Array(100).fill(i), to));
    delete (connection as { lendRoom?: unknown }).lendRoom;
    await Promise.all(sent);
    await until(() => atA.length === 21, 5000, "the 20 messages");
    expect(loans.length).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    expect(loans.map((loan) => loan.deref() === undefined)).toEqual(loans.map(() => true));
    expect(errors).toEqual([]);
  });

  it("drops the peer as slow once more than maxQueuedBytesPerPeer waits for it, and the later sends reject, as the codec's way does", async () => {
    // 60 messages of 100 B (110 bytes each in the bundle) in one tick: some 6,600 bytes queued against a bound of 3,000.
    const a = await tcpNode(plain);
    const b = await tcpNode({ ...plain, limits: { ...plain.limits, maxQueuedBytesPerPeer: 3000 } });
    const errors = errorsOf(b);
    const left = leftOf(b);
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    const to = { to: a.peerId };
    await b.send("blob", new Uint8Array(100).fill(1), to);

    const inPlace = vi.spyOn(Outbox.prototype, "sendLean");
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) sent.push(b.send("blob", new Uint8Array(100).fill(i), to));
    const outcomes = (await Promise.allSettled(sent)).map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: string }).code));
    // Those queued under the bound went the in-place way (so its own check of the bound is the one under test).
    expect(inPlace.mock.results.filter((r) => r.type === "return" && r.value === QUEUED).length).toBeGreaterThan(10);
    const over = outcomes.indexOf("XPPG_ERR_CONNECTION_CLOSED");
    // What the codec's way answers (the tree before the in-place send, the same sends): the sends that fit resolve, the one over the bound and every later one reject
    // with the closed connection's code (the node itself still runs).
    expect(over).toBeGreaterThan(0);
    expect(over).toBeLessThan(30);
    expect(outcomes).toEqual([...new Array(over).fill("ok"), ...new Array(60 - over).fill("XPPG_ERR_CONNECTION_CLOSED")]);
    await until(() => left.length > 0, 5000, "b to drop a");
    expect(left).toEqual([{ peerId: a.peerId, code: "XPPG_ERR_SLOW_PEER" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_SLOW_PEER"]);
    expect(b.peers).toEqual([]);
  });
});
