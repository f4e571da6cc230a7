/**
 * The clock of the xppg packages' own timing, in a page (the browser's
 * `#clock`; Node's is `../clock.ts`): `performance.now()`, which a page has at
 * no cost.
 */

/** Milliseconds on a monotonic clock: `performance.now()` in a page. */
export function now(): number {
  return performance.now();
}

/** A time read from {@link now}, as `performance.now()` reads it: the same in a page. */
export function toPerformanceTime(time: number): number {
  return time;
}
