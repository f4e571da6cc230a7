import { now as nowMs } from "@xppg/errors";

/**
 * How many bytes this node asks of each neighbour a second, all downloads
 * together: a token bucket per neighbour holding one second's worth. A node
 * limits the bytes a peer may send it (`@xppg/node`'s `limits.bytesPerSecond`)
 * and drops a peer past it; a download that asked a fast source for more
 * than that would have its own node drop the source, with a strike, for
 * sending what was asked. Paced below the limit, it never does.
 */
export class RequestPacer {
  readonly #rate: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `bytesPerSecond`: the most asked of one neighbour a second (`Infinity`: no pacing). */
  constructor(bytesPerSecond: number) {
    this.#rate = bytesPerSecond;
  }

  /** Takes `bytes` of `peer`'s budget; false when it is spent for now (ask again later). */
  take(peer: string, bytes: number): boolean {
    const rate = this.#rate;
    if (!Number.isFinite(rate)) return true;
    const now = nowMs();
    let b = this.#buckets.get(peer);
    if (b === undefined) {
      b = { tokens: rate, at: now };
      this.#buckets.set(peer, b);
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    // A request larger than a second's worth goes once the bucket is full (the debt slows the next ones).
    if (b.tokens < Math.min(bytes, rate)) return false;
    b.tokens -= bytes;
    return true;
  }

  /** The neighbour left. */
  forget(peer: string): void {
    this.#buckets.delete(peer);
  }
}
