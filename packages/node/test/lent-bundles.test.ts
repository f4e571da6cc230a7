import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { collect, stopNodesAfterEach, track } from "./helpers.js";
import { errorsOf, tcpNode } from "./tcp-helpers.js";

// A plaintext node over TCP writes its bundles in place, in room its
// connection lends (`lendRoom`, `sendLent`). A bundle that outgrows its loan
// is sent and the rest of the tick's messages go into a fresh loan; these
// tests send messages of mixed sizes, in one tick and across ticks, on real
// sockets, and close a node in the middle of a tick while a loan is open.

stopNodesAfterEach();

const KiB = 1024;
const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };
const plain = { dangerouslyDisableEncryption: true, heartbeat: quietHeartbeat, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Sizes around the 4 KiB a loan takes at least and past the 264 KiB ones that outgrow any loan left. */
const SIZES = [100, 4 * KiB - 60, 4 * KiB, 4 * KiB + 1, 264 * KiB, 10, 60 * KiB, 264 * KiB - 1, 3000, 264 * KiB + 7, 1, 8 * KiB];

/** `n` in the first 4 bytes, then a pattern of `n`: any byte out of place shows. */
function payloadOf(n: number, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(4, size));
  new DataView(out.buffer).setUint32(0, n);
  for (let i = 4; i < out.length; i++) out[i] = (n * 31 + i * 7) & 0xff;
  return out;
}

/**
 * TCP whose dialled connections count their loans and lent sends (the outbox's path under test), and tell whether a
 * loan is open: one lent by `lendRoom` and not yet ended by `sendLent`, `endLoan`, `send`, `sendParts` or `close`.
 */
function countingTransport(): { transport: Transport; loans: () => number; lentSends: () => number; loanOpen: () => boolean } {
  const inner = tcpTransport();
  let loans = 0;
  let lentSends = 0;
  let loanOpen = false;
  const count = (c: Connection): Connection => {
    if (c.lendRoom !== undefined && c.sendLent !== undefined && c.endLoan !== undefined) {
      const lendRoom = c.lendRoom.bind(c);
      const sendLent = c.sendLent.bind(c);
      const endLoan = c.endLoan.bind(c);
      const send = c.send.bind(c);
      const sendParts = c.sendParts.bind(c);
      const close = c.close.bind(c);
      c.lendRoom = (min, max) => {
        loans++;
        const room = lendRoom(min, max);
        loanOpen = room !== undefined;
        return room;
      };
      c.sendLent = (length) => ((lentSends++, (loanOpen = false)), sendLent(length));
      c.endLoan = () => ((loanOpen = false), endLoan());
      c.send = (frame) => ((loanOpen = false), send(frame));
      c.sendParts = (parts) => ((loanOpen = false), sendParts(parts));
      c.close = (error) => ((loanOpen = false), close(error));
    }
    return c;
  };
  const transport = Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => count(await inner.dial(address, o)),
  });
  return { transport, loans: () => loans, lentSends: () => lentSends, loanOpen: () => loanOpen };
}

/**
 * TCP (frames of at most `maxFrameSize`) whose dialled connections lend more than they are asked for: a room
 * 64 KiB past `max`, of its own memory, whose first `length` bytes `sendLent` sends as a copy. A connection that
 * breaks the contract that way must not make the outbox write a bundle past a frame.
 */
function overLendingTransport(maxFrameSize: number): Transport {
  const inner = tcpTransport({ maxFrameSize });
  const overLend = (c: Connection): Connection => {
    let room: Uint8Array | undefined;
    c.lendRoom = (min, max) => (room = new Uint8Array(Math.max(min, max) + 64 * KiB));
    c.sendLent = (length) => {
      const lent = room!;
      room = undefined;
      return c.send(lent.slice(0, length));
    };
    c.endLoan = () => void (room = undefined);
    return c;
  };
  return Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => overLend(await inner.dial(address, o)),
  });
}

/**
 * TCP (frames up to 8 MiB) whose dialled connections lend a room of their own memory, 512 KiB, for a bundle of up
 * to `DECLINE_OVER` bytes and decline larger ones, taking the room back then: `touched()` tells whether anything was
 * written in a room after its loan ended (the memory is the connection's again).
 */
function decliningTransport(): { transport: Transport; touched: () => boolean } {
  const inner = tcpTransport({ maxFrameSize: 8 * MiB });
  const ended: Uint8Array[] = [];
  const decline = (c: Connection): Connection => {
    let room: Uint8Array | undefined;
    const takeBack = (): void => {
      if (room !== undefined) ended.push(room.fill(0xee));
      room = undefined;
    };
    c.lendRoom = (min) => {
      takeBack();
      if (min > DECLINE_OVER) return undefined;
      return (room = new Uint8Array(512 * KiB));
    };
    c.sendLent = (length) => {
      const lent = room!;
      room = undefined;
      return c.send(lent.slice(0, length));
    };
    c.endLoan = takeBack;
    return c;
  };
  const transport = Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => decline(await inner.dial(address, o)),
  });
  return { transport, touched: () => ended.some((r) => r.some((b) => b !== 0xee)) };
}
const MiB = 1024 * KiB;
const DECLINE_OVER = 1 * MiB;

