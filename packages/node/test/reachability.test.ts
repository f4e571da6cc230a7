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
  | { readonly wait: number; readonly op: "dialback"; readonly asked: number; readonly helper: number; readonly ok: boolean; readonly back: number; readonly horizon: number }
  | { readonly wait: number; readonly op: "forget" | "idle" }
  | { readonly wait: number; readonly op: "relay" | "mapped"; readonly on: boolean };

/**
 * The aging rule as the README says it, computed from the whole history at
 * once: among the dial-backs learnt after the last `forget` and not timed
 * before it, each observer's result with the latest time (the later one
 * learnt on a tie) is its evidence; it counts while younger than the maximum
 * age. Failures are a peer's word, successes are witnessed: with `need`
 * counting successes, the node is not reached only when its counting
 * failures at or after its newest success come from `need + 1` observers and
 * `need + 1` distinct helpers; with fewer, `need` counting failures from
 * `need` distinct helpers make it not reached; otherwise `need` successes
 * make it reached, and neither is `unknown`. While reached, the failures at
 * or after the newest success contest it, and those whose helper no other of
 * them names are `contesting()`. Fresh evidence is wanted with no verdict,
 * when the newest result disagrees with it, or when the verdict's evidence
 * stops being enough within the horizon. Keys as a node makes them: a
 * success is `via:<helper>`, a failure `asked:<peer>` through `via:<helper>`.
 */
function expected(history: readonly { observer: string; helper: string; ok: boolean; at: number; forgetAt?: number }[], now: number, need: number, maxAge: number, mapped: boolean, relayed: boolean, horizon: number): { kind: ReachabilityKind; ok: number; failed: number; contesting: string[]; wants: boolean } {
  const lastForget = history.findLastIndex((h) => h.forgetAt !== undefined);
  const since = lastForget < 0 ? -Infinity : history[lastForget]!.forgetAt!;
  // Each observer's newest, with the order it was last learnt in (a tie of times goes to the later learnt).
  const newest = new Map<string, { observer: string; helper: string; ok: boolean; at: number; learnt: number }>();
  history.slice(lastForget + 1).forEach((h, learnt) => {
    if (h.at < since) return;
    const known = newest.get(h.observer);
    if (known === undefined || h.at >= known.at) newest.set(h.observer, { ...h, learnt });
  });
  const counting = [...newest.values()].filter((e) => now - e.at < maxAge);
  const successes = counting.filter((e) => e.ok).map((e) => e.at).sort((x, y) => y - x);
  const failures = counting.filter((e) => !e.ok);
  const confirmed = successes.length >= need;
  const newestSuccess = Math.max(-Infinity, ...successes);
  const n = confirmed ? need + 1 : need;
  const enough = (xs: typeof failures): boolean => xs.length >= n && new Set(xs.map((e) => e.helper)).size >= n;
  // The latest time at or after which the failures are enough (every failure time is a candidate).
  const failedSince = Math.max(-Infinity, ...failures.map((e) => e.at).filter((t) => enough(failures.filter((e) => e.at >= t))));
  const notReached = failedSince > -Infinity && (!confirmed || failedSince >= newestSuccess);
  const reached = !notReached && confirmed;
  const kind: ReachabilityKind =
    notReached ? (relayed ? "relayed-only" : "behind-nat")
    : reached ? (mapped ? "port-mapped" : "public")
    : "unknown";
  const against = reached ? failures.filter((e) => e.at >= newestSuccess) : [];
  const contesting = against.filter((e) => against.filter((x) => x.helper === e.helper).length === 1).map((e) => e.observer).sort();
  const last = counting.reduce<(typeof counting)[number] | undefined>((m, e) => (m === undefined || e.at > m.at || (e.at === m.at && e.learnt > m.learnt) ? e : m), undefined);
  const until = notReached ? failedSince + maxAge : reached ? successes[need - 1]! + maxAge : -Infinity;
  const wants = kind === "unknown" || (last !== undefined && last.ok !== reached) || until - now <= horizon;
  return { kind, ok: counting.filter((e) => e.ok).length, failed: failures.length, contesting, wants };
}

