import { describe, expect, it } from "vitest";
import { returnBatch, takeBatch } from "../src/batch-pool.js";
import { BATCH_BYTES, MAX_POOLED_SMALL_BATCHES, SMALL_BATCH_BYTES } from "../src/constants.js";

describe("the send batch pool", () => {
  it("reuses a small batch for the next small tick (a ping-pong took a new 16 KiB buffer per flush)", () => {
    const first = takeBatch(100);
    expect(first.bytes.byteLength).toBe(SMALL_BATCH_BYTES);
    first.retired = true;
    returnBatch(first);
    const second = takeBatch(200);
    expect(second).toBe(first);
    expect(second.retired).toBe(false);
  });

  it("gives a tick of many bytes a large batch, never a small pooled one", () => {
    const small = takeBatch(100);
    small.retired = true;
    returnBatch(small);
    const large = takeBatch(SMALL_BATCH_BYTES);
    expect(large.bytes.byteLength).toBe(BATCH_BYTES);
    expect(takeBatch(100)).toBe(small);
  });

  it(`keeps at most ${MAX_POOLED_SMALL_BATCHES} small batches`, () => {
    const taken = Array.from({ length: MAX_POOLED_SMALL_BATCHES + 10 }, () => takeBatch(100));
    for (const b of taken) {
      b.retired = true;
      returnBatch(b);
    }
    const again = Array.from({ length: MAX_POOLED_SMALL_BATCHES + 10 }, () => takeBatch(100));
    expect(again.filter((b) => taken.includes(b))).toHaveLength(MAX_POOLED_SMALL_BATCHES);
  });
});
