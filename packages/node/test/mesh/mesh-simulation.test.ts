import { describe, expect, test } from "vitest";
import { MeshSimulator, type MeshSimOptions } from "./mesh-simulator.js";
import { Random } from "../../../../tools/test/random.js";

/**
 * The broadcast tree, route learning and connection planner in a seeded
 * simulation of 100 nodes. Each node first joins one or two others; every
 * node then broadcasts once (as its presence announcement does), which
 * builds the tree, teaches routes and lets the planners dial up to the low
 * water mark. A failing seed replays: `new MeshSimulator({ seed, ... })`.
 */
const NODES = 100;

/** A 100-node mesh past its start: every node has announced itself and the tree has formed. */
function formedMesh(options: Partial<MeshSimOptions> & { seed: number }): { sim: MeshSimulator; random: Random } {
  const sim = new MeshSimulator({ nodes: NODES, protocol: "tree", ...options });
  const random = new Random(options.seed + 1);
  for (let i = 0; i < NODES; i++) sim.queue.after(i * 20, () => sim.broadcast(i));
  sim.run(15_000);
  // Traffic at a moderate rate lets the tree settle (prunes on duplicates, grafts on gaps).
  for (let i = 0; i < 100; i++) {
    sim.broadcast(random.int(NODES));
    sim.run(500);
  }
  return { sim, random };
}

/** Sends `count` broadcasts from random live nodes, `spacingMs` apart, then lets them finish; returns their keys. */
function broadcasts(sim: MeshSimulator, random: Random, count: number, spacingMs: number): string[] {
  const alive = sim.nodes.map((n, i) => (n.alive ? i : -1)).filter((i) => i >= 0);
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    keys.push(sim.broadcast(random.pick(alive)));
    sim.run(spacingMs);
  }
  sim.run(5_000);
  return keys;
}

function expectExactlyOnce(sim: MeshSimulator, keys: readonly string[], seed: number): void {
  for (const key of keys) {
    const counts = sim.deliveryCounts(key);
    const wrong = counts.filter((c) => c !== 1).length;
    expect(wrong, `seed ${seed}: ${key} reached ${counts.filter((c) => c === 1).length} of ${counts.length} nodes exactly once`).toBe(0);
  }
  expect(sim.counts.duplicateDeliveries).toBe(0);
}

