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
  | { readonly wait: number; readonly op: "dialback"; readonly how: "via" | "asked" | "relay"; readonly host: number; readonly ok: boolean; readonly back: number; readonly horizon: number }
  | { readonly wait: number; readonly op: "forget" | "idle" }
  | { readonly wait: number; readonly op: "relay" | "mapped"; readonly on: boolean };

/**
 * The rule as the README says it, computed from the whole history at once:
 * among the dial-backs learnt after the last `forget` and not timed before
 * it, each observer's result with the latest time (the later one learnt on a
 * tie) is its evidence; it counts while younger than the maximum age. With
 * `need` counting successes the node is reached, whatever the failures;
 * with fewer, `need` counting failures make it not reached; with neither,
 * `unknown`. Fresh evidence is wanted with no verdict, or when the
 * `need`-th newest result of the verdict's side ages out within the horizon.
 */
function expected(history: readonly { observer: string; ok: boolean; at: number; forgetAt?: number }[], now: number, need: number, maxAge: number, mapped: boolean, relayed: boolean, horizon: number): { kind: ReachabilityKind; ok: number; failed: number; wants: boolean } {
  const lastForget = history.findLastIndex((h) => h.forgetAt !== undefined);
  const since = lastForget < 0 ? -Infinity : history[lastForget]!.forgetAt!;
  const newest = new Map<string, { ok: boolean; at: number }>();
  for (const h of history.slice(lastForget + 1)) {
    if (h.at < since) continue;
    const known = newest.get(h.observer);
    if (known === undefined || h.at >= known.at) newest.set(h.observer, h);
  }
  const counting = [...newest.values()].filter((e) => now - e.at < maxAge);
  const successes = counting.filter((e) => e.ok).map((e) => e.at).sort((x, y) => y - x);
  const failures = counting.filter((e) => !e.ok).map((e) => e.at).sort((x, y) => y - x);
  const reached = successes.length >= need;
  const notReached = !reached && failures.length >= need;
  const kind: ReachabilityKind =
    reached ? (mapped ? "port-mapped" : "public")
    : notReached ? (relayed ? "relayed-only" : "behind-nat")
    : "unknown";
  const until = reached ? successes[need - 1]! + maxAge : notReached ? failures[need - 1]! + maxAge : -Infinity;
  return { kind, ok: successes.length, failed: failures.length, wants: kind === "unknown" || until - now <= horizon };
}

