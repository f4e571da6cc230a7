/**
 * The tombstones a replica remembers, oldest first, with the time each may
 * be forgotten. A tombstone stops an older write that arrives later from
 * bringing a deleted key back; it is kept for `tombstoneTtlMs` after the
 * time in its version, and at most `maxTombstones` are kept (the oldest go
 * first). Forgetting one early is the price of never refusing a delete: see
 * the README's "Tombstones" for the resurrection risk.
 */
export class Tombstones {
  /** Key to the time (ms since the epoch) it may be forgotten, in the order they became tombstones. */
  readonly #expiry = new Map<string, number>();

  get size(): number {
    return this.#expiry.size;
  }

  /** Remembers `key` as deleted until `expiresAt`. */
  add(key: string, expiresAt: number): void {
    this.#expiry.delete(key);
    this.#expiry.set(key, expiresAt);
  }

  /** `key` holds a value again, or was forgotten. */
  remove(key: string): void {
    this.#expiry.delete(key);
  }

  /**
   * The tombstones to forget now: those past their time, from the oldest
   * (a sweep that stops at the first one still due, so each costs O(1)),
   * then the oldest beyond `max`. They are removed from this set.
   */
  collect(now: number, max: number): string[] {
    const out: string[] = [];
    for (const [key, expiresAt] of this.#expiry) {
      if (expiresAt > now && this.#expiry.size - out.length <= max) break;
      out.push(key);
    }
    for (const key of out) this.#expiry.delete(key);
    return out;
  }
}
