// A standing verdict is checked again, between real nodes on loopback TCP
// (each on its own 127.0.0.x address). As in reach-dialback.test.ts, the
// reach room's 5 s tick is also run by hand (the callback it gives
// setInterval at start), and the packages' monotonic clock (`now()` of
// @xppg/errors) and the wall clock (helpers' per-minute budgets) are the
// real ones moved ahead by `clock.skip`: minutes of re-check periods pass
// at once, and the clocks never go back.
import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const clock = vi.hoisted(() => ({ skip: 0 }));
vi.mock("@xppg/errors", async (importOriginal) => {
  const real = await importOriginal<typeof import("@xppg/errors")>();
  return { ...real, now: () => real.now() + clock.skip };
});

import { Playground, type PlaygroundOptions } from "../src/index.js";
import { PeerSession } from "../src/peer-session.js";
import { Dialbacks } from "../src/reach-dialback.js";
import { ASK_WINDOW_MS, MAX_ASKS, ReachRoom } from "../src/reach-room.js";
import { REACH_KIND } from "../src/reach-wire.js";
import { RelayService } from "../src/relay-service.js";
import type { ReachabilityKind } from "../src/reachability.js";
import { TransportSet } from "../src/transport-set.js";
import { roundTrip, stopNodesAfterEach, track, until } from "./helpers.js";
import { QUIET, type ReachSpies, send, spyOnReach, TICK_MS } from "./fixtures/reach-spies.js";

stopNodesAfterEach();

// The shortest re-check the options take (the ask budget's 12 asks per 15 min), and evidence that lasts four of them.
const RECHECK_MS = 75_000;
const MAX_AGE_MS = 4 * RECHECK_MS;

interface Node {
  readonly pg: Playground;
  readonly room: ReachRoom;
  tick(): void;
  /** The room's real 5 s interval (the tests run its tick by hand; one that must not see it run clears it). */
  readonly interval: ReturnType<typeof setInterval>;
}

let spies: ReachSpies;

