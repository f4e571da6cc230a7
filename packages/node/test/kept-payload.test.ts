import { afterEach, describe, expect, it } from "vitest";
import { joinedPair, stopNodes } from "./borrowed-helpers.js";

afterEach(stopNodes);

const pair = (plain: boolean) => joinedPair("kept-payload", { dangerouslyDisableEncryption: plain });

describe("a payload kept by its handler", () => {
  // A received payload's bytes are views into the memory the message was read into (no copy on the way up): the
  // README promises they stay as they came for as long as the handler keeps them. Enough messages, small ones sharing
  // read memory and large ones moving reading on, that a buffer written over while a view of it is kept would show.
  it.each([false, true])("keeps its bytes unchanged while more messages are read (plain: %s)", async (plain) => {
    const [sender, receiver] = await pair(plain);
    const kept: { n: number; bytes: Uint8Array }[] = [];
    receiver.on<Uint8Array | { n: number; data: Uint8Array }>("small", (_src, _kind, payload) => {
      if (payload instanceof Uint8Array) kept.push({ n: payload[0]!, bytes: payload });
      else kept.push({ n: payload.n, bytes: payload.data });
    });
    let large = 0;
    receiver.on("large", () => void large++);
    const SMALL = 400;
    for (let n = 0; n < SMALL; n++) {
      const bytes = new Uint8Array(1000).fill(n % 251);
      await sender.send("small", n % 2 === 0 ? bytes : { n: n % 251, data: bytes }, receiver.peerId);
      if (n % 100 === 99) await sender.send("large", new Uint8Array(300 * 1024).fill(255), receiver.peerId);
    }
    await expect.poll(() => kept.length + large, { timeout: 20_000, interval: 20 }).toBe(SMALL + 4);
    for (let i = 0; i < 4; i++) await sender.send("large", new Uint8Array(300 * 1024).fill(254), receiver.peerId);
    await expect.poll(() => large, { timeout: 20_000, interval: 20 }).toBe(8);
    for (const { n, bytes } of kept) {
      expect(bytes.length).toBe(1000);
      expect(bytes.every((b) => b === n)).toBe(true);
    }
  }, 60_000);
});
