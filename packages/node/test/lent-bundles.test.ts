import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import { Playground } from "../src/index.js";
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

/** TCP whose dialled connections count their loans and lent sends (the outbox's path under test). */
function countingTransport(): { transport: Transport; loans: () => number; lentSends: () => number } {
  const inner = tcpTransport();
  let loans = 0;
  let lentSends = 0;
  const count = (c: Connection): Connection => {
    if (c.lendRoom !== undefined && c.sendLent !== undefined) {
      const lendRoom = c.lendRoom.bind(c);
      const sendLent = c.sendLent.bind(c);
      c.lendRoom = (min, max) => (loans++, lendRoom(min, max));
      c.sendLent = (length) => (lentSends++, sendLent(length));
    }
    return c;
  };
  const transport = Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => count(await inner.dial(address, o)),
  });
  return { transport, loans: () => loans, lentSends: () => lentSends };
}

/** P listening, A dialling it through `transport`; both plaintext and joined. */
async function joinedPair(transport: Transport) {
  const p = await tcpNode(plain);
  const a = track(new Playground("test-app", { transports: [transport], listen: [], ...plain }));
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