beforeEach(() => {
  spies = spyOnReach();
  const wall = Date.now.bind(Date);
  vi.spyOn(Date, "now").mockImplementation(() => wall() + clock.skip);
  // Which peer a node asks, and which helper a peer draws, come from Math.random: a fixed sequence (mulberry32 from one
  // seed) makes each test draw the same peers run after run, where the hostile-hosts test failed about one run in a
  // hundred on the draws alone (too few asks reached the honest peers within one evidence age).
  let state = 0x2545f491;
  vi.spyOn(Math, "random").mockImplementation(() => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
});
afterEach(() => void vi.restoreAllMocks());

async function tcpNode(host: string, options: PlaygroundOptions = {}): Promise<Node> {
  const pg = track(new Playground("test-app", { listen: [`tcp://${host}:0`], ...QUIET, ...options }));
  const from = spies.every.mock.calls.length;
  await pg.start();
  const room = spies.start.mock.contexts.at(-1) as ReachRoom;
  const ticks = spies.every.mock.calls.map((call, i) => ({ call, i })).slice(from).filter(({ call: [, ms] }) => ms === TICK_MS);
  expect(ticks).toHaveLength(1);
  return { pg, room, tick: ticks[0]!.call[0], interval: spies.every.mock.results[ticks[0]!.i]!.value as ReturnType<typeof setInterval> };
}

function roomOf(session: PeerSession): ReachRoom | undefined {
  const i = spies.opened.mock.calls.findIndex(([s]) => s === session);
  return i < 0 ? undefined : (spies.opened.mock.contexts[i] as ReachRoom);
}

/**
 * Dial-back asks `from` sent anyone: those naming its TCP port (by the payload, not by the session's room: a session
 * a peer opened to it through another one's introduction may not be among those the test saw open).
 */
function asks(from: Node): number {
  const port = Number(from.pg.addresses[0]!.slice(from.pg.addresses[0]!.lastIndexOf(":") + 1));
  return spies.sent.mock.calls.filter(([kind, payload]) => kind === REACH_KIND.DIALBACK && (payload as { port: number }).port === port).length;
}

/** Every ask `from` sent has its answer. */
function settled(from: Node): boolean {
  const answers = spies.handle.mock.calls.filter(([, kind], i) => kind === REACH_KIND.DIALBACK_RESULT && spies.handle.mock.contexts[i] === from.room).length;
  return answers >= asks(from);
}

/**
 * a (127.0.0.1) dials r1, r2 and r3, and each has three helpers, c, d and g,
 * that can dial a back (the r's dial them). a becomes public. `kinds` is
 * every verdict a had, in order.
 */
async function publicNode(reach: PlaygroundOptions["reach"] = {}): Promise<{ a: Node; r1: Node; r2: Node; r3: Node; kinds: ReachabilityKind[]; since: number }> {
  // The others decide on one witness, so that they stop asking soon and leave the helpers' budgets to a.
  const one = { minConfirmations: 1 };
  const r1 = await tcpNode("127.0.0.2", { reach: { ...one, serveRelay: true } });
  const r2 = await tcpNode("127.0.0.5", { reach: one });
  const r3 = await tcpNode("127.0.0.6", { reach: one });
  const c = await tcpNode("127.0.0.3", { reach: one });
  const d = await tcpNode("127.0.0.4", { reach: one });
  const g = await tcpNode("127.0.0.7", { reach: one });
  for (const r of [r1, r2, r3]) for (const h of [c, d, g]) await r.pg.join(h.pg.addresses[0]!);
  const a = await tcpNode("127.0.0.1", { reach: { recheckIntervalMs: RECHECK_MS, evidenceMaxAgeMs: MAX_AGE_MS, holePunch: false, ...reach } });
  const kinds: ReachabilityKind[] = ["unknown"];
  a.pg.events.on("reachability:changed", (status) => void kinds.push(status.kind));
  // No dial-back a learns is older than this (in the test's skipped time).
  const since = clock.skip;
  // a dials the r's, so it sees them at their own addresses (a helper a dialled would prove nothing, but c, d and g
  // are not ones).
  await a.pg.join(r1.pg.addresses[0]!);
  await a.pg.join(r2.pg.addresses[0]!);
  await a.pg.join(r3.pg.addresses[0]!);
  await reaches(a, "public");
  // The reservation a made on r1's relay while it was unknown is gone once it is public.
  await until(() => !a.pg.addresses.some((x) => x.startsWith("relay://")), 5000, "a drops its relay reservation");
  return { a, r1, r2, r3, kinds, since };
}

/**
 * Waits for `a`'s answers until its verdict is `kind`. Every link on loopback leaves from 127.0.0.1, so the helpers'
 * per-minute budgets (per asking host) are shared by every node's asks: while they are spent, a minute (and a peer's
 * no-helper back-off) passes, and the tick runs. Returns the time that was made to pass.
 */
async function reaches(a: Node, kind: ReachabilityKind): Promise<number> {
  let skipped = 0;
  for (let i = 0; ; i++) {
    await until(() => settled(a), 10_000, "a's asks are answered");
    if (a.pg.reachability.kind === kind) return skipped;
    if (i === 6) throw new Error(`a is ${a.pg.reachability.kind}, not ${kind}, after ${skipped} ms: ${JSON.stringify(a.pg.reachability)}`);
    clock.skip += 61_000;
    skipped += 61_000;
    a.tick();
  }
}

/** A TCP port of this host that refuses connections (it was free a moment ago). */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every dial-back answer `a` received. */
function answers(a: Node): { ok: boolean; via: string }[] {
  return spies.handle.mock.calls.filter(([, kind], i) => kind === REACH_KIND.DIALBACK_RESULT && spies.handle.mock.contexts[i] === a.room).map(([, , p]) => p as { ok: boolean; via: string });
}

describe("a standing verdict is checked again", () => {
  it("a public node whose port stops answering (dial-backs fail) stays public while its successes count, turns relayed-only once they age out (never unknown on the way, never back), and reserves on a relay; once it answers again, public again and the reservation dropped", async () => {
    const { a, kinds, since } = await publicNode();
    // From now on a's asks name a port that refuses, as if a NAT now stood before it: the helpers' dials really fail.
    const port = await refusingPort();
    spies.sent.mockImplementation(function (this: PeerSession, kind, payload) {
      return send.call(this, kind, kind === REACH_KIND.DIALBACK && roomOf(this) === a.room ? { port } : payload);
    });
    // Every success a has was learnt after `since` and before now: it still counts until since + MAX_AGE_MS, and none
    // counts after lost + MAX_AGE_MS (then the tick that looks).
    const lost = clock.skip;
    while (a.pg.reachability.kind === "public") {
      if (clock.skip - lost > MAX_AGE_MS + 3 * TICK_MS) throw new Error(`a is ${a.pg.reachability.kind} ${clock.skip - lost} ms after its port stopped answering: ${JSON.stringify(a.pg.reachability)}`);
      clock.skip += 3 * TICK_MS;
      a.tick();
      await until(() => settled(a), 10_000, "a's asks are answered");
      if (clock.skip - since < MAX_AGE_MS) expect(a.pg.reachability.kind).toBe("public");
    }
    // Failures from at least two asked hosts (a has three peers; re-checks and the asks before the successes age out).
    expect(a.pg.reachability.dialbacksOk).toBeLessThan(2);
    expect(a.pg.reachability.dialbacksFailed).toBeGreaterThanOrEqual(2);
    await until(() => a.pg.addresses.some((x) => x.startsWith("relay://127.0.0.2:")), 5000, "a holds a reservation");
    expect(a.pg.reachability.kind).toBe("relayed-only");
    // Four more re-check periods: the failures are renewed, nothing brings it back.
    for (let t = 0; t < (4 * RECHECK_MS) / (3 * TICK_MS); t++) {
      clock.skip += 3 * TICK_MS;
      a.tick();
      await until(() => settled(a), 10_000, "a's asks are answered");
      expect(a.pg.reachability.kind).toBe("relayed-only");
    }
    expect(kinds).toEqual(["unknown", "public", "behind-nat", "relayed-only"]);
    // The port answers again: re-checks bring witnessed successes, two make a public, and the reservation goes.
    spies.sent.mockImplementation(send);
    // (Read through a call: the loop above leaves the property narrowed.)
    const kind = (): ReachabilityKind => a.pg.reachability.kind;
    for (let t = 0; kind() !== "public"; t++) {
      if (t === 12) throw new Error(`a is ${a.pg.reachability.kind} after ${t} re-checks: ${JSON.stringify(a.pg.reachability)}`);
      clock.skip += RECHECK_MS;
      a.tick();
      await until(() => settled(a), 10_000, "a's asks are answered");
    }
    await until(() => !a.pg.addresses.some((x) => x.startsWith("relay://")), 5000, "a drops its relay reservation");
    expect(kinds).toEqual(["unknown", "public", "behind-nat", "relayed-only", "public"]);
  }, 120_000);

  it("hostile hosts answering every dial-back with a failure, and an honest peer whose only helpers are those hosts, do not flip a public node that has honest peers and helpers; its asks stay within the budget", async () => {
    // The default periods: one re-check in 5 min, evidence counts for 30 (the test's short ones would spend the ask
    // budget, 12 per 15 min, on re-checks alone).
    const one = { minConfirmations: 1 };
    // h1 and h2 are hostile; r3 is honest, but its only peers besides a are h1 and h2, so every helper it draws is hostile;
    // r4, r5 and r6 are honest, with honest helpers c and d.
    const h1 = await tcpNode("127.0.0.2", { reach: one });
    const h2 = await tcpNode("127.0.0.5", { reach: one });
    const r3 = await tcpNode("127.0.0.6", { reach: one });
    const honest = [await tcpNode("127.0.0.8", { reach: one }), await tcpNode("127.0.0.10", { reach: one }), await tcpNode("127.0.0.11", { reach: one })];
    const c = await tcpNode("127.0.0.3", { reach: one });
    const d = await tcpNode("127.0.0.4", { reach: one });
    await r3.pg.join(h1.pg.addresses[0]!);
    await r3.pg.join(h2.pg.addresses[0]!);
    for (const r of honest) for (const h of [c, d]) await r.pg.join(h.pg.addresses[0]!);
    const asking = vi.spyOn(Dialbacks.prototype, "ask");
    const a = await tcpNode("127.0.0.1", { reach: { recheckIntervalMs: 300_000, evidenceMaxAgeMs: 1_800_000, holePunch: false } });
    const kinds: ReachabilityKind[] = ["unknown"];
    a.pg.events.on("reachability:changed", (status) => void kinds.push(status.kind));
    for (const r of [h1, h2, r3, ...honest]) await a.pg.join(r.pg.addresses[0]!);
    await reaches(a, "public");
    const hostile = new Set([h1.room, h2.room]);
    // From now on h1 and h2 answer a's every ask with a made-up failure through a made-up helper (one each), and every dial r3
    // asks of them with a failure.
    spies.sent.mockImplementation(function (this: PeerSession, kind, payload) {
      const room = roomOf(this);
      if (room === undefined || !hostile.has(room)) return send.call(this, kind, payload);
      if (kind === REACH_KIND.DIALBACK_RESULT) return send.call(this, kind, { ok: false, via: room === h1.room ? "127.0.0.66" : "127.0.0.67" });
      if (kind === REACH_KIND.DIALED) return send.call(this, kind, { ...(payload as object), ok: false });
      return send.call(this, kind, payload);
    });
    const asked = asks(a);
    const answered = answers(a).length;
    // When each of a's ask budgets started, and when each answer with evidence came (the clock of its tick: its ask, and
    // the asks it leads to, are in the same tick).
    const renew = Dialbacks.prototype.renew;
    const renewed: { by: Dialbacks; at: number }[] = [];
    vi.spyOn(Dialbacks.prototype, "renew").mockImplementation(function (this: Dialbacks) {
      renewed.push({ by: this, at: clock.skip });
      return renew.call(this);
    });
    const mine = asking.mock.contexts.find((_, i) => roomOf(asking.mock.calls[i]![0]) === a.room) as Dialbacks;
    // a asks h1 and r3 by hand, as its tick does when its draw falls on them (one in six each), until each has answered
    // with evidence: h1 with its made-up failure, r3 with the failure of h1 or h2 as its helper. A peer that answered
    // without evidence is backed off (the helpers' per-minute budgets are shared by every node's asks, since every
    // link on loopback leaves from 127.0.0.1): the room's ticks run meanwhile.
    const sessionTo = (host: string): PeerSession => spies.opened.mock.calls.find(([session], i) => spies.opened.mock.contexts[i] === a.room && session.connection.remoteHost === host)![0];
    const answerOf = (session: PeerSession): { ok: boolean; via: string } | undefined =>
      spies.handle.mock.calls.findLast(([from, kind], i) => from === session && kind === REACH_KIND.DIALBACK_RESULT && spies.handle.mock.contexts[i] === a.room)?.[2] as { ok: boolean; via: string } | undefined;
    for (const host of ["127.0.0.2", "127.0.0.6"]) {
      const session = sessionTo(host);
      for (let i = 0; ; i++) {
        if (i === 20) throw new Error(`a got no answer with evidence from ${host}`);
        const before = spies.handle.mock.calls.length;
        if (mine.ask(session)) {
          await until(() => settled(a), 10_000, `${host} answers`);
          if (spies.handle.mock.calls.length > before && answerOf(session)?.via !== "") break;
        }
        clock.skip += 61_000;
        a.tick();
        await until(() => settled(a), 10_000, "a's asks are answered");
      }
    }
    const countedAt: number[] = [];
    // Counted from here (the asks by hand are outside the room's budgets).
    let seen = answers(a).length;
    // Three ask windows of ticks, 5 s apart: longer than the evidence counts, so the verdict stands on renewed evidence.
    for (let t = 0; t < (3 * ASK_WINDOW_MS) / TICK_MS; t++) {
      clock.skip += TICK_MS;
      a.tick();
      await until(() => settled(a), 10_000, "a's asks are answered");
      expect(a.pg.reachability.kind).toBe("public");
      expect(a.pg.reachability.dialbacksOk).toBeGreaterThanOrEqual(2);
      const now = answers(a);
      for (const x of now.slice(seen)) if (x.via !== "") countedAt.push(clock.skip);
      seen = now.length;
    }
    const got = answers(a).slice(answered);
    // The hostile hosts' word did reach a, as their own answers and through r3 (named as r3's helper).
    expect(got.filter((x) => !x.ok && (x.via === "127.0.0.66" || x.via === "127.0.0.67")).length).toBeGreaterThanOrEqual(1);
    expect(got.filter((x) => !x.ok && (x.via === "127.0.0.2" || x.via === "127.0.0.5")).length).toBeGreaterThanOrEqual(1);
    expect(got.filter((x) => x.ok).length).toBeGreaterThanOrEqual(2);
    expect(kinds).toEqual(["unknown", "public"]);
    // Asks counted against the budget (answers with evidence): at most MAX_ASKS per budget of a's (INTERNALS).
    const counted = countedAt.length;
    const starts = renewed.filter((x) => x.by === mine).map((x) => x.at);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    const perBudget = starts.map((from, i) => countedAt.filter((at) => at >= from && at < (starts[i + 1] ?? Infinity)).length);
    expect(perBudget.reduce((x, y) => x + y, 0)).toBe(counted);
    console.log(`asks ${asks(a) - asked}, answers with evidence ${counted} (${got.filter((x) => !x.ok).length} failures, ${got.filter((x) => x.ok).length} successes) over ${(3 * ASK_WINDOW_MS) / 60_000} min, per budget ${perBudget.join(" ")}`);
    expect(Math.max(...perBudget)).toBeLessThanOrEqual(MAX_ASKS);
    expect(asks(a) - asked).toBeGreaterThanOrEqual(counted);
  }, 180_000);

  it("a node whose network does not change stays public over eight re-check periods (twice the evidence's maximum age), never passing through unknown, one ask a period", async () => {
    const { a, r1, r2, kinds } = await publicNode();
    const start = asks(a);
    clock.skip += 3 * TICK_MS;
    for (let i = 0; i < 8; i++) {
      // A period: the re-check's tick, then three more ticks (5 s apart) that find nothing due.
      clock.skip += RECHECK_MS - 3 * TICK_MS;
      a.tick();
      await until(() => asks(a) > start + i && settled(a), 5000, `a re-checks in period ${i + 1}`);
      for (let t = 0; t < 3; t++) {
        clock.skip += TICK_MS;
        a.tick();
      }
      await roundTrip(a.pg, r1.pg);
      await roundTrip(a.pg, r2.pg);
      await until(() => settled(a), 5000, "a's asks are answered");
      expect(a.pg.reachability.kind).toBe("public");
    }
    expect(kinds).toEqual(["unknown", "public"]);
    // The verdict stands on evidence no older than the maximum age: it was renewed.
    expect(a.pg.reachability.dialbacksOk).toBeGreaterThanOrEqual(2);
    // At least one ask a period; more only when the successes would age out before the next re-check (two re-checks
    // drew the same helper host), within the ask budget: the run is shorter than a budget's window and the verdict
    // does not move, so at most one budget renewal (ASK_RENEW_MIN_MS after the last) beside the one running.
    expect(asks(a) - start).toBeGreaterThanOrEqual(8);
    expect(asks(a) - start).toBeLessThanOrEqual(2 * MAX_ASKS);
  }, 60_000);

  it("a change of the node's TCP listen addresses drops the old evidence and asks again at the next tick, with no re-check due", async () => {
    const sets = vi.spyOn(TransportSet.prototype, "listen");
    const { a, r1, kinds } = await publicNode();
    // A new peer (with r1 as its helper), so that one peer at least is not backed off (the others may be, after answers
    // without evidence: the helpers' per-minute budgets are shared by every node's asks on loopback).
    const e = await tcpNode("127.0.0.9", { reach: { minConfirmations: 1 } });
    await e.pg.join(r1.pg.addresses[0]!);
    await a.pg.join(e.pg.addresses[0]!);
    await until(() => settled(a), 10_000, "a's asks are answered");
    // Only the hand-run ticks ask: the real interval firing while the listener is added would ask one peer more.
    clearInterval(a.interval);
    const set = sets.mock.contexts.find((s) => (s as TransportSet).addresses.includes(a.pg.addresses[0]!)) as TransportSet;
    const before = asks(a);
    // With the listen addresses unchanged, a tick asks nobody: no re-check is due.
    a.tick();
    expect(asks(a)).toBe(before);
    await set.add("tcp://127.0.0.1:0");
    a.tick();
    expect(kinds.at(-1)).toBe("unknown");
    expect(asks(a)).toBe(before + 1);
    await reaches(a, "public");
    expect(kinds.slice(1)).toEqual(["public", "unknown", "public"]);
  }, 60_000);
});

describe('a "when-public" relay', () => {
  it("starts once when the verdict leaves public and comes back while it starts, on a fixed relayListen port: no address-in-use error", async () => {
    const port = await refusingPort();
    const a = await tcpNode("127.0.0.1", { reach: { serveRelay: "when-public", relayListen: `tcp://127.0.0.1:${port}` } });
    const errors: unknown[] = [];
    a.pg.events.on("error", (e) => void errors.push(e));
    const starts = vi.spyOn(RelayService.prototype, "start");
    // Dial-backs as a's reach room would record them, in one go: public, then behind-nat (the successes aged out, failures
    // from two asked hosts), then public again (two new witnessed successes).
    const r = a.room.reachability;
    r.dialback("via:198.18.0.1", true);
    r.dialback("via:198.18.0.2", true);
    expect(r.kind).toBe("public");
    clock.skip += 1_800_000;
    for (const i of [1, 2]) r.dialback(`asked:198.18.1.${i}`, false);
    expect(r.kind).toBe("behind-nat");
    r.dialback("via:198.18.0.3", true);
    r.dialback("via:198.18.0.4", true);
    expect(r.kind).toBe("public");
    await until(() => a.room.relayService !== undefined, 5000, "a serves a relay");
    // Every start that was made has ended (and one that failed has been reported).
    await Promise.allSettled(starts.mock.results.map((x) => x.value as Promise<string>));
    await new Promise((resolve) => setImmediate(resolve));
    expect(starts).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([]);
  });
});

describe("reach re-check options", () => {
  it("are checked, with a code and the right call in the message", () => {
    const bad = (reach: unknown): unknown => expect(() => new Playground("test-app", { reach } as never)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    bad({ recheckIntervalMs: 0 });
    bad({ recheckIntervalMs: "5m" });
    bad({ evidenceMaxAgeMs: -1 });
    bad({ evidenceMaxAgeMs: Infinity });
    // Re-checks more often than the ask budget allows (12 per 15 min): the suggested call holds.
    expect(() => new Playground("test-app", { reach: { recheckIntervalMs: 1000, evidenceMaxAgeMs: 2000 } })).toThrow(/recheckIntervalMs must be at least 75000 .*got 1000.*recheckIntervalMs: 75000, evidenceMaxAgeMs: 225000 \}/);
    // Evidence that ages out before minConfirmations + 1 re-checks could renew it.
    expect(() => new Playground("test-app", { reach: { recheckIntervalMs: 100_000, evidenceMaxAgeMs: 250_000 } })).toThrow(/evidenceMaxAgeMs \(250000\) must be at least \(reach\.minConfirmations \+ 1\) \* reach\.recheckIntervalMs \(300000\).*recheckIntervalMs: 100000, evidenceMaxAgeMs: 300000 \}/);
    expect(() => new Playground("test-app", { reach: { minConfirmations: 16, recheckIntervalMs: 300_000, evidenceMaxAgeMs: 1_800_000 } })).toThrow(/\(5100000\).*minConfirmations: 16, recheckIntervalMs: 300000, evidenceMaxAgeMs: 5100000 \}/);
    // The suggested calls are taken; with minConfirmations alone the default maximum age grows to hold it.
    for (const reach of [{ recheckIntervalMs: 75_000, evidenceMaxAgeMs: 225_000 }, { recheckIntervalMs: 100_000, evidenceMaxAgeMs: 300_000 }, { minConfirmations: 16, recheckIntervalMs: 300_000, evidenceMaxAgeMs: 5_100_000 }, { minConfirmations: 16 }]) {
      expect(() => new Playground("test-app", { reach })).not.toThrow();
    }
  });
});
