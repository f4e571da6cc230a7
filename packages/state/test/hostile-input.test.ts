import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { MAX_VERSION, SharedState, STATE_ERROR_CODES, StateError, type StateErrorCode } from "../src/index.js";
import { STOPPED_CLOCK } from "./helpers/clock.js";
import { valueArb } from "./helpers/arbitraries.js";
import { canonical } from "./helpers/canonical.js";
import { expectStateError } from "./helpers/expect-state-error.js";

const C = STATE_ERROR_CODES;

function update(...entries: unknown[]): unknown {
  return { format: 3, seq: 1, entries };
}

/** Expects `apply(input)` to throw `code` and to leave the state, its seq and its listeners untouched. */
function expectRefused(state: SharedState, input: unknown, code: StateErrorCode): StateError {
  const before = canonical(state);
  const seq = state.seq;
  const size = state.size;
  const listener = vi.fn();
  const off = state.on("change", listener);
  const error = expectStateError(() => state.apply(input, "hostile"), code);
  off();
  expect(canonical(state)).toEqual(before);
  expect(state.seq).toBe(seq);
  expect(state.size).toBe(size);
  expect(listener).not.toHaveBeenCalled();
  return error;
}

describe("malformed updates", () => {
  const cases: [string, unknown, StateErrorCode][] = [
    ["null", null, C.INVALID_UPDATE],
    ["a string", "update", C.INVALID_UPDATE],
    ["an array", [1, 1, []], C.INVALID_UPDATE],
    ["bytes", new Uint8Array(4), C.INVALID_UPDATE],
    ["no format", { seq: 1, entries: [] }, C.INVALID_UPDATE],
    ["a string format", { format: "1", seq: 1, entries: [] }, C.INVALID_UPDATE],
    ["a future format", { format: 4, seq: 1, entries: [] }, C.UNSUPPORTED_FORMAT],
    ["the older format 1 (versions that were counters)", { format: 1, seq: 1, entries: [] }, C.UNSUPPORTED_FORMAT],
    ["format 2 (no signed writers)", { format: 2, seq: 1, entries: [] }, C.UNSUPPORTED_FORMAT],
    ["a negative seq", { format: 3, seq: -1, entries: [] }, C.INVALID_UPDATE],
    ["a fractional seq", { format: 3, seq: 0.5, entries: [] }, C.INVALID_UPDATE],
    ["an unsafe seq", { format: 3, seq: 2 ** 60, entries: [] }, C.INVALID_UPDATE],
    ["entries as an object", { format: 3, seq: 1, entries: { 0: ["k", 1, "w", 1] } }, C.INVALID_UPDATE],
    ["an entry that is not an array", update({ key: "k" }), C.INVALID_UPDATE],
    ["an entry of 2 elements", update(["k", 1]), C.INVALID_UPDATE],
    ["an entry of 5 elements", update(["k", 1, "w", 1, 1]), C.INVALID_UPDATE],
    ["a numeric key", update([1, 1, "w", 1]), C.INVALID_KEY],
    ["a null key", update([null, 1, "w", 1]), C.INVALID_KEY],
    ["a key with a lone surrogate", update(["\uD800x", 1, "w", 1]), C.INVALID_KEY],
    ["version 0", update(["k", 0, "w", 1]), C.INVALID_UPDATE],
    ["a negative version", update(["k", -5, "w", 1]), C.INVALID_UPDATE],
    ["a fractional version", update(["k", 1.5, "w", 1]), C.INVALID_UPDATE],
    ["a NaN version", update(["k", Number.NaN, "w", 1]), C.INVALID_UPDATE],
    ["an infinite version", update(["k", Number.POSITIVE_INFINITY, "w", 1]), C.INVALID_UPDATE],
    ["a version above MAX_SAFE_INTEGER", update(["k", 2 ** 53, "w", 1]), C.INVALID_UPDATE],
    ["a string version", update(["k", "1", "w", 1]), C.INVALID_UPDATE],
    ["a bigint version", update(["k", 1n, "w", 1]), C.INVALID_UPDATE],
    ["an empty writer", update(["k", 1, "", 1]), C.INVALID_UPDATE],
    ["a numeric writer", update(["k", 1, 7, 1]), C.INVALID_UPDATE],
    ["a writer too long", update(["k", 1, "w".repeat(257), 1]), C.INVALID_UPDATE],
    ["a writer with a lone surrogate", update(["k", 1, "\uDC00", 1]), C.INVALID_UPDATE],
    ["an undefined value", update(["k", 1, "w", undefined]), C.INVALID_VALUE],
    ["a function value", update(["k", 1, "w", () => 1]), C.INVALID_VALUE],
    ["a symbol value", update(["k", 1, "w", Symbol("s")]), C.INVALID_VALUE],
    ["a bigint value", update(["k", 1, "w", 10n]), C.INVALID_VALUE],
    ["a Date value", update(["k", 1, "w", new Date(0)]), C.INVALID_VALUE],
    ["a Map value", update(["k", 1, "w", new Map()]), C.INVALID_VALUE],
    ["a class instance", update(["k", 1, "w", new (class Point {})()]), C.INVALID_VALUE],
    ["a Uint16Array", update(["k", 1, "w", new Uint16Array(2)]), C.INVALID_VALUE],
    // eslint-disable-next-line no-sparse-arrays -- a hole is exactly what is tested
    ["a sparse array", update(["k", 1, "w", [1, , 3]]), C.INVALID_VALUE],
    ["an own __proto__ property", update(["k", 1, "w", JSON.parse('{"__proto__": {"polluted": true}}')]), C.INVALID_VALUE],
    ["a string with a lone surrogate", update(["k", 1, "w", { text: "a\uD83D" }]), C.INVALID_VALUE],
    ["a property name with a lone surrogate", update(["k", 1, "w", { ["\uDE00"]: 1 }]), C.INVALID_VALUE],
  ];

  it.each(cases)("refuses %s, applying nothing", (_name, input, code) => {
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "me" });
    state.set("kept", 1);
    expectRefused(state, input, code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("is all or nothing: good rows before a bad one are not applied", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const error = expectRefused(state, update(["a", 1, "w", 1], ["b", 1, "w", 2], ["c", 0, "w", 3]), C.INVALID_UPDATE);
    expect(error.message).toContain("entry 2");
    expect(state.has("a")).toBe(false);
  });

  it("refuses an object whose getter throws, or a Proxy that throws, as INVALID_UPDATE", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const getter = Object.defineProperty({ format: 3, seq: 1 }, "entries", {
      enumerable: true,
      get() {
        throw new Error("trap");
      },
    });
    expectRefused(state, getter, C.INVALID_UPDATE);
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
        getOwnPropertyDescriptor() {
          throw new Error("trap");
        },
      },
    );
    expectRefused(state, proxy, C.INVALID_UPDATE);
  });

  it("refuses a cyclic value as INVALID_VALUE without overflowing the stack", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectRefused(new SharedState({ now: STOPPED_CLOCK }), update(["k", 1, "w", cyclic]), C.INVALID_VALUE);
    expectStateError(() => new SharedState({ now: STOPPED_CLOCK }).set("k", cyclic as never), C.INVALID_VALUE);
  });

  it("ignores fields it does not know, and reads only own properties", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const inherited = Object.create({ format: 3, seq: 1, entries: [] }) as object;
    expectRefused(state, inherited, C.INVALID_UPDATE);
    state.apply({ format: 3, seq: 1, entries: [["k", 1, "w", 1]], signature: new Uint8Array(64) });
    expect(state.get("k")).toBe(1);
  });
});

