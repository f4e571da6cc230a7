import { IDS_PER_MS, timeOfId } from "./message-id.js";

/**
 * Replay protection for signed broadcasts (issue 16, item 12), independent
 * of how many messages came since: a broadcast is dropped when the time in
 * its id (signed by its origin, see `message-id.ts`) is more than
 * `maxAgeMs` away from this node's clock, or when its origin already had
 * it accepted. Per origin, the newest `window` accepted ids are kept; an id
 * at or below the oldest of them counts as a replay (an honest origin's ids
 * only grow, and one link delivers them in order, so only a copy can be
 * that old). At most `maxOrigins` origins are tracked: forgetting one
 * raises a floor that every origin not tracked must pass, so a forgotten
 * origin's broadcasts cannot be replayed either.
 *
 * `check` is O(1) for an id newer than its origin's newest (the usual
 * case) and allocates nothing; call `accept` only once the signature has
 * been verified, so a forgery cannot mark a genuine id as seen.
 */

/** Least time between two sweeps of the origin table for origins too old to replay. */
export const SWEEP_INTERVAL_MS = 1_000;

/** What `check` says of a broadcast: new, already accepted, or too old (or too far ahead) to judge. */
export type ReplayVerdict = "fresh" | "replay" | "stale";

export interface ReplayGuardOptions {
  /** Oldest broadcast accepted, and furthest ahead of this node's clock. */
  maxAgeMs: number;
  /** Origins tracked at most. */
  maxOrigins: number;
  /** Newest ids kept per origin. @default 64 */
  window?: number;
  now?: () => number;
}

/** The newest accepted ids of one origin, ascending, in a ring. */
class OriginWindow {
  readonly ids: Float64Array;
  start = 0;
  count = 0;
  highest: number;
  /** Ids at or below this were never (or no longer) tracked here: they count as replays. */
  readonly floor: number;

  constructor(size: number, floor: number) {
    this.ids = new Float64Array(size);
    this.floor = floor;
    this.highest = floor;
  }

  /** The id at or below which every id counts as seen. */
  lowest(): number {
    return this.count < this.ids.length ? this.floor : this.ids[this.start]!;
  }

  #at(i: number): number {
    return this.ids[(this.start + i) % this.ids.length]!;
  }

  has(id: number): boolean {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.#at(mid);
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  add(id: number): void {
    const size = this.ids.length;
    if (id > this.highest) {
      this.highest = id;
      if (this.count < size) this.ids[(this.start + this.count++) % size] = id;
      else {
        this.ids[this.start] = id;
        this.start = (this.start + 1) % size;
      }
      return;
    }
    // Out of order (a later relay may reorder): insert in place, dropping the oldest when full.
    if (id <= this.lowest() || this.has(id)) return;
    if (this.count === size) {
      this.start = (this.start + 1) % size;
      this.count--;
    }
    let i = this.count;
    while (i > 0 && this.#at(i - 1) > id) {
      this.ids[(this.start + i) % size] = this.#at(i - 1);
      i--;
    }
    this.ids[(this.start + i) % size] = id;
    this.count++;
  }
}

export class ReplayGuard {
  readonly #maxAgeMs: number;
  readonly #maxOrigins: number;
  readonly #window: number;
  readonly #now: () => number;
  readonly #origins = new Map<string, OriginWindow>();
  /** Every id at or below this, from an origin not tracked, counts as a replay. */
  #floor = 0;
  /** When the table may next be swept for origins too old to replay (a sweep walks every origin). */
  #nextSweep = 0;
  #sweeps = 0;

  constructor(options: ReplayGuardOptions) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#maxOrigins = Math.max(1, options.maxOrigins);
    this.#window = Math.max(1, options.window ?? 64);
    this.#now = options.now ?? Date.now;
  }

  /** Walks of the origin table made so far to find origins too old to replay. */
  get sweeps(): number {
    return this.#sweeps;
  }

  /** Origins tracked now. */
  get trackedOrigins(): number {
    return this.#origins.size;
  }

  check(origin: string, id: number): ReplayVerdict {
    const age = this.#now() - timeOfId(id);
    if (!(age <= this.#maxAgeMs && age >= -this.#maxAgeMs)) return "stale";
    const known = this.#origins.get(origin);
    if (known === undefined) return id <= this.#floor ? "replay" : "fresh";
    if (id > known.highest) return "fresh";
    return id <= known.lowest() || known.has(id) ? "replay" : "fresh";
  }

  /** Records a broadcast whose signature verified. */
  accept(origin: string, id: number): void {
    let known = this.#origins.get(origin);
    if (known === undefined) {
      if (this.#origins.size >= this.#maxOrigins) this.#forget();
      known = new OriginWindow(this.#window, this.#floor);
      this.#origins.set(origin, known);
    }
    known.add(id);
  }

  /**
   * Makes room for one origin. Origins whose newest broadcast is too old to
   * replay go first, for free, but finding them walks the whole table, so
   * that sweep runs at most once per {@link SWEEP_INTERVAL_MS} (a flood of
   * new origins would otherwise cost a walk each). Else the oldest added
   * goes, raising the floor.
   */
  #forget(): void {
    const now = this.#now();
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + Math.min(SWEEP_INTERVAL_MS, this.#maxAgeMs);
      this.#sweeps++;
      const oldest = (now - this.#maxAgeMs) * IDS_PER_MS;
      for (const [origin, w] of this.#origins) if (w.highest < oldest) this.#origins.delete(origin);
      if (this.#origins.size < this.#maxOrigins) return;
    }
    const [origin, w] = this.#origins.entries().next().value!;
    this.#floor = Math.max(this.#floor, w.highest);
    this.#origins.delete(origin);
  }
}
