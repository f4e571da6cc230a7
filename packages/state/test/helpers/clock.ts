/**
 * A clock stopped at the epoch: versions then climb by one per write, as a
 * plain logical counter, and hand-written small versions are neither ahead
 * of the clock nor tombstones past their time. For tests of the merge rules.
 */
export const STOPPED_CLOCK = (): number => 0;
