import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareValues, SharedState, valuesEqual, type StateValue } from "../src/index.js";

/** The value as a state stores it (-0 becomes 0). */
const stored = (value: StateValue): StateValue => new SharedState().set("k", value).get("k") as StateValue;
import { valueArb } from "./helpers/arbitraries.js";

describe("compareValues", () => {
  it("orders kinds: null < booleans < numbers < strings < bytes < arrays < objects", () => {
    const ordered: StateValue[] = [null, false, true, -1, 0, 2.5, Number.NaN, "", "a", "b", new Uint8Array([0]), new Uint8Array([0, 1]), [], [1], {}, { a: 1 }];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(Math.sign(compareValues(ordered[i] as StateValue, ordered[j] as StateValue)), `${i} vs ${j}`).toBe(Math.sign(i - j));
      }
    }
  });

  it("compares content deeply and counts property order", () => {
    expect(valuesEqual({ a: [1, { b: new Uint8Array([2]) }] }, { a: [1, { b: new Uint8Array([2]) }] })).toBe(true);
    expect(valuesEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(valuesEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(compareValues([1, 2], [1, 3])).toBeLessThan(0);
    expect(compareValues("😀", "z")).toBeGreaterThan(0);
  });

  it("is a total order: antisymmetric, transitive, zero only for the same data", () => {
    fc.assert(
      fc.property(valueArb, valueArb, valueArb, (a, b, c) => {
        expect(Math.sign(compareValues(a, b))).toBe(-Math.sign(compareValues(b, a)) || 0);
        expect(compareValues(a, a)).toBe(0);
        if (compareValues(a, b) <= 0 && compareValues(b, c) <= 0) expect(compareValues(a, c)).toBeLessThanOrEqual(0);
        if (compareValues(a, b) === 0) expect(stored(a)).toEqual(stored(b));
      }),
      { numRuns: 300 },
    );
  });

  // A page has no Buffer and compares bytes in a loop (the `#native-compare` import's browser build); a page and a Node
  // peer must order byte values alike, or they would pick different winners for the same concurrent writes.
  it("orders bytes on a page (the browser build's loop) as Node does (Buffer.compare)", () => {
    const pairs = fc.sample(
      fc.oneof(
        fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })),
        fc.uint8Array({ maxLength: 40 }).chain((a) => fc.tuple(fc.constant(a), fc.uint8Array({ maxLength: 8 }).map((tail) => Uint8Array.from([...a, ...tail])))),
        fc.uint8Array({ maxLength: 40 }).map((a) => [a, Uint8Array.from(a)] as [Uint8Array, Uint8Array]),
      ),
      { numRuns: 2000, seed: 27 },
    );
    const built = pathToFileURL(join(import.meta.dirname, "..", "dist", "compare-values.js")).href;
    const code = `const { compareValues } = await import(${JSON.stringify(built)});
      const pairs = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
      console.log(JSON.stringify(pairs.map(([a, b]) => Math.sign(compareValues(Uint8Array.from(a), Uint8Array.from(b))))));`;
    const run = spawnSync(process.execPath, ["-C", "browser", "--input-type=commonjs", "-e", `(async () => { ${code} })()`], {
      input: JSON.stringify(pairs.map(([a, b]) => [[...a], [...b]])),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const pageSigns = JSON.parse(run.stdout) as number[];
    expect(pageSigns).toEqual(pairs.map(([a, b]) => Math.sign(Buffer.compare(a, b))));
    // The Node build here takes Buffer.compare, the same signs.
    expect(pairs.map(([a, b]) => Math.sign(compareValues(a, b)))).toEqual(pageSigns);
  });
});
