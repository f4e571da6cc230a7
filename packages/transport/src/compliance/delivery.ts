import { expect, it } from "vitest";
import { Collector, numberOf, numbered, patterned, sameBytes, within } from "./helpers.js";
import type { Suite } from "./suite.js";

/** Delivery: frames both ways whole, byte-exact and in order, from `send` and from `sendParts`. */
export function deliveryTests(suite: Suite): void {
  const { pair } = suite;
  it("delivers frames both ways whole, byte-exact and in order (empty, 1 byte, maxFrameSize)", async () => {
    const { dialer, accepted } = await pair();
    const sizes = [0, 1, 2, 1000, suite.maxFrameSize, 0, 65_537 > suite.maxFrameSize ? 1 : 65_537, suite.maxFrameSize - 1];
    const fromDialer = sizes.map((s, i) => patterned(s, i + 1));
    const fromAccepted = sizes.map((s, i) => patterned(s, i + 100));
    const atAccepted = new Collector(accepted);
    const atDialer = new Collector(dialer);
    await Promise.all([...fromDialer.map((f) => dialer.send(f)), ...fromAccepted.map((f) => accepted.send(f))]);
    await Promise.all([atAccepted.waitFor(sizes.length), atDialer.waitFor(sizes.length)]);
    expect(atAccepted.frames.map((f) => f.byteLength)).toEqual(sizes);
    expect(atDialer.frames.map((f) => f.byteLength)).toEqual(sizes);
    fromDialer.forEach((f, i) => expect(sameBytes(atAccepted.frames[i]!, f), `frame ${i} dialer->accepted`).toBe(true));
    fromAccepted.forEach((f, i) => expect(sameBytes(atDialer.frames[i]!, f), `frame ${i} accepted->dialer`).toBe(true));
  });

  it("lets the sender reuse its buffer as soon as send returns", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    const buf = new Uint8Array(16);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      buf.fill(i);
      sends.push(dialer.send(buf));
    }
    await Promise.all(sends);
    await at.waitFor(5);
    at.frames.forEach((f, i) => expect(sameBytes(f, new Uint8Array(16).fill(i))).toBe(true));
  });

  it("delivers 10,000 small frames sent without awaiting, in order", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 10_000; i++) sends.push(dialer.send(numbered(i, i % 7)));
    await within(Promise.all(sends), "10,000 sends");
    await at.waitFor(10_000);
    expect(at.frames.length).toBe(10_000);
    at.frames.forEach((f, i) => {
      if (numberOf(f) !== i || f.byteLength !== 4 + (i % 7)) expect.fail(`frame ${i} arrived as ${numberOf(f)} (${f.byteLength} bytes)`);
    });
  });

  it("sendParts delivers its parts joined as one frame, in order with send's frames", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    const big = Math.min(40_000, Math.floor(suite.maxFrameSize / 2) - 8);
    // Empty parts, small parts, parts large enough to go by reference, and a frame of maxFrameSize.
    const frames: Uint8Array[][] = [
      [],
      [patterned(0, 1)],
      [patterned(5, 2)],
      [patterned(3, 3), patterned(0, 4), patterned(7, 5)],
      [patterned(big, 6), patterned(16, 7), patterned(big, 8)],
      [patterned(suite.maxFrameSize - 3, 9), patterned(3, 10)],
    ];
    const sends: Promise<void>[] = [];
    frames.forEach((parts, i) => {
      sends.push(dialer.sendParts(parts));
      sends.push(dialer.send(numbered(i)));
    });
    await within(Promise.all(sends), "the sends");
    await at.waitFor(frames.length * 2);
    frames.forEach((parts, i) => {
      const joined = at.frames[i * 2]!;
      const expected = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let offset = 0;
      for (const p of parts) {
        expected.set(p, offset);
        offset += p.byteLength;
      }
      expect(sameBytes(joined, expected), `frame ${i} from parts`).toBe(true);
      expect(numberOf(at.frames[i * 2 + 1]!)).toBe(i);
    });
  });
}
