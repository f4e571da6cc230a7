import { describe, expect, it } from "vitest";
import { measureUpdate, splitUpdate, STATE_ERROR_CODES, type StateUpdate } from "../src/index.js";
import { expectStateError } from "./helpers/expect-state-error.js";

const big: StateUpdate = {
  format: 3,
  seq: 9,
  entries: [
    ["a", 1, "w", "x".repeat(500)],
    ["b", 1, "w"],
    ["c", 2, "w", 1],
  ],
};

describe("splitUpdate", () => {
  it("returns an update that fits as it is, in one piece", () => {
    expect(splitUpdate(big)).toEqual([big]);
  });

  it("puts a row larger than maxBytes in a piece of its own, and keeps seq on every piece", () => {
    const pieces = splitUpdate(big, { maxBytes: 100 });
    expect(pieces.map((p) => p.entries.map((e) => e[0]))).toEqual([["a"], ["b", "c"]]);
    for (const piece of pieces) expect(piece.seq).toBe(9);
    for (const piece of pieces.slice(1)) expect(measureUpdate(piece)).toBeLessThanOrEqual(100);
  });

  it("refuses bounds below 1", () => {
    expectStateError(() => splitUpdate(big, { maxEntries: 0 }), STATE_ERROR_CODES.INVALID_ARGUMENT);
    expectStateError(() => splitUpdate(big, { maxBytes: Number.NaN }), STATE_ERROR_CODES.INVALID_ARGUMENT);
  });

  it("measures an update at least as large as its JSON text of plain strings", () => {
    expect(measureUpdate(big)).toBeGreaterThanOrEqual(JSON.stringify(big.entries).length - 20);
  });
});

describe("delta(sinceSeq, except)", () => {
  it("leaves out keys last changed by that origin exactly as it sent them, keeps everything else", async () => {
    const { SharedState: State } = await import("../src/index.js");
    const [a, b] = [new State({ replicaId: "a", merge: (x, y) => (String(x) > String(y) ? x : y) }), new State({ replicaId: "b" })];
    a.set("own", 1);
    b.set("theirs", 2).set("tie", 1);
    a.apply(structuredClone(b.snapshot()), "b");
    // A concurrent write at b's version joins b's row: a holds more than b sent, so it is kept.
    a.apply({ format: 3, seq: 1, entries: [["tie", b.versionOf("tie"), "c", 5]] }, "c");
    expect(a.delta(0, "b").entries.map((e) => e[0]).sort()).toEqual(["own", "tie", "tie"]);
    expect(a.delta(0).entries.length).toBe(4);
  });
});