// Deterministic but CPU-bound (a few seconds each when the machine is idle): generous limits for a loaded one.
describe("broadcast over the tree", { timeout: 120_000 }, () => {
  test.each([1, 2, 3])("100 nodes, seed %i: every broadcast reaches every node exactly once, at most 1.5 transmissions per delivery (flood beside it)", (seed) => {
    const figures: Record<string, number> = {};
    for (const protocol of ["tree", "flood"] as const) {
      const { sim, random } = formedMesh({ seed, protocol });
      sim.resetCounts();
      const keys = broadcasts(sim, random, 200, 50);
      expectExactlyOnce(sim, keys, seed);
      expect(sim.counts.deliveries).toBe(keys.length * (NODES - 1));
      figures[`${protocol} payload/delivery`] = sim.counts.payloadTx / sim.counts.deliveries;
      figures[`${protocol} control/delivery`] = sim.counts.controlTx / sim.counts.deliveries;
      figures[`${protocol} mean degree`] = sim.meanDegree();
      expect(sim.meanDegree()).toBeGreaterThanOrEqual(4);
    }
    console.info(`seed ${seed}`, Object.entries(figures).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", "));
    expect(figures["tree payload/delivery"]).toBeLessThanOrEqual(1.5);
    // The baseline floods every link: about the mean degree per delivery.
    expect(figures["flood payload/delivery"]).toBeGreaterThan(3);
  });

  test.each([11, 12])("seed %i: with frames lost (each loss breaks its link) and delays up to 200 ms, every broadcast still arrives exactly once", (seed) => {
    const { sim, random } = formedMesh({ seed, drop: 0.002, maxDelayMs: 200 });
    sim.resetCounts();
    const keys = broadcasts(sim, random, 200, 30);
    sim.run(30_000);
    expect(sim.counts.linkBreaks).toBeGreaterThan(5);
    expectExactlyOnce(sim, keys, seed);
  });

  test.each([21, 22, 23])("seed %i: after 20 of 100 nodes are killed at once, broadcasts reach every survivor exactly once and the planners restore the low water mark", (seed) => {
    const { sim, random } = formedMesh({ seed });
    const victims = random.shuffle([...Array(NODES).keys()]).slice(0, NODES / 5);
    sim.kill(victims);
    sim.resetCounts();
    // Some are sent before anyone has noticed (the eager pushes to the dead are lost), some after.
    const during = broadcasts(sim, random, 20, 50);
    sim.run(30_000);
    const after = broadcasts(sim, random, 100, 50);
    expectExactlyOnce(sim, [...during, ...after], seed);
    for (const node of sim.alive()) expect(node.neighbors.size, `seed ${seed}: ${node.id}`).toBeGreaterThanOrEqual(4);
    // Once healed the tree costs about one transmission per delivery again.
    sim.resetCounts();
    const healed = broadcasts(sim, random, 100, 50);
    expectExactlyOnce(sim, healed, seed);
    expect(sim.counts.payloadTx / sim.counts.deliveries).toBeLessThanOrEqual(1.5);
  });

  test("a run replays exactly from its seed, and another seed runs differently", () => {
    const run = (seed: number): [number, string] => {
      const { sim, random } = formedMesh({ seed, drop: 0.002 });
      sim.kill(random.shuffle([...Array(NODES).keys()]).slice(0, 10));
      broadcasts(sim, random, 30, 40);
      return [sim.trace, JSON.stringify(sim.counts)];
    };
    const first = run(31);
    expect(run(31)).toEqual(first);
    expect(run(32)[0]).not.toBe(first[0]);
  });
});

describe("routed unicast over learnt routes", { timeout: 120_000 }, () => {
  test("a chain of 20 nodes: a message from one end reaches the other in 19 hops", () => {
    const sim = new MeshSimulator({ seed: 41, nodes: 20, protocol: "tree", topology: "chain", manage: false });
    for (let i = 0; i < 20; i++) sim.broadcast(i);
    sim.run(10_000);
    const result = sim.unicast(0, 19);
    const back = sim.unicast(19, 0);
    sim.run(5_000);
    expect(result).toEqual({ delivered: true, hops: 19 });
    expect(back).toEqual({ delivered: true, hops: 19 });
  });

  test("100 nodes: unicasts between random pairs all arrive; to a killed node they stop where the route ends, without looping", () => {
    const { sim, random } = formedMesh({ seed: 42 });
    // Routes come from broadcasts; each node's periodic presence broadcast keeps one to it everywhere (here, one round of them).
    for (let i = 0; i < NODES; i++) sim.queue.after(i * 20, () => sim.broadcast(i));
    sim.run(5_000);
    const results = Array.from({ length: 300 }, () => {
      const from = random.int(NODES);
      let to = random.int(NODES);
      if (to === from) to = (to + 1) % NODES;
      return sim.unicast(from, to);
    });
    sim.run(5_000);
    expect(results.filter((r) => !r.delivered)).toEqual([]);
    const hops = results.map((r) => r.hops);
    console.info(`unicast hops: max ${Math.max(...hops)}, mean ${(hops.reduce((a, b) => a + b, 0) / hops.length).toFixed(2)}`);
    expect(Math.max(...hops)).toBeGreaterThanOrEqual(3);

    sim.kill([7]);
    sim.run(5_000);
    sim.resetCounts();
    const lost = Array.from({ length: 20 }, (_, i) => sim.unicast(i === 7 ? 99 : i, 7));
    sim.run(5_000);
    for (const r of lost) {
      expect(r.delivered).toBe(false);
      expect(r.stopped).toMatch(/^(unknown|loop) at n\d{3}$/);
    }
    // Each stopped within the hop limit: no unicast circled the mesh.
    expect(sim.counts.routedTx).toBeLessThan(20 * 16);
  });
});
