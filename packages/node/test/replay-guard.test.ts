import { describe, expect, it } from "vitest";
import { IDS_PER_MS } from "../src/message-id.js";
import { ReplayGuard } from "../src/replay-guard.js";

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
});