describe("Reachability: evidence ages", () => {
  it("the verdict after any sequence of timed dial-backs, forgets, relays and mappings is the rule's, and `change` fires once per move", () => {
    const maxAge = 1000;
    // Times in steps of 100 ms, so that results at the same time, and at exactly the maximum age, come up often.
    const ms = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: max / 100 }).map((n) => n * 100);
    const step: fc.Arbitrary<Step> = fc.oneof(
      // A few peers asked and a few helpers, so that one helper behind several peers' failures comes up often.
      { weight: 4, arbitrary: fc.record({ wait: fc.oneof(fc.constant(0), ms(600)), op: fc.constant("dialback" as const), asked: fc.integer({ min: 0, max: 4 }), helper: fc.integer({ min: 0, max: 3 }), ok: fc.boolean(), back: fc.oneof(fc.constant(0), ms(1500)), horizon: fc.oneof(fc.constant(0), ms(1000)) }) },
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
        const history: { observer: string; helper: string; ok: boolean; at: number; forgetAt?: number }[] = [];
        let mapped = false;
        let relayed = false;
        const kinds: ReachabilityKind[] = ["unknown"];
        let horizon = 0;
        for (const s of steps) {
          now += s.wait;
          if (s.op === "dialback") {
            horizon = s.horizon;
            // As a node records them: a success by the helper's host, a failure by the asked peer's, through its helper.
            const helper = `via:h${s.helper}`;
            const observer = s.ok ? helper : `asked:r${s.asked}`;
            history.push({ observer, helper, ok: s.ok, at: now - s.back });
            if (s.ok) r.dialback(observer, true, now - s.back);
            else r.dialback(observer, false, now - s.back, helper);
          } else if (s.op === "forget") {
            history.push({ observer: "", helper: "", ok: false, at: now, forgetAt: now });
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
          expect([...r.contesting()].sort()).toEqual(want.contesting);
          expect(r.wantsEvidence(horizon)).toBe(want.wants);
          if (want.kind !== kinds.at(-1)) kinds.push(want.kind);
        }
        expect(["unknown", ...moves]).toEqual(kinds);
      }),
      { numRuns: 500 },
    );
  });

  it("a node public, then no longer reached: the failures win once one observer more than a verdict needs reports them after the newest success, while the older successes still count", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    expect(r.kind).toBe("public");
    now += 10_000;
    r.dialback("asked:r1", false);
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 1 });
    expect(r.contesting()).toEqual(["asked:r1"]);
    now += 10_000;
    r.dialback("asked:r2", false);
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 2 });
    now += 10_000;
    r.dialback("asked:r3", false);
    expect(r.status()).toMatchObject({ kind: "behind-nat", dialbacksOk: 2, dialbacksFailed: 3 });
    expect(r.contesting()).toEqual([]);
    // and back: a witnessed success newer than the failures, while two successes count
    now += 10_000;
    r.dialback("via:c", true);
    expect(r.kind).toBe("public");
  });

  it("two hostile hosts' failures cannot flip a public node; one honest helper's success settles the contest", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    const moves: ReachabilityKind[] = [];
    r.events.on("change", (s) => void moves.push(s.kind));
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    now += 1000;
    r.dialback("asked:evil1", false);
    now += 1000;
    r.dialback("asked:evil2", false);
    expect(r.kind).toBe("public");
    expect(r.wantsEvidence(0)).toBe(true);
    expect(r.contesting()).toEqual(["asked:evil2", "asked:evil1"]);
    now += 1000;
    r.dialback("via:c", true);
    expect(r.contesting()).toEqual([]);
    expect(r.wantsEvidence(1000)).toBe(false);
    // The hostile pair answering again after it adds no third observer.
    now += 1000;
    r.dialback("asked:evil1", false);
    r.dialback("asked:evil2", false);
    expect(r.kind).toBe("public");
    expect(moves).toEqual(["public"]);
  });

  it("one helper behind several peers' failures is one word: a public node flips only with failures through one helper more than a verdict needs, and the peers that passed on a shared helper's failure are not contesting", () => {
    let now = 0;
    const r = new Reachability({ evidenceMaxAgeMs: 60_000, now: () => now });
    r.dialback("via:c", true);
    r.dialback("via:d", true);
    now += 1000;
    // Three honest peers each had the same hostile helper e dial: three asked hosts, one helper.
    for (const peer of ["asked:r1", "asked:r2", "asked:r3"]) r.dialback(peer, false, now, "via:e");
    expect(r.status()).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 3 });
    // e is the suspect, not the r's: each, asked again, has another helper dial.
    expect(r.contesting()).toEqual([]);
    expect(r.wantsEvidence(0)).toBe(true);
    now += 1000;
    r.dialback("asked:r1", false, now, "via:f");
    expect(r.kind).toBe("public");
    // r1's failure through f is its own word alone: asking r1 again adds no new witness.
    expect(r.contesting()).toEqual(["asked:r1"]);
    now += 1000;
    r.dialback("asked:r2", false, now, "via:g");
    expect(r.kind).toBe("behind-nat");
    // Without confirmed successes, minConfirmations failures through as many helpers.
    const plain = new Reachability();
    plain.dialback("asked:r1", false, 0, "via:e");
    plain.dialback("asked:r2", false, 0, "via:e");
    expect(plain.kind).toBe("unknown");
    plain.dialback("asked:r3", false, 0, "via:f");
    expect(plain.kind).toBe("behind-nat");
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