/** P listening, A dialling it through `transport`; both plaintext and joined. */
async function joinedPair(transport: Transport, options: PlaygroundOptions = {}) {
  const p = await tcpNode({ ...plain, ...options });
  const a = track(new Playground("test-app", { transports: [transport], listen: [], ...plain, ...options }));
  await a.start();
  await a.join(`tcp://127.0.0.1:${p.port}`);
  return { a, p };
}

/** Collects every unhandled rejection and uncaught exception while `run` runs and a few turns after. */
async function noStrayErrors(run: () => Promise<void>): Promise<unknown[]> {
  const stray: unknown[] = [];
  const onStray = (e: unknown): void => void stray.push(e);
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);
  try {
    await run();
    for (let i = 0; i < 20; i++) await turn();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("unhandledRejection", onStray);
    process.off("uncaughtException", onStray);
  }
  return stray;
}

describe("plaintext over TCP: bundles written in lent room", () => {
  it("messages of mixed sizes (4 KiB to 264 KiB), many in one tick and across ticks, arrive intact and in order", async () => {
    const counting = countingTransport();
    const { a, p } = await joinedPair(counting.transport);
    const got = collect<Uint8Array>(p, "m");
    const sent: Uint8Array[] = [];
    const sends: Promise<void>[] = [];
    const send = (size: number): void => {
      const payload = payloadOf(sent.length, size);
      sent.push(payload);
      sends.push(a.send("m", payload, { to: p.peerId }));
    };
    const loansBefore = counting.loans();
    const lentBefore = counting.lentSends();
    // One tick: every size three times over, in a rotating order.
    for (let round = 0; round < 3; round++) for (let i = 0; i < SIZES.length; i++) send(SIZES[(i + round * 5) % SIZES.length]!);
    const lentInOneTick = counting.lentSends() - lentBefore;
    // Across ticks: a few messages in each of several ticks.
    for (let tick = 0; tick < 12; tick++) {
      for (let i = 0; i < 4; i++) send(SIZES[(tick * 4 + i) % SIZES.length]!);
      await turn();
    }
    await Promise.all(sends);
    await vi.waitFor(() => expect(got).toHaveLength(sent.length), { timeout: 20_000 });
    got.forEach((m, i) => {
      expect(m.src).toBe(a.peerId);
      if (!(m.payload instanceof Uint8Array) || Buffer.compare(m.payload, sent[i]!) !== 0) {
        expect.fail(`message ${i} (${sent[i]!.length} bytes) arrived changed or out of order`);
      }
    });
    // The path under test was taken: bundles went out of lent room, several in the one tick (a bundle outgrew its loan and the rest borrowed again).
    expect(counting.loans() - loansBefore).toBeGreaterThan(1);
    expect(lentInOneTick).toBeGreaterThan(1);
    expect(a.running && p.running).toBe(true);
  });

  it("a tick whose first message cannot be encoded leaves no loan open (the connection's room is not held), and the next sends arrive", async () => {
    const counting = countingTransport();
    const { a, p } = await joinedPair(counting.transport);
    const got = collect<Uint8Array>(p, "m");
    await a.send("m", payloadOf(0, 100), { to: p.peerId });
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 10_000 });
    for (let i = 0; i < 5; i++) await turn();
    expect(counting.loanOpen(), "no loan open before the tick").toBe(false);
    // Nested past what the codec encodes: the tick's first encode throws, after the outbox borrowed room for it.
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    const loansBefore = counting.loans();
    const outcome = await Promise.resolve()
      .then(() => a.send("m", deep as Uint8Array, { to: p.peerId }))
      .then(() => "resolved", (e: { code?: string }) => String(e.code));
    expect(outcome).toBe("XPPG_ERR_UNENCODABLE_PAYLOAD");
    expect(counting.loans() - loansBefore, "the outbox borrowed for it").toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await turn();
    expect(counting.loanOpen(), "a loan left open after the turn").toBe(false);
    // The session goes on: the next sends arrive, in order.
    await Promise.all([a.send("m", payloadOf(1, 100), { to: p.peerId }), a.send("m", payloadOf(2, 5000), { to: p.peerId })]);
    await vi.waitFor(() => expect(got).toHaveLength(3), { timeout: 10_000 });
    got.forEach((m, i) => expect(new DataView((m.payload).buffer, (m.payload).byteOffset).getUint32(0)).toBe(i));
    expect(a.running && p.running).toBe(true);
  });

  it("a connection that lends more than asked: bundles stay within a frame, and messages that outgrow a loan arrive intact", async () => {
    const { a, p } = await joinedPair(overLendingTransport(16 * KiB));
    const got = collect<Uint8Array>(p, "m");
    const errors = errorsOf(a);
    // One tick: the first leaves at once, the second opens a loan, the third would take the bundle past a frame.
    const sent = [0, 1, 2, 3].map((n) => payloadOf(n, 10 * KiB));
    await Promise.all(sent.map((payload) => a.send("m", payload, { to: p.peerId })));
    await vi.waitFor(() => expect(got).toHaveLength(sent.length), { timeout: 10_000 });
    got.forEach((m, i) => {
      if (!(m.payload instanceof Uint8Array) || Buffer.compare(m.payload, sent[i]!) !== 0) expect.fail(`message ${i} arrived changed or out of order`);
    });
    expect(errors).toEqual([]);
    expect(a.running && p.running && a.peers.length === 1).toBe(true);
  });

  it("a loan the connection declines to widen is never kept as a spare buffer: nothing is written in the room after its loan ends", async () => {
    const declining = decliningTransport();
    const { a, p } = await joinedPair(declining.transport, { limits: { maxFrameSize: 8 * MiB, messagesPerSecond: Infinity, bytesPerSecond: Infinity } });
    const got = collect<Uint8Array>(p, "m");
    // 5 MiB: more than the room lent for the tick's first message and more than the connection lends (declined); then 300 KiB messages, which take the process's spare buffer.
    const sent = [payloadOf(0, 5 * MiB), payloadOf(1, 300 * KiB)];
    await a.send("m", sent[0], { to: p.peerId });
    await turn();
    await a.send("m", sent[1], { to: p.peerId });
    await vi.waitFor(() => expect(got).toHaveLength(sent.length), { timeout: 20_000 });
    got.forEach((m, i) => {
      if (!(m.payload instanceof Uint8Array) || Buffer.compare(m.payload, sent[i]!) !== 0) expect.fail(`message ${i} arrived changed or out of order`);
    });
    expect(declining.touched(), "a room lent was written after its loan ended").toBe(false);
  });

  for (const who of ["the sender stops", "the receiver stops"] as const) {
    it(`${who} in the middle of a tick with a loan open: nothing throws, no unhandled rejection, the other peer carries on`, async () => {
      const counting = countingTransport();
      const { a, p } = await joinedPair(counting.transport);
      // A third node joined to the one that stays: it must go on hearing from it.
      const stays = who === "the sender stops" ? p : a;
      const third = await tcpNode(plain);
      await stays.join(`tcp://127.0.0.1:${third.port}`);
      const atThird = collect<Uint8Array>(third, "after");
      const errors = errorsOf(stays);
      const outcomes: Promise<string>[] = [];
      const stray = await noStrayErrors(async () => {
        const loansBefore = counting.loans();
        // The tick: messages into a bundle (a loan opened for it), then the stop, then more sends, all before the tick's flush.
        for (let i = 0; i < 6; i++) outcomes.push(a.send("m", payloadOf(i, SIZES[i]!), { to: p.peerId }).then(() => "resolved", (e: { code?: string }) => `rejected ${String(e.code)}`));
        expect(counting.loans() - loansBefore, "a loan is open when the stop starts").toBeGreaterThan(0);
        const stopping = (who === "the sender stops" ? a : p).stop();
        for (let i = 6; i < 9; i++) {
          outcomes.push(
            Promise.resolve()
              .then(() => a.send("m", payloadOf(i, SIZES[i]!), { to: p.peerId }))
              .then(() => "resolved", (e: { code?: string }) => `rejected ${String(e.code)}`),
          );
        }
        await stopping;
        await Promise.all(outcomes);
      });
      expect(stray).toEqual([]);
      // Every send settled, each either resolved or rejected with a code (a stopped node's or a closed peer's).
      for (const o of await Promise.all(outcomes)) expect(o === "resolved" || (o.startsWith("rejected XPPG_ERR_") && o !== "rejected undefined"), o).toBe(true);
      // The node that stays goes on: it sends to the third node, which gets it whole.
      expect(stays.running).toBe(true);
      const after = payloadOf(99, 264 * KiB);
      await stays.send("after", after, { to: third.peerId });
      await vi.waitFor(() => expect(atThird).toHaveLength(1), { timeout: 10_000 });
      expect(Buffer.compare(atThird[0]!.payload, after)).toBe(0);
      expect(errors.filter((e) => !/PEER|CONNECTION|CLOSED|RESET/.test(e.code))).toEqual([]);
    });
  }
});
