import { XPPG_ERROR_CODES } from "@xppg/errors";
import { expect, it } from "vitest";
import { TRANSPORT_ERROR_CODES } from "../errors.js";
import { Collector, LyingBytes, numberOf, numbered, patterned, sameBytes } from "./helpers.js";
import { expectCode, type Suite } from "./suite.js";

const CODES = TRANSPORT_ERROR_CODES;

/**
 * What `send` and `sendParts` refuse or leave alone: a frame over `maxFrameSize`, a non-array, bytes whose length
 * lies, a Proxy, the caller's parts, a closed connection.
 */
export function refusalTests(suite: Suite): void {
  const { pair } = suite;
  it("sendParts rejects a total over maxFrameSize or a non-array, and stays usable", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    const half = Math.ceil((suite.maxFrameSize + 1) / 2);
    await expectCode(dialer.sendParts([new Uint8Array(half), new Uint8Array(suite.maxFrameSize + 1 - half)]), CODES.FRAME_TOO_LARGE);
    await expect(dialer.sendParts("bytes" as unknown as Uint8Array[])).rejects.toThrow(TypeError);
    await expectCode(dialer.sendParts("bytes" as unknown as Uint8Array[]), XPPG_ERROR_CODES.INVALID_ARGUMENT);
    await expect(dialer.sendParts([new Uint8Array(1), [1, 2] as unknown as Uint8Array])).rejects.toThrow(TypeError);
    expect(dialer.isClosed).toBe(false);
    await dialer.sendParts([numbered(9)]);
    await at.waitFor(1);
    expect(at.frames.length).toBe(1);
    expect(numberOf(at.frames[0]!)).toBe(9);
  });

  it("a frame or part whose length, byteLength or slice lies arrives as the bytes it holds; a Proxy is refused with XPPG_ERR_INVALID_ARGUMENT and the connection stays open", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    // The memory right after the frame's bytes, in the same buffer: where a copy by the claimed size would reach.
    const lying = (real: number, claimed: number, seed: number): Uint8Array => {
      const memory = new Uint8Array(real + claimed + 64).fill(0xee);
      const frame = new LyingBytes(memory.buffer, 0, real);
      frame.set(patterned(real, seed));
      frame.claimed = claimed;
      return frame;
    };
    await expectCode(dialer.send(new Proxy(patterned(5, 1), {})), XPPG_ERROR_CODES.INVALID_ARGUMENT);
    await expectCode(dialer.sendParts([new Proxy(patterned(5, 1), {})]), XPPG_ERROR_CODES.INVALID_ARGUMENT);
    await expectCode(dialer.send(Object.setPrototypeOf({ length: 300 }, Uint8Array.prototype) as Uint8Array), XPPG_ERROR_CODES.INVALID_ARGUMENT);
    expect(dialer.isClosed).toBe(false);
    await dialer.send(lying(3, 300, 61));
    await dialer.send(lying(300, 3, 62));
    await dialer.sendParts([lying(3, 300, 63), patterned(2, 64)]);
    await at.waitFor(3);
    expect(at.frames.map((f) => f.length)).toEqual([3, 300, 5]);
    expect(sameBytes(at.frames[0]!, patterned(3, 61))).toBe(true);
    expect(sameBytes(at.frames[1]!, patterned(300, 62))).toBe(true);
    expect(sameBytes(at.frames[2]!.subarray(0, 3), patterned(3, 63))).toBe(true);
    expect(sameBytes(at.frames[2]!.subarray(3), patterned(2, 64))).toBe(true);
  });

  it("sendParts leaves the caller's parts as they were, and rejects with XPPG_ERR_CONNECTION_CLOSED once closed", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    const third = Math.min(20_000, Math.floor(suite.maxFrameSize / 3));
    const parts = [patterned(third, 41), patterned(Math.min(10, third), 42), patterned(third, 43)];
    const before = parts.map((p) => p.slice());
    await dialer.sendParts(parts);
    await at.waitFor(1);
    parts.forEach((p, i) => expect(sameBytes(p, before[i]!), `part ${i}`).toBe(true));
    await dialer.close();
    await expectCode(dialer.sendParts([numbered(1)]), CODES.CONNECTION_CLOSED);
  });

  it("rejects a frame over maxFrameSize with XPPG_ERR_FRAME_TOO_LARGE and stays usable", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    await expectCode(dialer.send(new Uint8Array(suite.maxFrameSize + 1)), CODES.FRAME_TOO_LARGE);
    expect(dialer.isClosed).toBe(false);
    await dialer.send(numbered(7));
    await at.waitFor(1);
    expect(at.frames.length).toBe(1);
    expect(numberOf(at.frames[0]!)).toBe(7);
  });
}
