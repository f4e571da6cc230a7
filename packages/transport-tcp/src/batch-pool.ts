import { BATCH_BYTES, MAX_POOLED_BATCHES, SMALL_BATCH_BYTES } from "./constants.js";

// Send batches are the one large allocation on the write path. Reusing them
// once the socket has written them saves the allocator and the GC that work
// (and keeps the sender's memory flat under bulk traffic). The pool is shared
// by all connections and bounded, so idle connections hold nothing.
const pool: Buffer[] = [];

/**
 * A batch buffer: a free pooled one of {@link BATCH_BYTES} if there is one;
 * else a new one of that size when the tick is sending `expected` bytes or
 * more, or a small one (many quiet connections must not each allocate a
 * large buffer for one small frame).
 */
export function takeBatch(expected: number): Buffer {
  const free = pool.pop();
  if (free !== undefined) return free;
  return expected >= SMALL_BATCH_BYTES ? Buffer.allocUnsafeSlow(BATCH_BYTES) : Buffer.allocUnsafe(SMALL_BATCH_BYTES);
}

/**
 * Returns a batch once the socket is done with it (its write callback ran
 * without error). Only buffers from {@link takeBatch} may come back.
 */
export function returnBatch(batch: Buffer): void {
  if (batch.byteLength === BATCH_BYTES && pool.length < MAX_POOLED_BATCHES) pool.push(batch);
}
