import { BATCH_BYTES, MAX_POOLED_BATCHES, MAX_POOLED_SMALL_BATCHES, SMALL_BATCH_BYTES } from "./constants.js";

/**
 * A send buffer and what the socket still has to write of it. Frames are
 * copied in one after the other; each flush cuts the bytes copied since
 * the last cut into a piece for the socket. A batch may serve several
 * ticks: it goes back to the pool once it is retired (full, or nothing
 * more to send) and every piece cut from it has been written.
 */
export class SendBatch {
  readonly bytes: Buffer;
  /** The same memory as a plain Uint8Array: what a loan's views are made over (a writer's stores see one type). */
  readonly buffer: ArrayBuffer;
  /** Pieces cut from it that the socket has not written yet. */
  unwritten = 0;
  /** No more bytes go into it. */
  retired = false;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
    this.buffer = bytes.buffer as ArrayBuffer;
  }
}

// Send batches are the one large allocation on the write path. Reusing them
// once the socket has written them saves the allocator and the GC that work
// (and keeps the sender's memory flat under bulk traffic). The pool is shared
// by all connections and bounded, so idle connections hold nothing. Small
// batches are pooled too: a connection that sends a message at a time (a
// ping-pong) took a new 16 KiB buffer for every flush.
const pool: SendBatch[] = [];
const smallPool: SendBatch[] = [];

/**
 * A batch for a tick sending `expected` bytes: under {@link SMALL_BATCH_BYTES},
 * a free small one, else a free one of {@link BATCH_BYTES}, else a new small
 * one (many quiet connections must not each allocate a large buffer for one
 * small frame); from that size up, a free or new one of {@link BATCH_BYTES}.
 */
export function takeBatch(expected: number): SendBatch {
  const small = expected < SMALL_BATCH_BYTES;
  const free = (small ? smallPool.pop() : undefined) ?? pool.pop();
  if (free !== undefined) {
    free.retired = false;
    return free;
  }
  return new SendBatch(small ? Buffer.allocUnsafeSlow(SMALL_BATCH_BYTES) : Buffer.allocUnsafeSlow(BATCH_BYTES));
}

/** A batch of its own for a frame larger than {@link BATCH_BYTES}; never pooled. */
export function largeBatch(size: number): SendBatch {
  return new SendBatch(Buffer.allocUnsafe(size));
}

/**
 * Returns a retired batch once the socket is done with it (every piece was
 * written without error). Only batches from {@link takeBatch} may come back.
 */
export function returnBatch(batch: SendBatch): void {
  const size = batch.bytes.byteLength;
  if (size === BATCH_BYTES && pool.length < MAX_POOLED_BATCHES) pool.push(batch);
  else if (size === SMALL_BATCH_BYTES && smallPool.length < MAX_POOLED_SMALL_BATCHES) smallPool.push(batch);
}
