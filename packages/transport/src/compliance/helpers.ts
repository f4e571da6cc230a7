import type { CloseInfo, Connection } from "../connection.js";

/** A promise with its settle functions outside. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A promise to settle from outside. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Waits for `promise`, failing with a message naming `what` after `ms`. A
 * generous bound against hangs, never a speed assertion.
 */
export async function within<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets the event loop turn `count` times (timers, I/O and immediates run). */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Reads from a connection into an array, with waits for a count and for close. */
export class Collector {
  /** Copies of the frames received, in order. */
  readonly frames: Uint8Array[] = [];
  /** Total bytes received. */
  bytes = 0;
  /** How many times the sink's `close` was called (must end at 1). */
  closeCalls = 0;
  /** What the sink's `close` was called with. */
  closeInfo: CloseInfo | undefined;
  readonly #closedOnce = deferred<CloseInfo>();
  #waiters: Array<{ count: number; d: Deferred<void> }> = [];
  /** Called for each frame after it is stored (tests use it to pause from inside the sink). */
  onFrame: ((frame: Uint8Array, index: number) => void) | undefined;

  constructor(readonly connection: Connection) {
    connection.read({
      frame: (data) => {
        // Copy: the transport only promises not to reuse the bytes, but tests keep them.
        this.frames.push(data.slice());
        this.bytes += data.byteLength;
        this.onFrame?.(data, this.frames.length - 1);
        this.#waiters = this.#waiters.filter((w) => {
          if (this.frames.length < w.count) return true;
          w.d.resolve();
          return false;
        });
      },
      close: (info) => {
        this.closeCalls++;
        this.closeInfo = info;
        this.#closedOnce.resolve(info);
      },
    });
  }

  /** Resolves once at least `count` frames have arrived. */
  waitFor(count: number, what = `${count} frames`): Promise<void> {
    if (this.frames.length >= count) return Promise.resolve();
    const d = deferred<void>();
    this.#waiters.push({ count, d });
    return within(d.promise, what);
  }

  /** Resolves with the info the sink's `close` was called with. */
  sinkClosed(): Promise<CloseInfo> {
    return within(this.#closedOnce.promise, "the sink's close call");
  }
}

/** `n` as 4 big-endian bytes followed by `extra` filler bytes. */
export function numbered(n: number, extra = 0): Uint8Array {
  const out = new Uint8Array(4 + extra);
  new DataView(out.buffer).setUint32(0, n);
  for (let i = 0; i < extra; i++) out[4 + i] = (n + i) & 0xff;
  return out;
}

/** Reads the number written by {@link numbered}. */
export function numberOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

/** Bytes with a pattern that catches reordering and truncation. */
export function patterned(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** True if two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tells whether `promise` is still pending after the event loop turned a few times. */
export async function isPending(promise: Promise<unknown>, loopTurns = 3): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await turns(loopTurns);
  return !settled;
}

/**
 * A Uint8Array whose own `length`, `byteLength` and `slice` answer `claimed` bytes (a slice of the memory after its
 * own): what a send path must never trust, since its real bytes are the array's, not what it claims.
 */
export class LyingBytes extends Uint8Array {
  claimed = 0;
  override get length(): number {
    return this.claimed;
  }
  override get byteLength(): number {
    return this.claimed;
  }
  override slice(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.buffer, 0, this.claimed).slice();
  }
}

/** `real` bytes of `fill` in a {@link LyingBytes} that claims `claimed`. */
export function lyingBytes(real: number, claimed: number, fill: number): LyingBytes {
  const a = new LyingBytes(real).fill(fill);
  a.claimed = claimed;
  return a;
}