describe("Reachability: evidence ages", () => {
  it("the verdict after any sequence of timed dial-backs, forgets, relays and mappings is the rule's, and `change` fires once per move", () => {
    const maxAge = 1000;
    // Times in steps of 100 ms, so that results at the same time, and at exactly the maximum age, come up often.
    const ms = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: max / 100 }).map((n) => n * 100);
    const step: fc.Arbitrary<Step> = fc.oneof(
      // A few hosts, each both a helper (`via:`) and an asked peer (`asked:`), and relays' own dial-backs (`relay:`).
      { weight: 4, arbitrary: fc.record({ wait: fc.oneof(fc.constant(0), ms(600)), op: fc.constant("dialback" as const), how: fc.constantFrom("via" as const, "asked" as const, "relay" as const), host: fc.integer({ min: 0, max: 4 }), ok: fc.boolean(), back: fc.oneof(fc.constant(0), ms(1500)), horizon: fc.oneof(fc.constant(0), ms(1000)) }) },
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
        const history: { observer: string; ok: boolean; at: number; forgetAt?: number }[] = [];
        let mapped = false;
        let relayed = false;
        const kinds: ReachabilityKind[] = ["unknown"];
        let horizon = 0;
        for (const s of steps) {
          now += s.wait;
          if (s.op === "dialback") {
            horizon = s.horizon;
            // As a node records them: a peer's success by its helper's host, its failure by the peer's own host; a
            // relay's either way by the relay's host.
            const how = s.how === "relay" ? "relay" : s.ok ? "via" : "asked";
            const observer = `${how}:198.18.0.${s.host}`;
            history.push({ observer, ok: s.ok, at: now - s.back });
            r.dialback(observer, s.ok, now - s.back);
          } else if (s.op === "forget") {
            history.push({ observer: "", ok: false, at: now, forgetAt: now });
            r.forget();
          } else if (s.op === "idle") {
            // Evidence that aged out moves the verdict at a look, never at a read.
            r.refresh();
          } else if (s.op === "relay") {
            relayed = s.on;
            r.relay("relay://198.18.0.1:4100/p/me", s.on);
          } else if (s.op === "mapped") {
            mapped = s.on;
            r.mapped(s.on ? "198.18.0.11:7337" : undefined);
          }
          const want = expected(history, now, need, maxAge, mapped, relayed, horizon);
          expect(r.kind).toBe(want.kind);
          expect(r.status()).toMatchObject({ kind: want.kind, dialbacksOk: want.ok, dialbacksFailed: want.failed });
          expect(r.wantsEvidence(horizon)).toBe(want.wants);
          if (want.kind !== kinds.at(-1)) kinds.push(want.kind);
        }
        expect(["unknown", ...moves]).toEqual(kinds);
      }),
      { numRuns: 500 },
    );
  });

  it("a node public, then no longer reached: failures change nothing while two successes count; it turns behind-nat when they age out, never unknown on the way", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    const moves: ReachabilityKind[] = [];
    r.events.on("change", (s) => void moves.push(s.kind));
    r.dialback("via:c", true);
    now += 10_000;
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
    for (const peer of ["asked:r1", "asked:r2", "asked:r3"]) {
      now += 10_000;
      r.dialback(peer, false);
      expect(r.kind).toBe("public");
    }
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 3 });
    // c's success ages out at 60 s: one success, three failures.
    now = 60_000;
    r.refresh();
    expect(r.status()).toMatchObject({ kind: "behind-nat", dialbacksOk: 1, dialbacksFailed: 3 });
    // and back: a second witnessed success while one still counts
    now += 1000;
    r.dialback("via:e", true);
    expect(r.kind).toBe("public");
    expect(moves).toEqual(["public", "behind-nat", "public"]);
  });

  it("failures from any number of hosts, through any helpers, cannot flip a public node while its successes count; they only make it ask for renewal when those would age out", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    const moves: ReachabilityKind[] = [];
    r.events.on("change", (s) => void moves.push(s.kind));
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      r.dialback(`asked:evil${i}`, false);
      expect(r.kind).toBe("public");
    }
    // The failures do not make it want evidence sooner: only the successes' age does.
    expect(r.wantsEvidence(49_000)).toBe(false);
    expect(r.wantsEvidence(50_000)).toBe(true);
    now += 40_000;
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    now += 59_999;
    expect(r.kind).toBe("public");
    expect(moves).toEqual(["public"]);
    // A host that is both a helper and an asked peer counts once on each side, and its failure takes nothing from its success.
    const both = new Reachability();
    both.dialback("via:198.18.0.1", true);
    both.dialback("asked:198.18.0.1", false);
    both.dialback("via:198.18.0.2", true);
    expect(both.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 1 });
  });

  it("a node with no witnessed success is not reached on minConfirmations failures from distinct asked hosts", () => {
    const r = new Reachability();
    r.dialback("asked:r1", false);
    r.dialback("asked:r1", false);
    expect(r.kind).toBe("unknown");
    r.dialback("via:c", true);
    r.dialback("asked:r2", false);
    expect(r.status()).toMatchObject({ kind: "behind-nat", dialbacksOk: 1, dialbacksFailed: 2 });
  });

  it("standalone, evidence does not age by default (nothing re-checks outside a Playground)", () => {
    let now = 0;
    const r = new Reachability({ now: () => now });
    r.dialback("a", true);
    r.dialback("b", true);
    now += 365 * 24 * 3600_000;
    r.refresh();
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2 });
  });

  it("reading the verdict fires no `change`: a look (`refresh`) does, once", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.dialback("a", true);
    r.dialback("b", true);
    const moves: ReachabilityKind[] = [];
    r.events.on("change", (s) => void moves.push(s.kind));
    now += 60_000;
    expect(r.kind).toBe("unknown");
    expect(r.status().kind).toBe("unknown");
    expect(moves).toEqual([]);
    r.refresh();
    r.refresh();
    expect(moves).toEqual(["unknown"]);
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

  it("a node seen at two IPs for good (LAN peers see its private IP, internet peers its public one) keeps its verdict and both IPs as each group reconnects", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    const moves: ReachabilityKind[] = [];
    r.events.on("change", (s) => void moves.push(s.kind));
    r.observe("host:lan1", "10.0.0.5:4000");
    r.observe("host:lan2", "10.0.0.5:4001");
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    now += 1000;
    r.observe("host:net1", "203.0.113.7:5000");
    r.observe("host:net2", "203.0.113.7:5001");
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2 });
    for (let i = 0; i < 3; i++) {
      // Each pair opens a new session and says again what it sees.
      now += 1000;
      r.observe("host:lan1", "10.0.0.5:4100");
      r.observe("host:lan2", "10.0.0.5:4101");
      expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2 });
      now += 1000;
      r.observe("host:net1", "203.0.113.7:5100");
      r.observe("host:net2", "203.0.113.7:5101");
      expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2 });
      expect(r.confirmedIps().sort()).toEqual(["10.0.0.5", "203.0.113.7"]);
    }
    expect(moves).toEqual(["public"]);
  });

  it("two hostile observers naming a made-up IP cannot remove the real IP nor reset the verdict", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.observe("host:a", "198.51.100.1:4000");
    r.observe("host:b", "198.51.100.1:4001");
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
    now += 1000;
    r.observe("host:evil1", "203.0.113.66:1");
    r.observe("host:evil2", "203.0.113.66:2");
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2 });
    // Their IP is confirmed as the real one is (two observers each), but it does not replace it.
    expect(r.confirmedIps()).toEqual(["198.51.100.1", "203.0.113.66"]);
  });
});
