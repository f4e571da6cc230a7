import { now as nowMs } from "@xppg/errors";

/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. Used for
 * the per-peer message rate limit. Time comes from `now()` of @xppg/errors.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(rate: number, burst: number, now: number = nowMs()) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes `n` tokens if there are that many; false when the bucket is empty. */
  take(n = 1, now?: number): boolean {
    // Leaving a full bucket starts the clock: time spent full earns nothing,
    // so a peer idle for an hour still gets one burst, not two.
    if (this.#tokens >= this.burst) this.#last = now ?? nowMs();
    if (this.#tokens < n) {
      // Read the clock only when the bucket runs low: this runs once per message.
      const t = now ?? nowMs();
      const elapsed = t - this.#last;
      this.#last = t;
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000);
      if (this.#tokens < n) return false;
    }
    this.#tokens -= n;
    return true;
  }
}