describe("limits", () => {
  it("maxKeys counts the keys that hold a value and applies to local writes and to updates", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxKeys: 2, reservedLocalKeys: 0, maxKeysPerPeer: 2 });
    state.set("a", 1).set("b", 2);
    const local = expectStateError(() => state.set("c", 3), C.TOO_MANY_KEYS);
    expect(local.details).toMatchObject({ maxKeys: 2 });
    state.delete("b"); // a tombstone is not counted by maxKeys
    state.set("c", 3);
    expectRefused(state, update(["d", 1, "w", 1]), C.TOO_MANY_KEYS);
    state.apply(update(["d", 1, "w"])); // a delete adds no key that holds a value
    state.apply(update(["a", 9, "w", 9]));
    expect(state.get("a")).toBe(9);
  });

  it("maxKeys counts the keys an update adds, all of them", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxKeys: 3 });
    state.set("a", 1);
    expectRefused(state, update(["b", 1, "w", 1], ["c", 1, "w", 1], ["d", 1, "w", 1]), C.TOO_MANY_KEYS);
    state.apply(update(["b", 1, "w", 1], ["c", 1, "w", 1], ["b", 2, "w", 1]));
    expect(state.size).toBe(3);
  });

  it("maxKeyLength applies to local writes and to updates", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxKeyLength: 4 });
    state.set("four", 1);
    expectStateError(() => state.set("fives", 1), C.KEY_TOO_LONG);
    expectStateError(() => state.set(7 as unknown as string, 1), C.INVALID_KEY);
    expectStateError(() => state.set("\uD800", 1), C.INVALID_KEY);
    expectRefused(state, update(["fives", 1, "w", 1]), C.KEY_TOO_LONG);
    expectRefused(new SharedState({ now: STOPPED_CLOCK }), update(["k".repeat(257), 1, "w", 1]), C.KEY_TOO_LONG);
  });

  it("maxEntriesPerUpdate is checked before any row is read", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxEntriesPerUpdate: 2 });
    state.apply(update(["a", 1, "w", 1], ["b", 1, "w", 1]));
    const rows = new Array(3);
    expectRefused(state, update(...rows), C.TOO_MANY_ENTRIES);
    const pieces = state.splitUpdate({ format: 3, seq: 1, entries: [["x", 1, "w", 1], ["y", 1, "w", 1], ["z", 1, "w", 1]] });
    expect(pieces.map((p) => p.entries.length)).toEqual([2, 1]);
  });

  it("maxValueSize applies to local writes and to updates", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxValueSize: 100 });
    state.set("ok", "x".repeat(90));
    expectStateError(() => state.set("big", "x".repeat(100)), C.VALUE_TOO_LARGE);
    expectStateError(() => state.set("wide", new Array(50).fill(1)), C.VALUE_TOO_LARGE);
    expectStateError(() => state.set("bytes", new Uint8Array(96)), C.VALUE_TOO_LARGE);
    expectRefused(state, update(["big", 1, "w", "é".repeat(50)]), C.VALUE_TOO_LARGE);
    expectRefused(new SharedState({ now: STOPPED_CLOCK }), update(["huge", 1, "w", new Array(1_000_000).fill(0)]), C.VALUE_TOO_LARGE);
  });

  it("maxValueDepth applies to local writes and to updates", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxValueDepth: 2 });
    state.set("ok", [[1]]);
    expectStateError(() => state.set("deep", [[[1]]]), C.INVALID_VALUE);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expectRefused(new SharedState({ now: STOPPED_CLOCK }), update(["k", 1, "w", deep]), C.INVALID_VALUE);
  });

  it("maxTotalSize bounds the keys that hold a value, for local writes and updates", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxTotalSize: 400 });
    state.set("a", "x".repeat(100));
    expectStateError(() => state.set("b", "x".repeat(200)), C.TOO_LARGE);
    expectRefused(state, update(["b", 1, "w", "x".repeat(250)]), C.TOO_LARGE);
    state.set("a", "small"); // shrinking is always allowed
    state.set("b", "x".repeat(200));
    expect(state.size).toBe(2);
  });

  it("a key at the version ceiling cannot be written again (VERSION_EXHAUSTED), and says so", () => {
    // Only a clock centuries ahead gets there: versions are bounded by the receiver's clock.
    const late = (): number => MAX_VERSION / 1024;
    const state = new SharedState({ now: late });
    state.apply(update(["pinned", MAX_VERSION, "hostile", "mine forever"]));
    expectStateError(() => state.set("pinned", 1), C.VERSION_EXHAUSTED);
    expectStateError(() => state.delete("pinned"), C.VERSION_EXHAUSTED);
    expect(state.get("pinned")).toBe("mine forever");
  });

  it("refuses options out of range with INVALID_ARGUMENT", () => {
    const bad: Record<string, unknown>[] = [
      { maxKeys: -1 },
      { maxKeyLength: 1.5 },
      { maxEntriesPerUpdate: 0 },
      { maxValueSize: Number.POSITIVE_INFINITY },
      { maxValueDepth: "3" },
      { maxTotalSize: Number.NaN },
      { maxTiedWrites: 0 },
      { maxClockSkewMs: -1 },
      { maxKeysPerPeer: 0.5 },
      { reservedLocalKeys: 11, maxKeys: 10 },
      { maxTombstones: -1 },
      { tombstoneTtlMs: Number.NaN },
      { maxPendingSize: "1" },
      { now: 5 },
      { maxReplicaIdLength: 0 },
      { replicaId: "" },
      { replicaId: 42 },
      { replicaId: "x".repeat(300) },
      { merge: "max" },
    ];
    for (const options of bad) expectStateError(() => new SharedState(options), C.INVALID_ARGUMENT);
  });

  it("refuses a local value that is not plain data", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    for (const value of [undefined, () => 1, new Date(), { a: undefined }, [undefined], 1n, JSON.parse('{"__proto__":1}')]) {
      expectStateError(() => state.set("k", value as never), C.INVALID_VALUE);
    }
    expect(state.seq).toBe(0);
    expect(state.versionOf("k")).toBe(0);
  });
});

