/**
 * How often this node may dial one address, and one host, within a
 * window: the bound that keeps a mesh from being turned against a victim
 * whose address peers advertise (in peer exchange or a presence) under
 * made-up peer ids. Every automatic dial takes a token of both its address
 * and its host first; without one it is not made.
 *
 * Bounded: attempts older than the window are forgotten, and at most
 * `capacity` addresses and hosts are tracked; when every tracked one is
 * still inside its window, a dial to a new one waits (it is refused, not
 * tracked over the bound).
 */

export interface DialBudgetOptions {
  /** Attempts per address (`tcp://host:port`) per window. @default 3 */
  readonly perAddress?: number;
  /** Attempts per host (all its ports) per window. @default 30 */
  readonly perHost?: number;
  /** @default 60000 */
  readonly windowMs?: number;
  /** Addresses and hosts tracked at once. @default 4096 */
  readonly capacity?: number;
}

export class DialBudget {
  readonly perAddress: number;
  readonly perHost: number;
  readonly windowMs: number;
  readonly #capacity: number;
  /** Times of the attempts within the window, by `a:<address>` and `h:<host>`; oldest key first. */
  readonly #attempts = new Map<string, number[]>();

  constructor(options: DialBudgetOptions = {}) {
    this.perAddress = options.perAddress ?? 3;
    this.perHost = options.perHost ?? 30;
    this.windowMs = options.windowMs ?? 60_000;
    this.#capacity = options.capacity ?? 4096;
  }

  /** Takes one attempt for `address` at `host`; false when either is spent for now (no dial then). */
  take(address: string, host: string, now: number): boolean {
    this.#expire(now);
    const a = `a:${address}`;
    const h = `h:${host}`;
    const byAddress = this.#attempts.get(a);
    const byHost = this.#attempts.get(h);
    if (within(byAddress, now, this.windowMs) >= this.perAddress || within(byHost, now, this.windowMs) >= this.perHost) return false;
    const fresh = (byAddress === undefined ? 1 : 0) + (byHost === undefined ? 1 : 0);
    if (this.#attempts.size + fresh > this.#capacity) return false;
    this.#record(a, byAddress, now);
    this.#record(h, byHost, now);
    return true;
  }

  /** Keys tracked now (for tests: the bound on memory). */
  get size(): number {
    return this.#attempts.size;
  }

  #record(key: string, times: number[] | undefined, now: number): void {
    if (times === undefined) this.#attempts.set(key, [now]);
    else {
      times.push(now);
      // The newest attempt moves the key to the young end, so expiry can stop at the first fresh key.
      this.#attempts.delete(key);
      this.#attempts.set(key, times);
    }
  }

  /** Forgets keys whose newest attempt left the window (the map is ordered by newest attempt). */
  #expire(now: number): void {
    for (const [key, times] of this.#attempts) {
      if (now - times[times.length - 1]! < this.windowMs) break;
      this.#attempts.delete(key);
    }
  }
}

/** The attempts of one key still inside the window. */
function within(times: number[] | undefined, now: number, windowMs: number): number {
  if (times === undefined) return 0;
  while (times.length > 0 && now - times[0]! >= windowMs) times.shift();
  return times.length;
}
