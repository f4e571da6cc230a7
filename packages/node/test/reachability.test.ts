import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Reachability, type ReachabilityKind } from "../src/reachability.js";

describe("Reachability", () => {
  it("needs two observers to agree before it says public, and reports each change once", () => {
    const r = new Reachability();
    const changes: [ReachabilityKind, ReachabilityKind][] = [];
    r.events.on("change", (s, previous) => void changes.push([previous, s.kind]));
    r.observe("relay-a", "198.18.0.3:4000");
    r.dialback("relay-a", true);
    expect(r.kind).toBe("unknown"); // one peer's word is not enough
    r.dialback("relay-a", true); // the same observer again counts once
    expect(r.kind).toBe("unknown");
    r.observe("relay-b", "198.18.0.3:4000");
    r.dialback("relay-b", true);
    expect(r.kind).toBe("public");
    expect(r.status()).toMatchObject({ observed: ["198.18.0.3:4000"], dialbacksOk: 2, dialbacksFailed: 0 });
    expect(changes).toEqual([["unknown", "public"]]);
  });

  it("behind a NAT: failed dial-backs from two observers; relayed once a reservation is held", () => {
    const r = new Reachability();
    r.dialback("a", false);
    expect(r.kind).toBe("unknown");
    r.dialback("b", false);
    expect(r.kind).toBe("behind-nat");
    r.relay("relay://198.18.0.1:4100/p/me", true);
    expect(r.kind).toBe("relayed-only");
    r.relay("relay://198.18.0.1:4100/p/me", false);
    expect(r.kind).toBe("behind-nat");
  });

  it("a mapped port confirmed by dial-backs is port-mapped; a forged observation changes nothing alone", () => {
    const r = new Reachability();
    r.mapped("198.18.0.11:7337");
    r.observe("liar", "203.0.113.66:1");
    expect(r.kind).toBe("unknown");
    r.dialback("a", true);
    r.dialback("b", true);
    expect(r.kind).toBe("port-mapped");
  });

  it("remembers a bounded number of observers", () => {
    const r = new Reachability();
    for (let i = 0; i < 1000; i++) r.dialback(`o${i}`, i % 2 === 0);
    const s = r.status();
    expect(s.dialbacksOk + s.dialbacksFailed).toBe(64);
  });
});

/** One step of a run: time moves on by `wait` ms, then something is learnt (or nothing). */
type Step =
  | { readonly wait: number; readonly op: "dialback"; readonly observer: number; readonly ok: boolean; readonly back: number }
  | { readonly wait: number; readonly op: "forget" | "idle" }
  | { readonly wait: number; readonly op: "relay" | "mapped"; readonly on: boolean };

/**
 * The aging rule as the README says it, computed from the whole history at
 * once: among the dial-backs learnt after the last `forget` and not timed
 * before it, each observer's result with the latest time (the later one
 * learnt on a tie) is its evidence; it counts while younger than the maximum
 * age. A side is confirmed at the latest time T that `need` of its counting
 * results are at or after; the side confirmed later wins, a tie goes to "not
 * reached", and neither confirmed is `unknown`.
 */
function expected(history: readonly { observer: number; ok: boolean; at: number; forgetAt?: number }[], now: number, need: number, maxAge: number, mapped: boolean, relayed: boolean): { kind: ReachabilityKind; ok: number; failed: number } {
  const lastForget = history.findLastIndex((h) => h.forgetAt !== undefined);
  const since = lastForget < 0 ? -Infinity : history[lastForget]!.forgetAt!;
  const newest = new Map<number, { ok: boolean; at: number }>();
  for (const h of history.slice(lastForget + 1)) {
    if (h.at < since) continue;
    const known = newest.get(h.observer);
    if (known === undefined || h.at >= known.at) newest.set(h.observer, h);
  }
  const counting = [...newest.values()].filter((e) => now - e.at < maxAge);
  const confirmedAt = (ok: boolean): number => {
    const times = counting.filter((e) => e.ok === ok).map((e) => e.at);
    const ts = times.filter((t) => times.filter((u) => u >= t).length >= need);
    return ts.length === 0 ? -Infinity : Math.max(...ts);
  };
  const okAt = confirmedAt(true);
  const failedAt = confirmedAt(false);
  const kind: ReachabilityKind =
    okAt === -Infinity && failedAt === -Infinity ? "unknown"
    : okAt > failedAt ? (mapped ? "port-mapped" : "public")
    : relayed ? "relayed-only"
    : "behind-nat";
  return { kind, ok: counting.filter((e) => e.ok).length, failed: counting.filter((e) => !e.ok).length };
}

