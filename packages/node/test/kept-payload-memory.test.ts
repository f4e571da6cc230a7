import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "../src/index.js";
import { security } from "./borrowed-helpers.js";

// A payload's bytes are a view into the memory its message was read or assembled in, and that memory is reused for
// later messages once a message is released (handlers that borrow): a frame decoder's reassembly buffers are shared
// by every connection of the process, a TCP connection reads on into the same buffer. A kept payload's whole
// `buffer` must still hold nothing of an earlier message that was not given to its handler: not another connection's,
// not this connection's.

const nodes: Playground[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
});

/** The pattern of the released messages of round `round`: the payload kept in a round must show none of its round's or earlier ones'. */
const mark = (round: number): Uint8Array => new TextEncoder().encode(`\u00a5ROUND-${round}-SECRET\u005a`);

function marked(round: number, length: number): Uint8Array {
  const pattern = mark(round);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = pattern[i % pattern.length]!;
  return bytes;
}

/** Where `bytes` hold `pattern` whole (at any phase of its repetition: its round's number included), or -1. */
function patternAt(bytes: Uint8Array, pattern: Uint8Array): number {
  const length = pattern.length;
  for (let i = 0; i + length <= bytes.length; i++) {
    for (let phase = 0; phase < length; phase++) {
      if (bytes[i] !== pattern[phase]) continue;
      let run = 1;
      while (run < length && bytes[i + run] === pattern[(phase + run) % length]) run++;
      if (run === length) return i;
    }
  }
  return -1;
}

async function started(plain: boolean): Promise<Playground> {
  const pg = new Playground("kept-payload-memory", { host: "127.0.0.1", port: 0, dangerouslyDisableEncryption: plain, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } });
  nodes.push(pg);
  await pg.start();
  return pg;
}

describe("a kept payload's memory", () => {
  // Sizes of 32 to 66 KiB are assembled in a reused buffer (encrypted, split across records) or cut from a reused
  // read buffer (plaintext, split across reads); a small one lies in a read buffer or a record that earlier,
  // released messages filled.
  const KEPT_SIZES = [40_000, 1000, 60_000, 33_000, 65_000, 5];

  it.each(security)("holds no byte of earlier messages, of its connection or another (%s, over TCP)", async (_what, plain) => {
    const receiver = await started(plain);
    const other = await started(plain);
    const sender = await started(plain);
    await other.join(`tcp://127.0.0.1:${receiver.port}`);
    await sender.join(`tcp://127.0.0.1:${receiver.port}`);
    let borrowed = 0;
    receiver.on("flow", () => void borrowed++, { borrow: true });
    const kept: Uint8Array[] = [];
    receiver.on<Uint8Array>("keep", (_src, _kind, payload) => void kept.push(payload));

    for (const [i, size] of KEPT_SIZES.entries()) {
      // Released messages on both connections, then one kept on the sender's.
      for (let n = 0; n < 3; n++) await other.send("flow", marked(i, 65_536), receiver.peerId);
      for (let n = 0; n < 3; n++) await sender.send("flow", marked(i, 65_536 - n * 7), receiver.peerId);
      await expect.poll(() => borrowed, { timeout: 20_000, interval: 5 }).toBe((i + 1) * 6);
      await sender.send("keep", new Uint8Array(size).fill(0x11), receiver.peerId);
      await expect.poll(() => kept.length, { timeout: 20_000, interval: 5 }).toBe(i + 1);
    }
    // More released messages after them: later memory is theirs, never what the kept ones show.
    for (let n = 0; n < 4; n++) await other.send("flow", marked(KEPT_SIZES.length, 65_536), receiver.peerId);
    await expect.poll(() => borrowed, { timeout: 20_000, interval: 5 }).toBe(KEPT_SIZES.length * 6 + 4);

    for (const [i, payload] of kept.entries()) {
      expect(payload.length).toBe(KEPT_SIZES[i]);
      expect(payload.every((b) => b === 0x11)).toBe(true);
      const memory = new Uint8Array(payload.buffer);
      for (let round = 0; round <= i; round++) {
        expect({ size: KEPT_SIZES[i], round, at: patternAt(memory, mark(round)), memory: memory.byteLength }).toEqual({ size: KEPT_SIZES[i], round, at: -1, memory: memory.byteLength });
      }
    }
  }, 60_000);
});

describe("a kept payload's memory, sent together with borrowed messages", () => {
  // Messages sent in one turn leave as one bundle (encrypted: in one record), read as one frame: a borrowed message
  // before a kept one lies in the same memory, which is kept whole.
  it.each(security)("holds no byte of a borrowed message bundled before it (%s, over TCP)", async (_what, plain) => {
    const receiver = await started(plain);
    const sender = await started(plain);
    await sender.join(`tcp://127.0.0.1:${receiver.port}`);
    let borrowed = 0;
    receiver.on("flow", () => void borrowed++, { borrow: true });
    const kept: Uint8Array[] = [];
    receiver.on<Uint8Array>("keep", (_src, _kind, payload) => void kept.push(payload));
    const sent = [sender.send("flow", marked(0, 200), receiver.peerId), sender.send("flow", marked(0, 300), receiver.peerId), sender.send("keep", new Uint8Array(100).fill(0x11), receiver.peerId)];
    await Promise.all(sent);
    await expect.poll(() => kept.length, { timeout: 20_000, interval: 5 }).toBe(1);
    expect(borrowed).toBe(2);
    const memory = new Uint8Array(kept[0]!.buffer);
    expect(patternAt(memory, mark(0))).toBe(-1);
  }, 60_000);
});
