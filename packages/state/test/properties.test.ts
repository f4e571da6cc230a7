import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareValues, SharedState, type MergeFunction, type StateUpdate, type StateValue } from "../src/index.js";
import { opArb, playHistory } from "./helpers/arbitraries.js";
import { canonical, sameState } from "./helpers/canonical.js";

const RUNS = { numRuns: 60 };
const historyArb = fc.array(opArb, { minLength: 1, maxLength: 30 });

const MERGES: [string, MergeFunction | undefined][] = [
  ["without a merge function", undefined],
  ["with a commutative merge (max)", (a: StateValue, b: StateValue) => (compareValues(a, b) >= 0 ? a : b)],
  ["with a non-commutative merge (pair)", (a: StateValue, b: StateValue) => [a, b]],
];

function replay(updates: readonly StateUpdate[], merge: MergeFunction | undefined, id: string): SharedState {
  const state = new SharedState({ replicaId: id, merge });
  for (const update of updates) state.apply(structuredClone(update));
  return state;
}

describe.each(MERGES)("properties %s", (_name, merge) => {
  it("any permutation of a set of updates gives the same final state", () => {
    fc.assert(
      fc.property(historyArb, fc.integer(), (ops, seed) => {
        const updates = playHistory(ops, merge);
        const shuffled = fc.sample(fc.shuffledSubarray(updates, { minLength: updates.length }), { seed, numRuns: 1 })[0] as StateUpdate[];
        expect(sameState(replay(updates, merge, "x"), replay(shuffled, merge, "y"))).toBe(true);
      }),
      RUNS,
    );
  });

  it("apply is idempotent: applying an update again changes nothing", () => {
    fc.assert(
      fc.property(historyArb, (ops) => {
        const updates = playHistory(ops, merge);
        const state = replay(updates, merge, "x");
        const before = canonical(state);
        const seq = state.seq;
        for (const update of updates) expect(state.apply(structuredClone(update))).toEqual([]);
        expect(canonical(state)).toEqual(before);
        expect(state.seq).toBe(seq);
      }),
      RUNS,
    );
  });

  it("a snapshot carries everything: a fresh replica that applies it holds the same state", () => {
    fc.assert(
      fc.property(historyArb, (ops) => {
        const original = replay(playHistory(ops, merge), merge, "x");
        expect(sameState(original, replay([original.snapshot()], merge, "y"))).toBe(true);
      }),
      RUNS,
    );
  });

  it("any way of cutting an update applies to the same state as the whole", () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: 1, max: 5 }), (ops, maxEntries) => {
        const whole = replay(playHistory(ops, merge), merge, "x").snapshot();
        const pieces = new SharedState().splitUpdate(whole, { maxEntries });
        expect(sameState(replay([whole], merge, "y"), replay(pieces.reverse(), merge, "z"))).toBe(true);
      }),
      RUNS,
    );
  });
});
