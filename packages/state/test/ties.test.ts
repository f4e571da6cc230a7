import { describe, expect, it, vi } from "vitest";
import { SharedState, STATE_ERROR_CODES, type StateUpdate } from "../src/index.js";
import { STOPPED_CLOCK } from "./helpers/clock.js";
import { expectStateError } from "./helpers/expect-state-error.js";

/** Writes of one key at version 1 by three replicas, as they would meet on the wire. */
function concurrentWrites(values: Record<string, unknown>): StateUpdate[] {
  return Object.entries(values).map(([writer, value]) => {
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: writer });
    if (value === undefined) {
      state.set("k", 0);
      return { format: 3, seq: 1, entries: [["k", 1, writer]] };
    }
    state.set("k", value as number);
    return state.snapshot();
  });
}

function applyAll<S extends { apply(update: unknown): unknown }>(state: S, updates: readonly StateUpdate[]): S {
  for (const update of updates) state.apply(update);
  return state;
}

describe("ties without a merge function", () => {
  it("the greatest writer id wins, whatever the arrival order", () => {
    const updates = concurrentWrites({ alice: 1, carol: 3, bob: 2 });
    expect(applyAll(new SharedState({ now: STOPPED_CLOCK, replicaId: "x" }), updates).get("k")).toBe(3);
    expect(applyAll(new SharedState({ now: STOPPED_CLOCK, replicaId: "y" }), [...updates].reverse()).get("k")).toBe(3);
  });

  it("a tied delete by a greater writer wins over a value", () => {
    const updates = concurrentWrites({ alice: 1, zed: undefined });
    const state = applyAll(new SharedState({ now: STOPPED_CLOCK }), updates);
    expect(state.has("k")).toBe(false);
    expect(state.versionOf("k")).toBe(1);
  });

  it("one writer with two values at one version (a reused id) settles on the greater value", () => {
    const a: StateUpdate = { format: 3, seq: 1, entries: [["k", 1, "w", "apple"]] };
    const b: StateUpdate = { format: 3, seq: 1, entries: [["k", 1, "w", "banana"]] };
    const tomb: StateUpdate = { format: 3, seq: 1, entries: [["k", 1, "w"]] };
    expect(applyAll(new SharedState({ now: STOPPED_CLOCK }), [a, b, tomb]).get("k")).toBe("banana");
    expect(applyAll(new SharedState({ now: STOPPED_CLOCK }), [tomb, b, a]).get("k")).toBe("banana");
  });

  it("a local replica's own tied write can lose to a greater remote writer", () => {
    const mine = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    mine.set("k", "mine");
    const theirs = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    theirs.set("k", "theirs");
    const changes = mine.apply(theirs.snapshot(), "b");
    expect(mine.get("k")).toBe("theirs");
    expect(changes[0]).toMatchObject({ key: "k", oldValue: "mine", value: "theirs", source: "remote", origin: "b" });
    expect(mine.snapshot().entries).toEqual([["k", 1, "b", "theirs"]]);
  });
});

describe("ties with a merge function", () => {
  const max = (a: number, b: number): number => Math.max(a, b);

  it("folds the tied values in writer-id order, the same in every arrival order", () => {
    const calls: string[] = [];
    const concat = (a: string, b: string): string => {
      calls.push(`${a}+${b}`);
      return `${a}${b}`;
    };
    const updates = concurrentWrites({ carol: "c", alice: "a", bob: "b" });
    const first = applyAll(new SharedState<string>({ now: STOPPED_CLOCK, merge: concat }), updates);
    const second = applyAll(new SharedState<string>({ now: STOPPED_CLOCK, merge: concat }), [...updates].reverse());
    // Not commutative, still the same everywhere: a fold in writer order.
    expect(first.get("k")).toBe("abc");
    expect(second.get("k")).toBe("abc");
    expect(calls.length).toBeGreaterThan(0);
  });

  it("keeps every tied write in snapshots, so a third replica computes the same merge", () => {
    const sum = (a: number, b: number): number => a + b;
    const updates = concurrentWrites({ a: 1, b: 10, c: 100 });
    const first = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: sum, replicaId: "r1" }), updates);
    expect(first.get("k")).toBe(111);
    // A duplicate does not count twice: the rows are a set, not a running total.
    applyAll(first, updates);
    expect(first.get("k")).toBe(111);
    const second = new SharedState<number>({ now: STOPPED_CLOCK, merge: sum, replicaId: "r2" });
    second.apply(first.snapshot());
    expect(second.get("k")).toBe(111);
    expect(first.snapshot().entries).toHaveLength(3);
  });

  it("a newer version replaces the tie entirely, and a local write resolves it", () => {
    const state = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: max, replicaId: "me" }), concurrentWrites({ a: 5, b: 9 }));
    expect(state.get("k")).toBe(9);
    state.set("k", 1);
    expect(state.get("k")).toBe(1);
    expect(state.versionOf("k")).toBe(2);
    expect(state.snapshot().entries).toEqual([["k", 2, "me", 1]]);
  });

  it("a tied delete is left out of the fold; all tied deletes delete", () => {
    const withValue = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: max }), concurrentWrites({ a: 4, b: undefined, c: 2 }));
    expect(withValue.get("k")).toBe(4);
    const onlyDeletes = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: max }), concurrentWrites({ a: undefined, b: undefined }));
    expect(onlyDeletes.has("k")).toBe(false);
  });

  it("keeps at most maxTiedWrites tied writes: those of the greatest writer ids", () => {
    const sum = (a: number, b: number): number => a + b;
    const updates = concurrentWrites({ a: 1, b: 10, c: 100, d: 1000 });
    const forward = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: sum, maxTiedWrites: 2 }), updates);
    const backward = applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge: sum, maxTiedWrites: 2 }), [...updates].reverse());
    expect(forward.get("k")).toBe(1100);
    expect(backward.get("k")).toBe(1100);
  });

  it("a merge that throws or returns a non-value fails with MERGE_FAILED and changes nothing", () => {
    const boom = new Error("bad merge");
    const throwing = new SharedState<number>({ now: STOPPED_CLOCK, 
      merge: () => {
        throw boom;
      },
    });
    const listener = vi.fn();
    throwing.on("change", listener);
    const [a, b] = concurrentWrites({ a: 1, b: 2 }) as [StateUpdate, StateUpdate];
    throwing.apply(a);
    const seq = throwing.seq;
    const error = expectStateError(() => throwing.apply(b), STATE_ERROR_CODES.MERGE_FAILED);
    expect(error.cause).toBe(boom);
    expect(throwing.get("k")).toBe(1);
    expect(throwing.seq).toBe(seq);
    expect(listener).toHaveBeenCalledTimes(1);

    const returnsUndefined = new SharedState<number>({ now: STOPPED_CLOCK, merge: () => undefined as unknown as number });
    returnsUndefined.apply(a);
    expectStateError(() => returnsUndefined.apply(b), STATE_ERROR_CODES.MERGE_FAILED);
  });

  it("the merge function receives the key", () => {
    const merge = vi.fn((a: number, b: number) => a + b);
    applyAll(new SharedState<number>({ now: STOPPED_CLOCK, merge }), concurrentWrites({ a: 1, b: 2 }));
    expect(merge).toHaveBeenCalledWith(1, 2, "k");
  });
});
