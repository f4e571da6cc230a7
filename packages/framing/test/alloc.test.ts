import { Buffer } from "node:buffer";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEEP_FREED_HINT_BYTES, LARGE_FRAME_BYTES } from "../src/alloc.js";
import { FrameDecoder, encodeFrame } from "../src/index.js";

/** Frames of `size` bytes, each pushed in two chunks (so each is assembled in memory of its own) and kept: the sizes Node was asked for. */
function assemble(sizes: number[]): { frames: Uint8Array[]; asked: number[] } {
  const spy = vi.spyOn(Buffer, "allocUnsafeSlow");
  const decoder = new FrameDecoder({ maxFrameSize: 1024 * 1024 });
  const frames: Uint8Array[] = [];
  for (const size of sizes) {
    const bytes = encodeFrame(new Uint8Array(size).fill(size & 0xff));
    const cut = bytes.length >> 1;
    decoder.push(bytes.subarray(0, cut), (f) => frames.push(f));
    decoder.push(bytes.subarray(cut), (f) => frames.push(f));
  }
  const asked = spy.mock.calls.map(([n]) => n);
  spy.mockRestore();
  return { frames, asked };
}

describe("allocateUninitialized (Node)", () => {
  afterEach(() => vi.restoreAllMocks());

  // One file, one module instance: the hint is made once per process, so these run in order.
  it("makes no heap hint for frames under LARGE_FRAME_BYTES", () => {
    const { frames, asked } = assemble([100, 4096, LARGE_FRAME_BYTES - 1]);
    expect(frames.map((f) => f.length)).toEqual([100, 4096, LARGE_FRAME_BYTES - 1]);
    expect(asked).not.toContain(KEEP_FREED_HINT_BYTES);
  });

  it("makes one unwritten 16 MiB allocation, dropped, at the first large frame, and none after", () => {
    const { frames, asked } = assemble([64 * 1024, 64 * 1024, LARGE_FRAME_BYTES]);
    expect(asked.filter((n) => n === KEEP_FREED_HINT_BYTES)).toHaveLength(1);
    expect(asked.indexOf(KEEP_FREED_HINT_BYTES)).toBe(0);
    // The frames themselves are whole and their own.
    expect(frames.map((f) => f.length)).toEqual([64 * 1024, 64 * 1024, LARGE_FRAME_BYTES]);
    expect(frames.every((f) => f.every((b) => b === (f.length & 0xff)))).toBe(true);
    expect(frames.every((f) => f.buffer.byteLength < KEEP_FREED_HINT_BYTES)).toBe(true);
    expect(KEEP_FREED_HINT_BYTES).toBe(16 * 1024 * 1024);
  });
});
