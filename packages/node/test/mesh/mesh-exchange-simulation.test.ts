import { describe, expect, test } from "vitest";
import { MeshSimulator, type MeshSimOptions } from "./mesh-simulator.js";
import { Random } from "../../../../tools/test/random.js";

/**
 * The broadcast tree, peer exchange, the address book, the dial budget and
 * the connection planner together in a seeded simulation of 100 nodes that
 * learn whom to dial only from peer exchange. Frames are delayed at random
 * (they overtake each other), some are lost (a loss breaks its link, as a
 * dead TCP connection does) and nodes are killed. A failing seed replays:
 * `new MeshSimulator({ seed, learn: "exchange", ... })`.
 */
const NODES = 100;
const LOW = 4;

function exchangeMesh(options: Partial<MeshSimOptions> & { seed: number }): { sim: MeshSimulator; random: Random } {
  const sim = new MeshSimulator({ nodes: NODES, protocol: "tree", learn: "exchange", lowWater: LOW, ...options });
  const random = new Random(options.seed + 7);
  // Links form, exchanges run, planners dial; then traffic lets the tree settle.
  sim.run(40_000);
  for (let i = 0; i < 100; i++) {
    sim.broadcast(random.int(NODES));
    sim.run(300);
  }
  return { sim, random };
}

function broadcasts(sim: MeshSimulator, random: Random, count: number, spacingMs: number): string[] {
  const alive = sim.nodes.map((n, i) => (n.alive ? i : -1)).filter((i) => i >= 0 && !sim.nodes[i]!.id.startsWith("fake"));
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
    expect(counts.filter((c) => c !== 1).length, `seed ${seed}: ${key} reached ${counts.filter((c) => c === 1).length} of ${counts.length} nodes exactly once`).toBe(0);
  }
  expect(sim.counts.duplicateDeliveries).toBe(0);
}

describe("peer exchange and the connection manager in a seeded simulation", { timeout: 120_000 }, () => {
  test.each([51, 52])("seed %i: nodes joined to one or two others reach the low water mark from peer exchange alone; with frames lost and reordered every broadcast still arrives exactly once", (seed) => {
    const { sim, random } = exchangeMesh({ seed, drop: 0.001, maxDelayMs: 150 });
    // Losses keep breaking links (each loss breaks its link), so at any moment a few nodes are redialling: most are at the mark.
    const below = sim.alive().filter((n) => n.neighbors.size < LOW);
    expect(below.length, `seed ${seed}: ${below.map((n) => `${n.id}:${n.neighbors.size}`).join(" ")}`).toBeLessThanOrEqual(5);
    expect(sim.meanDegree()).toBeGreaterThanOrEqual(LOW);
    sim.resetCounts();
    const keys = broadcasts(sim, random, 200, 50);
    sim.run(20_000);
    expectExactlyOnce(sim, keys, seed);
    console.info(`seed ${seed}: ${(sim.counts.payloadTx / sim.counts.deliveries).toFixed(3)} transmissions per delivery, mean degree ${sim.meanDegree().toFixed(2)}, ${sim.counts.linkBreaks} links broken`);
  });

  test.each([53, 54])("seed %i: after 20 of 100 nodes are killed at once, broadcasts reach every survivor exactly once and every survivor is back at the low water mark", (seed) => {
    const { sim, random } = exchangeMesh({ seed });
    const victims = random.shuffle([...Array(NODES).keys()]).slice(0, NODES / 5);
    sim.kill(victims);
    sim.resetCounts();
    const during = broadcasts(sim, random, 20, 50);
    sim.run(60_000);
    const after = broadcasts(sim, random, 100, 50);
    expectExactlyOnce(sim, [...during, ...after], seed);
    for (const node of sim.alive()) expect(node.neighbors.size, `seed ${seed}: ${node.id}`).toBeGreaterThanOrEqual(LOW);
    sim.resetCounts();
    const healed = broadcasts(sim, random, 100, 50);
    expectExactlyOnce(sim, healed, seed);
    expect(sim.counts.payloadTx / sim.counts.deliveries).toBeLessThanOrEqual(1.5);
  });

  test("two liars advertising thousands of made-up peers at a victim's address: address books stay bounded, each node dials the victim within its budget, the honest mesh keeps delivering", () => {
    const seed = 55;
    const sim = new MeshSimulator({ seed, nodes: NODES, protocol: "tree", learn: "exchange", lowWater: LOW, liars: [3, 40], exchangeEveryMs: 5_000 });
    const random = new Random(seed);
    // Ten minutes of simulated time: the liars send 32 new made-up peers to every neighbour every 5 s.
    for (let minute = 0; minute < 10; minute++) sim.run(60_000);
    for (const node of sim.alive()) {
      expect(node.book.size).toBeLessThanOrEqual(1024);
    }
    // Per node at most 30 dials to the victim's host a minute (the per-host budget), 3 per address.
    const perNodePerMinute = sim.counts.victimDials / NODES / 10;
    console.info(`victim dials: ${sim.counts.victimDials} in 10 minutes by 100 nodes (${perNodePerMinute.toFixed(2)} per node a minute); budget refused ${sim.counts.budgetRefused}`);
    expect(perNodePerMinute).toBeLessThanOrEqual(30);
    expect(sim.counts.budgetRefused).toBeGreaterThan(0);
    const keys = broadcasts(sim, random, 50, 50);
    expectExactlyOnce(sim, keys, seed);
  });

  test("a run replays exactly from its seed, and another seed runs differently", () => {
    const run = (seed: number): [number, string] => {
      const { sim, random } = exchangeMesh({ seed, drop: 0.001, maxDelayMs: 150, liars: [5] });
      sim.kill(random.shuffle([...Array(NODES).keys()]).slice(0, 10));
      broadcasts(sim, random, 30, 40);
      return [sim.trace, JSON.stringify(sim.counts)];
    };
    const first = run(61);
    expect(run(61)).toEqual(first);
    expect(run(62)[0]).not.toBe(first[0]);
  });
});
