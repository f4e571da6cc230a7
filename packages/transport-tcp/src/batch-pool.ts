import { BATCH_BYTES, MAX_POOLED_BATCHES } from "./constants.js";

// Send batches are the one large allocation on the write path. Reusing them
// once the socket has written them saves the allocator and the GC that work
// (and keeps the sender's memory flat under bulk traffic). The pool is shared
// by all connections and bounded, so idle connections hold nothing.
const pool: Buffer[] = [];

/** A batch buffer of {@link BATCH_BYTES}, reused when one is free. */
export function takeBatch(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
}

/**
 * Returns a batch once the socket is done with it (its write callback ran
 * without error). Only buffers from {@link takeBatch} may come back.
 */
export function returnBatch(batch: Buffer): void {
  if (batch.byteLength === BATCH_BYTES && pool.length < MAX_POOLED_BATCHES) pool.push(batch);
}