describe("fuzzing apply", () => {
  /** Anything at all, including bytes and objects with odd keys. */
  const anythingArb = fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withObjectString: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
    withUnicodeString: true,
  });

  /** Nearly valid updates: the right frame with wrong, odd or valid pieces inside. */
  const entryArb = fc.oneof(
    fc.tuple(fc.constantFrom("a", "b", "__proto__", "constructor"), fc.integer({ min: 1, max: 5 }), fc.constantFrom("w1", "w2"), valueArb),
    fc.tuple(fc.constantFrom("a", "b"), fc.integer({ min: 1, max: 5 }), fc.constantFrom("w1", "w2")),
    fc.tuple(anythingArb, anythingArb, anythingArb, anythingArb),
    fc.array(anythingArb, { maxLength: 5 }),
    anythingArb,
  );
  const nearlyValidArb = fc.record(
    {
      format: fc.oneof(fc.constant(1), anythingArb),
      seq: fc.oneof(fc.nat(), anythingArb),
      entries: fc.oneof(fc.array(entryArb, { maxLength: 6 }), anythingArb),
    },
    { requiredKeys: [] },
  );

  function check(inputs: unknown[]): void {
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "me", maxKeys: 6, maxEntriesPerUpdate: 5 });
    state.set("a", 1);
    let live = new Map(state.entries());
    state.on("change", (changes) => {
      for (const change of changes) {
        if (change.deleted) live.delete(change.key);
        else live.set(change.key, change.value as never);
      }
    });
    for (const input of inputs) {
      const before = canonical(state);
      const seq = state.seq;
      const mirror = new Map(live);
      try {
        state.apply(input);
      } catch (error) {
        expect(error).toBeInstanceOf(StateError);
        expect(canonical(state)).toEqual(before);
        expect(state.seq).toBe(seq);
        live = mirror;
      }
      // Invariants: size matches the live keys, events match the contents, a snapshot reproduces the state.
      expect(state.size).toBe([...state.keys()].length);
      expect(new Map(state.entries())).toEqual(live);
      const copy = new SharedState({ now: STOPPED_CLOCK });
      copy.apply(state.snapshot());
      expect(canonical(copy)).toEqual(canonical(state));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }

  it("anything at all either applies or throws a StateError, leaving the state whole", () => {
    fc.assert(fc.property(fc.array(anythingArb, { maxLength: 4 }), check), { numRuns: 100 });
  });

  it("nearly valid updates either apply or throw a StateError, leaving the state whole", () => {
    fc.assert(fc.property(fc.array(nearlyValidArb, { maxLength: 6 }), check), { numRuns: 200 });
  });
});
