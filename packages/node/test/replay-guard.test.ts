import { describe, expect, it } from "vitest";
import { IDS_PER_MS } from "../src/message-id.js";
import { ReplayGuard, SWEEP_INTERVAL_MS } from "../src/replay-guard.js";

describe("ReplayGuard", () => {
  const now = 1_700_000_000_000;
  const guard = () => new ReplayGuard({ maxAgeMs: 60_000, maxOrigins: 2, window: 4, now: () => now });
  const id = (msAgo: number, n = 0) => (now - msAgo) * IDS_PER_MS + n;

  it("drops an accepted id however many came since, and one outside the time bound", () => {
    const g = guard();
    g.accept("a", id(5000));
    for (let i = 0; i < 10_000; i++) g.accept("a", id(4000, i));
    expect(g.check("a", id(5000))).toBe("replay");
    expect(g.check("a", id(4000, 9999))).toBe("replay");
    expect(g.check("a", id(10))).toBe("fresh");
    expect(g.check("b", id(61_000))).toBe("stale");
    expect(g.check("b", id(-61_000))).toBe("stale");
  });

  it("accepts a reordered id once, within the window", () => {
    const g = guard();
    g.accept("a", id(100));
    g.accept("a", id(50));
    expect(g.check("a", id(70))).toBe("fresh");
    g.accept("a", id(70));
    expect(g.check("a", id(70))).toBe("replay");
    expect(g.check("a", id(60))).toBe("fresh");
  });

  it("forgets origins within a bound, and an origin it forgot cannot be replayed", () => {
    const g = guard();
    g.accept("a", id(300));
    g.accept("b", id(200));
    g.accept("c", id(100)); // forgets "a"
    expect(g.trackedOrigins).toBe(2);
    expect(g.check("a", id(300))).toBe("replay");
    expect(g.check("a", id(10))).toBe("fresh");
  });

  it("sweeps out origins too old to replay, walking its table at most once per interval however many new origins come", () => {
    let t = now;
    const g = new ReplayGuard({ maxAgeMs: 60_000, maxOrigins: 1_000, window: 4, now: () => t });
    const at = (ms: number) => ms * IDS_PER_MS;
    for (let i = 0; i < 1_000; i++) g.accept(`old${i}`, at(t - 59_000));
    t += 1_500; // every origin is now too old to replay
    g.accept("first", at(t));
    expect(g.sweeps).toBe(1);
    expect(g.trackedOrigins).toBe(1); // the sweep freed the whole table
    for (let i = 0; i < 20_000; i++) g.accept(`flood${i}`, at(t)); // a flood of new origins within one interval
    expect(g.trackedOrigins).toBe(1_000);
    expect(g.sweeps).toBe(1); // no walk is due yet: each new origin evicts the oldest added, O(1)
    expect(g.check("flood0", at(t))).toBe("replay"); // an evicted origin's ids stay below the floor
    t += SWEEP_INTERVAL_MS;
    g.accept("later", at(t));
    expect(g.sweeps).toBe(2);
  });
});
