import { describe, expect, it } from "vitest";
import { compareValues, SharedState, type StateValue } from "../src/index.js";
import { expectConverged, simulate } from "./helpers/network-simulator.js";

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);

/** Commutative, associative and idempotent: the greater value. */
const maxMerge = (a: StateValue, b: StateValue): StateValue => (compareValues(a, b) >= 0 ? a : b);

/** Neither commutative nor idempotent: still converges, as the fold runs in writer order over the set of tied writes. */
const pairMerge = (a: StateValue, b: StateValue): StateValue => [a, b];

describe("convergence under a seeded, lossy, reordering, duplicating network", () => {
  it.each(SEEDS)("seed %i, no merge function", (seed) => {
    const { replicas } = simulate({ seed, replicas: 4, steps: 400, keys: 6, drop: 0.2, duplicate: 0.2 });
    expectConverged(replicas, seed);
  });

  it.each(SEEDS.slice(0, 15))("seed %i, a commutative merge", (seed) => {
    const { replicas } = simulate({ seed, replicas: 5, steps: 400, keys: 4, drop: 0.3, duplicate: 0.3, merge: maxMerge });
    expectConverged(replicas, seed);
  });

  it.each(SEEDS.slice(0, 15))("seed %i, a non-commutative merge and a tie cap of 2", (seed) => {
    const { replicas } = simulate({ seed, replicas: 5, steps: 400, keys: 3, drop: 0.3, duplicate: 0.3, merge: pairMerge, maxTiedWrites: 2 });
    expectConverged(replicas, seed);
  });

  it.each(SEEDS.slice(0, 15))("seed %i, clocks apart by up to the allowed skew and a peer writing at the edge of one", (seed) => {
    const { replicas, stats } = simulate({ seed, replicas: 4, steps: 400, keys: 4, drop: 0.2, duplicate: 0.2, clockSkewMs: 50 });
    expectConverged(replicas, seed);
    expect(stats.edgeWrites).toBeGreaterThan(0);
    for (const replica of replicas) expect(replica.pending).toBe(0);
  });

  it("converges with ownership on (signed own keys, forgeries refused) and tombstones collected", () => {
    for (const seed of SEEDS.slice(0, 20)) {
      const { replicas, stats } = simulate({ seed, replicas: 4, steps: 400, keys: 4, drop: 0.2, duplicate: 0.2, ownership: true, tombstoneTtlMs: 60 });
      expectConverged(replicas, seed);
      expect(stats.forgeriesRefused).toBeGreaterThan(0);
      for (const replica of replicas) {
        for (const key of replica.keys()) if (key.startsWith("@")) expect(key.startsWith("@r")).toBe(true);
        // Only deletes of the last 60 steps are remembered.
        expect(replica.tombstones).toBeLessThanOrEqual(4 * 4 + 4 * 4);
      }
    }
  });

  it("the skewed runs do make replicas hold writes back for their clock", () => {
    let heldBack = 0;
    for (const seed of SEEDS.slice(0, 15)) heldBack += simulate({ seed, replicas: 4, steps: 400, keys: 4, drop: 0.2, duplicate: 0.2, clockSkewMs: 50 }).stats.heldBack;
    expect(heldBack).toBeGreaterThan(15);
  });

  it("the runs do exercise ties, deletes and drops", () => {
    const { replicas } = simulate({ seed: 7, replicas: 5, steps: 400, keys: 3, drop: 0.3, duplicate: 0.3, merge: pairMerge });
    const snapshot = (replicas[0] as SharedState).snapshot();
    const perKey = new Map<string, number>();
    for (const [key] of snapshot.entries) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    expect(snapshot.entries.length).toBeGreaterThan(0);
    expect(Math.max(...perKey.values())).toBeGreaterThanOrEqual(1);
  });

  it("a replica that joins late catches up from one snapshot", () => {
    const { replicas } = simulate({ seed: 99, replicas: 3, steps: 300, keys: 5, drop: 0.1, duplicate: 0.1 });
    const late = new SharedState({ replicaId: "late" });
    late.apply(structuredClone((replicas[1] as SharedState).snapshot()));
    expectConverged([...replicas, late], 99);
  });
});
