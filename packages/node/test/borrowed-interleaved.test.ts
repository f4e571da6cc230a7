import { afterEach, describe, expect, it } from "vitest";
import type { Playground } from "../src/index.js";
import { SMALL_BUNDLES, checking, isMessage, message, pair, security, stopNodes } from "./borrowed-helpers.js";

// A peer that interleaves two application kinds (a file-like stream's "chunk" and "meta", a game's "move" and "chat")
// sends each message of the kind it did not send last through the node's router, not the session's short way. The
// router's answer for a kind with no fixed shape that went straight to the dispatcher is the dispatcher's: such a frame
// is released when every handler of both kinds borrows, and kept when one of them may keep its payload; a fixed-shape
// kind ("text") and a room's kind (requests) keep it always. Over real TCP on loopback, plaintext and encrypted, in bursts of 100
// messages (one bundle each, of at most 32 KiB, in one record when encrypted), each once the receiver has read the
// last: every bundle is read whole, at once, into the memory the one before was.

afterEach(stopNodes);

interface Kept {
  n: number;
  bytes: Uint8Array;
  length: number;
}
/** Kept payloads still as they came: the count of those written over. */
const changed = (kept: Kept[]): number => kept.filter(({ n, bytes, length }) => !isMessage(bytes, n, length)).length;

const SIZE = 300;
const BURST = 100;

/** Sends `bursts` bursts of `BURST` messages, message `i` of each as `send(i)` says, each burst once `received()` reached its end. */
async function bursts(count: number, send: (i: number) => Promise<void>, received: () => number): Promise<void> {
  for (let first = 0; first < count * BURST; first += BURST) {
    for (let i = first; i < first + BURST; i++) await send(i);
    await expect.poll(received, { timeout: 30_000, interval: 1 }).toBe(first + BURST);
  }
}

/** A borrowing handler of `kind` whose messages are numbered in the order they come; it keeps a view of each (against the contract) from message `from` on. */
function keepingAgainstContract(receiver: Playground, kind: string, from: number): { seen: number; failures: number; kept: Kept[] } {
  const state = { seen: 0, failures: 0, kept: [] as Kept[] };
  receiver.on(
    kind,
    (_src, _kind, payload) => {
      const n = state.seen++;
      if (!isMessage(payload, n, SIZE)) state.failures++;
      if (n >= from) state.kept.push({ n, bytes: payload as Uint8Array, length: SIZE });
    },
    { borrow: true },
  );
  return state;
}

describe("two interleaved kinds", () => {
  // The contract, shown: both kinds borrow, so the frames carrying them are released and their memory reused; views
  // kept against the contract (what a borrowing handler must not do) of both kinds see their bytes written over.
  it.each(security)("whose handlers all borrow have their memory reused: views kept against the contract change (%s)", async (_name, plain) => {
    const [sender, receiver] = await pair(plain, SMALL_BUNDLES);
    const move = keepingAgainstContract(receiver, "move", 500);
    const chat = keepingAgainstContract(receiver, "chat", 500);
    // Alternately: every message's kind differs from the one before.
    await bursts(
      20,
      (i) => sender.send(i % 2 === 0 ? "move" : "chat", message(i >> 1, SIZE), receiver.peerId),
      () => move.seen + chat.seen,
    );
    expect(move.failures + chat.failures).toBe(0);
    expect(changed(move.kept)).toBeGreaterThan(0);
    expect(changed(chat.kept)).toBeGreaterThan(0);
  }, 60_000);

  it.each(security)("keep the payloads of a handler that does not borrow intact beside one that does (%s)", async (_name, plain) => {
    const [sender, receiver] = await pair(plain, SMALL_BUNDLES);
    const small = (): number => SIZE;
    const chunks = checking(receiver, "chunk", small);
    const meta: Kept[] = [];
    receiver.on("meta", (_src, _kind, payload) => void meta.push({ n: meta.length, bytes: payload as Uint8Array, length: SIZE }));
    // One "meta" after every two "chunk"s: about 1,700 of them, each in a bundle with borrowed messages.
    await bursts(
      50,
      (i) => (i % 3 === 2 ? sender.send("meta", message(Math.floor(i / 3), SIZE), receiver.peerId) : sender.send("chunk", message(i - Math.floor(i / 3), SIZE), receiver.peerId)),
      () => chunks.seen + meta.length,
    );
    expect(chunks.failures).toBe(0);
    expect(meta.length).toBeGreaterThan(1600);
    expect(changed(meta)).toBe(0);
  }, 60_000);

  // "text" has a fixed shape: its payload is checked by the router before its handlers see it, so its frames are kept
  // even where its handlers borrow (and those may keep what they like of it: here, a view kept against the contract).
  it.each(security)('keep a "text" payload intact, though its handler borrows (%s)', async (_name, plain) => {
    const [sender, receiver] = await pair(plain, SMALL_BUNDLES);
    const small = (): number => SIZE;
    const moves = checking(receiver, "move", small);
    const texts: Kept[] = [];
    receiver.on(
      "text",
      (_src, _kind, payload) => void texts.push({ n: texts.length, bytes: (payload as { data: Uint8Array }).data, length: SIZE }),
      { borrow: true },
    );
    await bursts(
      20,
      (i) => (i % 2 === 1 ? sender.send("text", { text: "gg", data: message(i >> 1, SIZE) }, receiver.peerId) : sender.send("move", message(i >> 1, SIZE), receiver.peerId)),
      () => moves.seen + texts.length,
    );
    expect(moves.failures).toBe(0);
    expect(texts.length).toBe(1000);
    expect(changed(texts)).toBe(0);
  }, 60_000);
});

// A room's messages go to the room, which keeps what it likes of them: the request room hands each request to the
// handler `pg.handle` registered, which may keep its payload. Requests need route/1, which a plaintext node does not
// offer. Each request goes between two borrowed messages, in the same bundles.
describe("a room's kind interleaved with a borrowed kind", () => {
  it("keeps the room's payloads intact: a request handler's payloads amid borrowed messages (encrypted)", async () => {
    const [sender, receiver] = await pair(false, SMALL_BUNDLES);
    const small = (): number => SIZE;
    const moves = checking(receiver, "move", small);
    const asked: Kept[] = [];
    receiver.handle("ask", (_src, payload) => {
      asked.push({ n: asked.length, bytes: payload as Uint8Array, length: SIZE });
      return null;
    });
    const replies: Promise<unknown>[] = [];
    await bursts(
      20,
      async (i) => {
        if (i % 2 === 0) await sender.send("move", message(i >> 1, SIZE), receiver.peerId);
        else replies.push(sender.request("ask", message(i >> 1, SIZE), { to: receiver.peerId, timeoutMs: 30_000 }));
      },
      () => moves.seen + asked.length,
    );
    await Promise.all(replies);
    expect(moves.failures).toBe(0);
    expect(asked.length).toBe(1000);
    expect(changed(asked)).toBe(0);
  }, 60_000);
});
