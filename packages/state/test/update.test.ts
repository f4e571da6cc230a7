import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { measureValue, SharedState, STATE_ERROR_CODES, valuesEqual, type StateValue } from "../src/index.js";
import { STOPPED_CLOCK } from "./helpers/clock.js";
import { valueArb } from "./helpers/arbitraries.js";
import { expectStateError } from "./helpers/expect-state-error.js";

// Wrapped, not replaced: the test below checks that apply leaves it alone.
vi.mock("../src/value.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/value.js")>();
  return { ...actual, measureValue: vi.fn(actual.measureValue) };
});

const C = STATE_ERROR_CODES;
const RUNS = { numRuns: 150 };

/** Values as received: the shapes of valueArb, and strings of any Unicode (1 to 4 UTF-8 bytes a character). */
const receivedArb: fc.Arbitrary<StateValue> = fc.oneof(
  valueArb,
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.dictionary(fc.string({ unit: "grapheme", maxLength: 4 }).filter((k) => k !== "__proto__"), fc.string({ unit: "grapheme", maxLength: 6 }), {
    maxKeys: 3,
  }),
);

function update(...entries: unknown[]): unknown {
  return { format: 3, seq: 1, entries };
}

/** `maxTotalSize` with all of it open to received updates (no room kept for local writes, no per-peer share below it). */
function exactly(maxTotalSize: number): { maxTotalSize: number; reservedLocalSize: 0; maxTotalSizePerPeer: number } {
  return { maxTotalSize, reservedLocalSize: 0, maxTotalSizePerPeer: maxTotalSize };
}

/** Bytes a one-writer slot holds for `maxTotalSize`: key, version, writer and value; key and writer are ASCII here. */
function held(key: string, writer: string, value: StateValue): number {
  return key.length + 5 + 9 + writer.length + 5 + measureValue(value);
}

describe("size limits on received updates", () => {
  it("maxValueSize trips at the same byte for a received value as for a local write", () => {
    fc.assert(
      fc.property(receivedArb, (value) => {
        const size = measureValue(value);
        const fits = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", maxValueSize: size });
        fits.apply(update(["k", 1, "w", value]));
        expect(fits.versionOf("k")).toBe(1);
        fits.set("local", value);
        if (size === 1) return; // maxValueSize is at least 1
        const over = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", maxValueSize: size - 1 });
        expectStateError(() => over.apply(update(["k", 1, "w", value])), C.VALUE_TOO_LARGE);
        expectStateError(() => over.set("local", value), C.VALUE_TOO_LARGE);
        expect(over.versionOf("k")).toBe(0);
      }),
      RUNS,
    );
  });

  it("maxTotalSize trips at the same byte for received values as for local writes", () => {
    fc.assert(
      fc.property(receivedArb, receivedArb, (a, b) => {
        const total = held("a", "w", a) + held("b", "w", b);
        const fits = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", ...exactly(total) });
        fits.apply(update(["a", 1, "w", a], ["b", 1, "w", b]));
        expect(fits.size).toBe(2);
        const over = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", ...exactly(total - 1) });
        expectStateError(() => over.apply(update(["a", 1, "w", a], ["b", 1, "w", b])), C.TOO_LARGE);
        expect(over.size).toBe(0);
        // The same bytes written locally trip at the same point.
        const local = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", ...exactly(total - 1) });
        local.set("a", a);
        expectStateError(() => local.set("b", b), C.TOO_LARGE);
      }),
      RUNS,
    );
  });

  it("a received value is held at exactly its size: one byte more does not fit", () => {
    fc.assert(
      fc.property(receivedArb, receivedArb, (a, b) => {
        // Room for `a` and a filler string "" (5 bytes); each byte added to the filler is one byte.
        const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", ...exactly(held("a", "w", a) + held("f", "w", "")) });
        state.apply(update(["a", 1, "w", a]));
        state.set("f", "");
        expectStateError(() => state.set("f", "x"), C.TOO_LARGE);
        // Replaced by a received value: the difference is given back or taken, to the byte.
        const room = measureValue(a) - measureValue(b);
        if (room < 0) {
          expectStateError(() => state.apply(update(["a", 2, "w", b])), C.TOO_LARGE);
          return;
        }
        state.apply(update(["a", 2, "w", b]));
        state.set("f", "x".repeat(room));
        expectStateError(() => state.set("f", "x".repeat(room + 1)), C.TOO_LARGE);
      }),
      RUNS,
    );
  });

  it("counts every tied write at its own size (with a merge function)", () => {
    fc.assert(
      fc.property(receivedArb, receivedArb, (a, b) => {
        const total = held("k", "w1", a) + 5 + 2 + measureValue(b); // a second row: writer "w2" and its value
        const merge = (x: StateValue, y: StateValue) => [x, y];
        const tie = update(["k", 1, "w1", a], ["k", 1, "w2", b]);
        const fits = new SharedState({ now: STOPPED_CLOCK, merge, ...exactly(total) });
        fits.apply(tie);
        // valuesEqual, not toEqual: a -0 inside is stored as 0, as MessagePack delivers it.
        expect(valuesEqual(fits.get("k")!, [a, b])).toBe(true);
        expectStateError(() => new SharedState({ now: STOPPED_CLOCK, merge, ...exactly(total - 1) }).apply(tie), C.TOO_LARGE);
      }),
      RUNS,
    );
  });

  it("apply takes each value's size from parsing; it does not measure the value again", () => {
    const measure = vi.mocked(measureValue);
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "w", maxValueSize: 200 });
    const value = { name: "é".repeat(20), pos: [1, 2, 3], tags: ["a", "bb"], bytes: new Uint8Array(8) };
    measure.mockClear();
    state.apply(update(["k", 1, "w", value], ["gone", 1, "w"]));
    state.apply(state.snapshot());
    expect(measure).not.toHaveBeenCalled();
    expect(state.get("k")).toEqual(value);
  });
});
