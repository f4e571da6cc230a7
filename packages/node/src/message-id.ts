/**
 * Broadcast ids that carry the time they were made (issue 16, item 12): an
 * id is (milliseconds since the epoch) × {@link IDS_PER_MS} plus a counter,
 * strictly increasing per node, across restarts too (as long as the clock
 * does not go back by more than the ids ran ahead). A broadcast's id is
 * inside what its origin signs, so a receiver can trust the time in it and
 * drop a broadcast that is too old, whatever came since. Direct messages
 * keep a plain counter: reading the clock for each would cost a fifth of
 * the sender's time on small messages, and nothing checks their ids.
 */

/** Ids per millisecond: one node may make this many a millisecond before its ids run ahead of its clock. */
export const IDS_PER_MS = 1024;

/** The time (ms since the epoch) a message id was made at. */
export function timeOfId(id: number): number {
  return Math.floor(id / IDS_PER_MS);
}

/** Makes this node's broadcast ids. */
export class MessageIdClock {
  #last = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A fresh id, greater than every id made before by this clock. */
  next(): number {
    const fromClock = this.#now() * IDS_PER_MS;
    // Past 1024 ids in one millisecond the ids run ahead of the clock, and catch up when the rate drops.
    this.#last = fromClock > this.#last ? fromClock : this.#last + 1;
    return this.#last;
  }
}
