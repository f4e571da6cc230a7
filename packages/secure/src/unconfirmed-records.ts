import { END_COUNT_MODULUS } from "./end-count.js";

// Its own module: only an owner of counted ends weighs them (a page's routing room, loaded later), not the record layers.

/**
 * Of the `sent` records of this side, how many the peer's end-of-stream
 * count (`counted`, the low 23 bits of what it received) leaves
 * unconfirmed: `sent` less the largest number not above `sent` with those
 * low bits. Undefined when there is none: the peer counts more records than
 * this side sent, which no honest peer does.
 */
export function unconfirmedRecords(sent: number, counted: number): number | undefined {
  const unconfirmed = ((((sent - counted) % END_COUNT_MODULUS) + END_COUNT_MODULUS) % END_COUNT_MODULUS);
  return unconfirmed > sent ? undefined : unconfirmed;
}