describe("Reachability: evidence ages", () => {
  it("the verdict after any sequence of timed dial-backs, forgets, relays and mappings is the rule's, and `change` fires once per move", () => {
    const maxAge = 1000;
    // Times in steps of 100 ms, so that results at the same time, and at exactly the maximum age, come up often.
    const ms = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: max / 100 }).map((n) => n * 100);
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ wait: fc.oneof(fc.constant(0), ms(600)), op: fc.constant("dialback" as const), observer: fc.integer({ min: 0, max: 5 }), ok: fc.boolean(), back: fc.oneof(fc.constant(0), ms(1500)) }) },
      { weight: 1, arbitrary: fc.record({ wait: ms(1500), op: fc.constantFrom("forget" as const, "idle" as const) }) },
      { weight: 1, arbitrary: fc.record({ wait: ms(300), op: fc.constantFrom("relay" as const, "mapped" as const), on: fc.boolean() }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 60 }), (need, steps) => {
        let now = 5000;
        const r = new Reachability({ minConfirmations: need, evidenceMaxAgeMs: maxAge, now: () => now });
        const moves: ReachabilityKind[] = [];
        r.events.on("change", (s, previous) => {
          expect(previous).toBe(moves.at(-1) ?? "unknown");
          moves.push(s.kind);
        });
        const history: { observer: number; ok: boolean; at: number; forgetAt?: number }[] = [];
        let mapped = false;
        let relayed = false;
        const kinds: ReachabilityKind[] = ["unknown"];
        for (const s of steps) {
          now += s.wait;
          if (s.op === "dialback") {
            history.push({ observer: s.observer, ok: s.ok, at: now - s.back });
            r.dialback(`o${s.observer}`, s.ok, now - s.back);
          } else if (s.op === "forget") {
            history.push({ observer: -1, ok: false, at: now, forgetAt: now });
            r.forget();
          } else if (s.op === "relay") {
            relayed = s.on;
            r.relay("relay://198.18.0.1:4100/p/me", s.on);
          } else if (s.op === "mapped") {
            mapped = s.on;
            r.mapped(s.on ? "198.18.0.11:7337" : undefined);
          }
          const want = expected(history, now, need, maxAge, mapped, relayed);
          expect(r.kind).toBe(want.kind);
          expect(r.status()).toMatchObject({ kind: want.kind, dialbacksOk: want.ok, dialbacksFailed: want.failed });
          if (want.kind !== kinds.at(-1)) kinds.push(want.kind);
        }
        expect(["unknown", ...moves]).toEqual(kinds);
      }),
      { numRuns: 300 },
    );
  });

  it("a node public, then no longer reached: the failures win once two observers confirm them, while the older successes still count", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
    now += 10_000;
    r.dialback("asked:r1", false);
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 1 });
    now += 10_000;
    r.dialback("asked:r2", false);
    expect(r.status()).toMatchObject({ kind: "behind-nat", dialbacksOk: 2, dialbacksFailed: 2 });
    // and back: two later successes win again
    now += 10_000;
    r.dialback("via:c", true);
    expect(r.kind).toBe("behind-nat");
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
  });

  it("evidence older than the maximum age stops counting: the verdict falls back to unknown", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.dialback("a", true);
    now += 30_000;
    r.dialback("b", true);
    expect(r.kind).toBe("public");
    now += 29_999;
    expect(r.kind).toBe("public");
    now += 1;
    expect(r.status()).toMatchObject({ kind: "unknown", dialbacksOk: 1 });
  });

  it("a new public IP confirmed by two observers outdates the dial-backs and the observations of the old one", () => {
    let now = 0;
    const r = new Reachability({ now: () => now });
    r.observe("host:a", "198.51.100.1:4000");
    r.observe("host:b", "198.51.100.1:4001");
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
    now += 1000;
    // One observer's word changes nothing.
    r.observe("host:e", "203.0.113.9:5000");
    expect(r.kind).toBe("public");
    r.observe("host:f", "203.0.113.9:5001");
    expect(r.status()).toMatchObject({ kind: "unknown", dialbacksOk: 0, observed: ["203.0.113.9:5000", "203.0.113.9:5001"] });
    expect(r.confirmedIps()).toEqual(["203.0.113.9"]);
    // A result of an ask made before the move does not count either.
    r.dialback("via:c", true, now - 1);
    expect(r.status().dialbacksOk).toBe(0);
  });
});
