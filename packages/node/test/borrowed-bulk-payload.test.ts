import { afterEach, describe, expect, it } from "vitest";
import { isMessage, joinedPair, message, stopNodes } from "./borrowed-helpers.js";

// 64 KiB messages between encrypted nodes over real TCP on loopback. Each message's frame (64 KiB and its envelope
// head) is longer than a record's plaintext: the receiver's secure link assembles it from two records in its frame
// decoder, which reuses that memory for a later frame once the frame is released (every handler of its kind borrows).
// A view kept against the contract then sees its bytes written over, while a default handler's payloads, in frames
// that are kept, never are.

afterEach(stopNodes);

const SIZE = 65_536;
const COUNT = 3000;

// The floods here pass the default message rate: its limits are off.
const pair = () => joinedPair("borrowed-bulk", { limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } });

describe("64 KiB messages between encrypted nodes (frames assembled from records)", () => {
  it("lend a borrowing handler memory reused for later messages: a view kept against the contract changes, each message seen as sent", async () => {
    const [sender, receiver] = await pair();
    const kept: { n: number; bytes: Uint8Array }[] = [];
    let seen = 0;
    let failures = 0;
    receiver.on(
      "m",
      (_src, _kind, payload) => {
        const n = seen++;
        if (!isMessage(payload, n, SIZE)) failures++;
        // Every tenth view from the hundredth on, kept (what a borrowing handler must not do).
        if (n >= 100 && n % 10 === 0) kept.push({ n, bytes: payload as Uint8Array });
      },
      { borrow: true },
    );
    for (let n = 0; n < COUNT; n++) await sender.send("m", message(n, SIZE), receiver.peerId);
    await expect.poll(() => seen, { timeout: 60_000, interval: 20 }).toBe(COUNT);
    expect(failures).toBe(0);
    expect(kept.filter(({ n, bytes }) => !isMessage(bytes, n, SIZE)).length).toBeGreaterThan(0);
  }, 120_000);

  it("leave a default handler's payloads intact, beside a borrowed kind in the same stream", async () => {
    const [sender, receiver] = await pair();
    let seen = 0;
    let failures = 0;
    receiver.on(
      "borrowed",
      (_src, _kind, payload) => {
        if (!isMessage(payload, seen++, SIZE)) failures++;
      },
      { borrow: true },
    );
    const kept: { n: number; bytes: Uint8Array }[] = [];
    let k = 0;
    receiver.on("kept", (_src, _kind, payload) => {
      const n = k++;
      if (n % 5 === 0) kept.push({ n, bytes: payload as Uint8Array });
    });
    // One message of the keeping kind after every three borrowed ones: released and kept frames follow each other.
    let keptSent = 0;
    for (let n = 0; n < COUNT; n++) {
      await sender.send("borrowed", message(n, SIZE), receiver.peerId);
      if (n % 3 === 2) await sender.send("kept", message(keptSent++, SIZE), receiver.peerId);
    }
    await expect.poll(() => seen + k, { timeout: 60_000, interval: 20 }).toBe(COUNT + keptSent);
    expect(failures).toBe(0);
    expect(kept.length).toBeGreaterThan(150);
    expect(kept.filter(({ n, bytes }) => !isMessage(bytes, n, SIZE)).length).toBe(0);
  }, 120_000);
});
