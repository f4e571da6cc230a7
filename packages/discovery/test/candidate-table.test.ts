import { describe, expect, it } from "vitest";
import { CandidateTable, type CandidateLimits } from "../src/candidate-table.js";

const LIMITS: CandidateLimits = { maxCandidates: 8, maxPerHost: 3, backoffMs: 1_000, maxBackoffMs: 4_000, offersPerSecond: 100 };
const id = (i: number): string => `xp1${String(i).padStart(52, "a")}`;

describe("CandidateTable", () => {
  it("offers a candidate when first seen, then at most once per backoff period, the period doubling", () => {
    const t = new CandidateTable(LIMITS, 0);
    const offers: number[] = [];
    // The same announcement every 100 ms for 10 s: offered at 0, 1 s, 3 s, 7 s (backoff 1, 2, 4, 4 s).
    for (let now = 0; now <= 10_000; now += 100) if (t.seen(id(1), "198.18.5.9", 7000, 120_000, now).offer !== undefined) offers.push(now);
    expect(offers).toEqual([0, 1_000, 3_000, 7_000]);
  });

  it("keeps at most maxPerHost from one address: a flood from one host only churns its own slots", () => {
    const t = new CandidateTable(LIMITS, 0);
    t.seen(id(1), "198.18.5.1", 7000, 120_000, 0);
    t.seen(id(2), "198.18.5.2", 7000, 120_000, 0);
    for (let i = 100; i < 2_100; i++) t.seen(id(i), "198.18.5.66", 7000, 120_000, i);
    expect(t.size).toBe(5);
    expect(t.list().filter((c) => c.host === "198.18.5.66")).toHaveLength(3);
    expect(t.list().map((c) => c.peerId)).toEqual(expect.arrayContaining([id(1), id(2)]));
  });

  it("keeps at most maxCandidates in all, evicting the least recently seen", () => {
    const t = new CandidateTable(LIMITS, 0);
    for (let i = 0; i < 20; i++) {
      const { evicted } = t.seen(id(i), `198.18.5.${i + 1}`, 7000, 120_000, i);
      if (i >= 8) expect(evicted.map((c) => c.peerId)).toEqual([id(i - 8)]);
    }
    expect(t.size).toBe(8);
  });

  it("draws every offer from one token bucket", () => {
    const t = new CandidateTable({ ...LIMITS, maxCandidates: 1000, maxPerHost: 1000, offersPerSecond: 5 }, 0);
    let offered = 0;
    for (let i = 0; i < 500; i++) if (t.seen(id(i), "198.18.5.66", 7000, 120_000, 0).offer !== undefined) offered++;
    expect(offered).toBe(5);
    expect(t.throttled).toBe(495);
  });

  it("takes a goodbye only from the host that announced the candidate", () => {
    const t = new CandidateTable(LIMITS, 0);
    t.seen(id(1), "198.18.5.1", 7000, 120_000, 0);
    expect(t.goodbye(id(1), "198.18.5.66", 7000)).toBeUndefined();
    expect(t.size).toBe(1);
    expect(t.goodbye(id(1), "198.18.5.1", 7000)?.peerId).toBe(id(1));
    expect(t.size).toBe(0);
  });

  it("expires a candidate when its TTL runs out", () => {
    const t = new CandidateTable(LIMITS, 0);
    t.seen(id(1), "198.18.5.1", 7000, 5_000, 0);
    t.seen(id(2), "198.18.5.2", 7000, 50_000, 0);
    expect(t.expire(4_999)).toEqual([]);
    expect(t.expire(5_000).map((c) => c.peerId)).toEqual([id(1)]);
    expect(t.list().map((c) => c.peerId)).toEqual([id(2)]);
  });

  it("keeps a name collision (one peer id announced from two hosts) as two candidates: the handshake decides", () => {
    const t = new CandidateTable(LIMITS, 0);
    expect(t.seen(id(1), "198.18.5.1", 7000, 120_000, 0).offer?.host).toBe("198.18.5.1");
    expect(t.seen(id(1), "198.18.5.66", 7000, 120_000, 0).offer?.host).toBe("198.18.5.66");
    expect(t.list().map((c) => c.host)).toEqual(["198.18.5.1", "198.18.5.66"]);
  });
});
