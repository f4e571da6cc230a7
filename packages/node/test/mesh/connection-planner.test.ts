import { describe, expect, test } from "vitest";
import { ConnectionPlanner } from "../../src/mesh/index.js";
import { Random } from "../../../../tools/test/random.js";

function planner(seed = 1) {
  const random = new Random(seed);
  return new ConnectionPlanner({ self: "me", lowWater: 4, highWater: 6, baseBackoffMs: 1_000, maxBackoffMs: 16_000, random: () => random.next() });
}

describe("ConnectionPlanner", () => {
  test("below the low water mark it dials learnt members, at most two per round, never one already dialled", () => {
    const p = planner();
    for (let i = 0; i < 10; i++) p.learn(`m${i}`);
    const first = p.plan(0).dial;
    const second = p.plan(0).dial;
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(2);
    expect(new Set([...first, ...second]).size).toBe(4);
    // Four dials under way: the low mark is covered.
    expect(p.plan(0).dial).toEqual([]);
  });

  test("a lost peer is redialled after an exponential, jittered backoff, capped", () => {
    const p = planner(3);
    p.learn("m");
    const waits: number[] = [];
    let now = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      p.disconnected("m", now);
      const from = now;
      while (!p.plan(now).dial.includes("m")) now += 10;
      waits.push(now - from);
    }
    waits.forEach((wait, attempt) => {
      const nominal = Math.min(16_000, 1_000 * 2 ** attempt);
      expect(wait).toBeGreaterThanOrEqual(nominal * 0.5);
      expect(wait).toBeLessThanOrEqual(nominal * 1.5 + 10);
    });
    // Connected again: the backoff starts over.
    p.connected("m", now);
    p.disconnected("m", now);
    const from = now;
    while (!p.plan(now).dial.includes("m")) now += 10;
    expect(now - from).toBeLessThanOrEqual(1_510);
  });

  test("above the high water mark the youngest links are closed first", () => {
    const p = planner();
    for (let i = 0; i < 9; i++) p.connected(`m${i}`, i * 100);
    expect(p.plan(1_000).trim.sort()).toEqual(["m6", "m7", "m8"]);
  });

  test("above the high water mark the most crowded host loses its youngest links first; links that may not be closed stay", () => {
    const random = new Random(1);
    const host = (peer: string): string => (peer.startsWith("s") ? "same-host" : peer);
    const p = new ConnectionPlanner({ self: "me", lowWater: 2, highWater: 4, random: () => random.next(), group: host, trimmable: (peer) => peer !== "s3" });
    // Old links to four distinct hosts, young ones from one crowded host.
    for (const [i, peer] of ["a", "b", "c", "d", "s1", "s2", "s3"].entries()) p.connected(peer, i * 100);
    expect(p.plan(1_000).trim.sort()).toEqual(["s1", "s2", "d"].sort());
  });

  test("a peer that closed the link on purpose is dialled again only after the longest backoff", () => {
    const p = planner(5);
    p.connected("m", 0);
    p.disconnected("m", 0, true);
    let now = 0;
    while (!p.plan(now).dial.includes("m")) now += 100;
    expect(now).toBeGreaterThanOrEqual(8_000);
  });

  test("a full planner forgets idle members, never connected ones", () => {
    const random = new Random(2);
    const p = new ConnectionPlanner({ self: "me", maxKnown: 4, random: () => random.next() });
    p.connected("c1", 0);
    p.connected("c2", 0);
    for (let i = 0; i < 100; i++) p.learn(`fake${i}`);
    expect(p.connectedCount).toBe(2);
    expect(p.knows("c1") && p.knows("c2") && p.knows("fake99")).toBe(true);
  });

  test("the jitter spreads the redials of many nodes that lost the same peer", () => {
    const times = Array.from({ length: 50 }, (_, seed) => {
      const p = planner(seed + 10);
      p.learn("popular");
      p.disconnected("popular", 0);
      let now = 0;
      while (!p.plan(now).dial.includes("popular")) now += 10;
      return now;
    });
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(500);
  });
});
