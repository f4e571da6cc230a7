import { Duplex } from "node:stream";

/**
 * Two connected object-mode streams, the "wire" of the example adapter:
 * what one writes the other reads, in order, one chunk per write. A write
 * completes only once the other side's read buffer has room (backpressure
 * travels back), `end()` reaches the other side as its end, and
 * `destroy()` reaches it as a reset.
 */
export function duplexPair(): [Duplex, Duplex] {
  const a = new WireEnd();
  const b = new WireEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

class WireEnd extends Duplex {
  other!: WireEnd;
  /** The write waiting for room in the other side's read buffer. */
  #blocked: (() => void) | null = null;

  constructor() {
    super({ objectMode: true, allowHalfOpen: true });
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.other.push(chunk)) callback();
    else this.other.#blocked = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.other.push(null);
    callback();
  }

  override _read(): void {
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A clean end of both directions is not a reset; anything else is, for the other end too.
    const clean = error === null && this.writableFinished && this.readableEnded;
    const other = this.other;
    if (!clean && !other.destroyed) other.destroy(error ?? new Error("the other end was destroyed"));
    this.#blocked = null;
    callback(error);
  }
}
