// Whom a node asks for dial-backs, between real nodes on loopback TCP (each on
// its own 127.0.0.x address). The room's 5 s tick is also driven by hand: the
// callback the room gives setInterval at start is called directly (its real
// timer runs as well). What each node sends and reads of `reach/1` is watched
// where its reach room sends and reads it. The packages' monotonic clock
// (`now()` of @xppg/errors) is the real one moved ahead by `clock.skip`: a
// back-off of minutes passes at once, and the clock never goes back.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const clock = vi.hoisted(() => ({ skip: 0 }));
vi.mock("@xppg/errors", async (importOriginal) => {
  const real = await importOriginal<typeof import("@xppg/errors")>();
  return { ...real, now: () => real.now() + clock.skip };
});

import { Playground } from "../src/index.js";
import { PeerSession } from "../src/peer-session.js";
import { ASK_RENEW_MIN_MS, ASK_WINDOW_MS, MAX_ASKS, ReachRoom } from "../src/reach-room.js";
import { NO_HELPER_RETRY_MAX_MS, NO_HELPER_RETRY_MS } from "../src/reach-dialback.js";
import { TransportSet } from "../src/transport-set.js";
import { REACH_KIND } from "../src/reach-wire.js";
import { roundTrip, stopNodesAfterEach, track, until } from "./helpers.js";
import { QUIET, type ReachSpies, send, spyOnReach, TICK_MS } from "./fixtures/reach-spies.js";

stopNodesAfterEach();

interface Node {
  readonly pg: Playground;
  readonly room: ReachRoom;
  /** Runs the reach room's tick once, as its timer does every 5 s. */
  tick(): void;
}

let spies: ReachSpies;

beforeEach(() => {
  spies = spyOnReach();
});
afterEach(() => void vi.restoreAllMocks());

async function tcpNode(host: string): Promise<Node> {
  const pg = track(new Playground("test-app", { listen: [`tcp://${host}:0`], ...QUIET }));
  const from = spies.every.mock.calls.length;
  await pg.start();
  const room = spies.start.mock.contexts.at(-1) as ReachRoom;
  const ticks = spies.every.mock.calls.slice(from).filter(([, ms]) => ms === TICK_MS);
  expect(ticks).toHaveLength(1);
  return { pg, room, tick: ticks[0]![0] };
}

/** The room a session belongs to: the one it was opened in. */
function roomOf(session: PeerSession): ReachRoom | undefined {
  const i = spies.opened.mock.calls.findIndex(([s]) => s === session);
  return i < 0 ? undefined : (spies.opened.mock.contexts[i] as ReachRoom);
}

/** Dial-back asks `from` sent `to`. */
function asks(from: Node, to: Node): number {
  return spies.sent.mock.calls.filter(([kind], i) => {
    const session = spies.sent.mock.contexts[i] as PeerSession;
    return kind === REACH_KIND.DIALBACK && session.peerId === to.pg.peerId && roomOf(session) === from.room;
  }).length;
}

/** Dial-back asks `from` sent anyone, and the answers it read. */
function settled(from: Node): boolean {
  const sent = spies.sent.mock.calls.filter(([kind], i) => kind === REACH_KIND.DIALBACK && roomOf(spies.sent.mock.contexts[i] as PeerSession) === from.room).length;
  const answers = spies.handle.mock.calls.filter(([, kind], i) => kind === REACH_KIND.DIALBACK_RESULT && spies.handle.mock.contexts[i] === from.room).length;
  return answers >= sent;
}

/** Everything `a` and `b` sent each other before has been read (messages on a link arrive in order), and the answers to it too. */
async function quiet(a: Node, b: Node): Promise<void> {
  await roundTrip(a.pg, b.pg);
  await roundTrip(a.pg, b.pg);
}

/**
 * Takes `a` from its first ask of `r` to its 14th, more than the 12 asks a node makes, r answering each without
 * evidence: before each wait runs out (10 s short of it: the real time the test takes is far less) a tick asks
 * nobody; once it has, r is asked. The wait doubles from 1 min up to its cap.
 */
async function askedAfterEachBackoff(a: Node, r: Node): Promise<void> {
  let wait = NO_HELPER_RETRY_MS;
  for (let n = 2; n <= 14; n++) {
    clock.skip += wait - 10_000;
    a.tick();
    await quiet(a, r);
    expect(asks(a, r)).toBe(n - 1);
    clock.skip += 10_001;
    a.tick();
    await until(() => asks(a, r) === n && settled(a), 5000, `a asks r the ${n}th time, and r answers`);
    wait = Math.min(2 * wait, NO_HELPER_RETRY_MAX_MS);
  }
  expect(wait).toBe(NO_HELPER_RETRY_MAX_MS);
}

/**
 * After `askedAfterEachBackoff`: r gains two peers that can dial `a` (r dials them; a is not told), and a asks r
 * once its back-off (at its cap) has run. The first counted dial-back clears r's mark, so a asks r again at once,
 * r picks the other helper, and a decides: public, 16 asks in all.
 */
async function decidesOnceHelpersAppear(a: Node, r: Node): Promise<void> {
  const c = await tcpNode("127.0.0.3");
  const d = await tcpNode("127.0.0.4");
  await r.pg.join(c.pg.addresses[0]!);
  await r.pg.join(d.pg.addresses[0]!);
  clock.skip += NO_HELPER_RETRY_MAX_MS + 1;
  a.tick();
  await until(() => a.pg.reachability.kind === "public", 10_000, "a is public");
  expect(asks(a, r)).toBe(16);
  expect(a.pg.reachability).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 0 });
}

describe("dial-back asks", () => {
  it("a node whose only peer has no helper asks it once, not at every tick", async () => {
    const r = await tcpNode("127.0.0.2");
    const a = await tcpNode("127.0.0.1");
    await a.pg.join(r.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    for (let i = 0; i < 4; i++) {
      a.tick();
      await quiet(a, r);
    }
    expect(asks(a, r)).toBe(1);
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 0 });
  });

  it("once the node's peers change (a third node joins it), the peer is asked again, and two helpers' dial-backs make the node public as before", async () => {
    // r dials everyone (a link's far end is then seen at its listening address, not at 127.0.0.1), and a dials nobody:
    // a host a node dialled proves nothing in a dial-back.
    const r = await tcpNode("127.0.0.2");
    const a = await tcpNode("127.0.0.1");
    await r.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    a.tick();
    await quiet(a, r);
    expect(asks(a, r)).toBe(1);
    // r gains two peers that can dial a: a does not know, and is not told.
    const c = await tcpNode("127.0.0.3");
    const d = await tcpNode("127.0.0.4");
    await r.pg.join(c.pg.addresses[0]!);
    await r.pg.join(d.pg.addresses[0]!);
    // c joins a: a's peers changed, so r may be asked again (c itself has no helper for a: r reaches it from a's host).
    await c.pg.join(a.pg.addresses[0]!);
    for (let i = 0; i < 12 && a.pg.reachability.kind !== "public"; i++) {
      await until(() => settled(a), 10_000, "a's asks are answered");
      a.tick();
      await quiet(a, r);
    }
    await until(() => a.pg.reachability.kind === "public", 10_000, "a is public");
    expect(asks(a, r)).toBeGreaterThan(1);
    expect(a.pg.reachability).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 0 });
  }, 60_000);

  it("the tick asks only peers that are not backed off: a peer with helpers gets every turn while two helperless ones wait", async () => {
    const a = await tcpNode("127.0.0.1");
    const r = await tcpNode("127.0.0.2");
    const x = await tcpNode("127.0.0.5");
    // r has no helper for a; x joining a (a new peer) lets r be asked again, and a asks it at the next tick: both are then backed off.
    await r.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    await x.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, x) === 1 && settled(a), 5000, "a asks x, and x answers");
    a.tick();
    await until(() => asks(a, r) === 2 && settled(a), 5000, "a asks r again, and r answers");
    // q has a helper c (q dialled it: c's dial comes from its own address), and joins a within a minute of x: r and x stay backed off.
    const q = await tcpNode("127.0.0.3");
    const c = await tcpNode("127.0.0.4");
    await q.pg.join(c.pg.addresses[0]!);
    await q.pg.join(a.pg.addresses[0]!);
    // Each of c's dial-backs is counted (once for c's host), so a asks again at once, q each time, until q is over its
    // budget (DIALBACKS_PER_PEER_PER_MINUTE, 4, for a's host) and has no helper for a: 5 asks. A pick of r or x would end the run.
    await until(() => asks(a, q) === 5 && settled(a), 10_000, "a asks q five times in a row");
    a.tick();
    await quiet(a, q);
    expect([asks(a, r), asks(a, x), asks(a, q)]).toEqual([2, 1, 5]);
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 1 });
  }, 30_000);

  it("a helperless peer is asked again after 1 min, then after 2, doubling up to 16 min; after more asks than the 12 a node makes, it still decides once its peer has helpers", async () => {
    // The wall clock moves with it: a helper's budgets (dial-backs a minute) read Date.now().
    const wall = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => wall() + clock.skip);
    const r = await tcpNode("127.0.0.2");
    const a = await tcpNode("127.0.0.1");
    await r.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    await askedAfterEachBackoff(a, r);
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 0 });
    // r gains two peers that can dial a (r dials them); a is not told, and asks r when its back-off has run.
    await decidesOnceHelpersAppear(a, r);
  }, 60_000);

  it("a helperless peer that reconnects is not asked again before its back-off runs out, and its coming back lets no one else be asked", async () => {
    const a = await tcpNode("127.0.0.1");
    const r = await tcpNode("127.0.0.2");
    await r.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    for (let i = 0; i < 3; i++) {
      r.pg.disconnect(a.pg.peerId);
      await until(() => a.pg.peers.length === 0, 5000, "a sees r leave");
      await r.pg.join(a.pg.addresses[0]!);
      await until(() => a.pg.peers.length === 1, 5000, "a sees r back");
      await quiet(a, r);
      a.tick();
      await quiet(a, r);
    }
    expect(asks(a, r)).toBe(1);
    // Once the back-off has run out, the peer is asked again (its mark was kept across its sessions, not forgotten).
    clock.skip += NO_HELPER_RETRY_MS + 1;
    a.tick();
    await until(() => asks(a, r) === 2 && settled(a), 5000, "a asks r again");
  }, 30_000);

  it("a peer whose helper is a host this node dialled itself (a NAT would let it in) is backed off like one with no helper", async () => {
    // r dials c, so r sees c at c's own address and c's dial-backs for r leave from it; a dials both. c has no helper
    // for a: it sees r, which dialled it, at 127.0.0.1 (a dial on loopback leaves from there), a's host.
    const a = await tcpNode("127.0.0.1");
    const r = await tcpNode("127.0.0.2");
    const c = await tcpNode("127.0.0.3");
    await r.pg.join(c.pg.addresses[0]!);
    await a.pg.join(c.pg.addresses[0]!);
    await until(() => asks(a, c) === 1 && settled(a), 5000, "a asks c, and c answers");
    // r is a new peer, so c may be asked again. r's helper c dials a, and a's listener sees it, but a dialled c's host:
    // r's "ok" is no evidence.
    await a.pg.join(r.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    a.tick();
    await until(() => asks(a, r) + asks(a, c) === 3 && settled(a), 5000, "a asks c again, and c answers");
    for (let i = 0; i < 4; i++) {
      a.tick();
      await quiet(a, r);
      await quiet(a, c);
    }
    expect([asks(a, r), asks(a, c)]).toEqual([1, 2]);
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 0 });
    // Once the back-off has run out, r is asked again (and answers the same).
    clock.skip += NO_HELPER_RETRY_MS + 1;
    a.tick();
    a.tick();
    await until(() => asks(a, r) === 2 && asks(a, c) === 3 && settled(a), 5000, "a asks r and c again, and they answer");
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 0 });
  }, 30_000);

  it("a peer that answers \"ok\" naming a helper this node's listener never saw is asked again after 1 min, then after 2, doubling up to 16 min; such answers do not use up the 12 asks", async () => {
    const wall = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => wall() + clock.skip);
    const r = await tcpNode("127.0.0.2");
    const a = await tcpNode("127.0.0.1");
    // r has no helper, and says otherwise: its answers to a name a host that never connected to a.
    let lie = true;
    spies.sent.mockImplementation(function (this: PeerSession, kind, payload) {
      const toA = kind === REACH_KIND.DIALBACK_RESULT && this.peerId === a.pg.peerId && roomOf(this) === r.room;
      return send.call(this, kind, lie && toA ? { ok: true, via: "127.0.0.9" } : payload);
    });
    await r.pg.join(a.pg.addresses[0]!);
    await until(() => asks(a, r) === 1 && settled(a), 5000, "a asks r, and r answers");
    await askedAfterEachBackoff(a, r);
    expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 0 });
    // r stops lying and gains two peers that can dial a: a asks r when its back-off has run, and decides.
    lie = false;
    await decidesOnceHelpersAppear(a, r);
  }, 60_000);

  describe("the ask budget renews when there is something new to learn", () => {
    /**
     * r answers each of a's asks with a failure naming a helper (a failure is r's word, counted once for r's host):
     * every answer counts, one observer is no verdict, and a asks again at once, until its budget is spent.
     */
    async function spentOnOneObserver(): Promise<{ a: Node; r: Node; liar: { on: boolean } }> {
      const wall = Date.now.bind(Date);
      vi.spyOn(Date, "now").mockImplementation(() => wall() + clock.skip);
      const r = await tcpNode("127.0.0.2");
      const a = await tcpNode("127.0.0.1");
      const liar = { on: true };
      spies.sent.mockImplementation(function (this: PeerSession, kind, payload) {
        const toA = kind === REACH_KIND.DIALBACK_RESULT && this.peerId === a.pg.peerId && roomOf(this) === r.room;
        return send.call(this, kind, liar.on && toA ? { ok: false, via: "127.0.0.9" } : payload);
      });
      await r.pg.join(a.pg.addresses[0]!);
      await until(() => asks(a, r) === MAX_ASKS && settled(a), 10_000, "a spends its asks on r");
      // Spent: no more asks at the ticks, nor a minute later.
      a.tick();
      await quiet(a, r);
      clock.skip += ASK_RENEW_MIN_MS;
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(MAX_ASKS);
      expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 1 });
      return { a, r, liar };
    }

    it("a node that spent its asks without a verdict asks again once the window has run, as many times, and decides once its peer has helpers", async () => {
      const { a, r, liar } = await spentOnOneObserver();
      clock.skip += ASK_WINDOW_MS;
      a.tick();
      await until(() => asks(a, r) === 2 * MAX_ASKS && settled(a), 10_000, "a spends a second budget on r");
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(2 * MAX_ASKS);
      // r tells the truth again and gains two peers that can dial a: at the next window a decides.
      liar.on = false;
      const c = await tcpNode("127.0.0.3");
      const d = await tcpNode("127.0.0.4");
      await r.pg.join(c.pg.addresses[0]!);
      await r.pg.join(d.pg.addresses[0]!);
      clock.skip += ASK_WINDOW_MS;
      a.tick();
      await until(() => a.pg.reachability.kind === "public", 10_000, "a is public");
      expect(a.pg.reachability).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 1 });
    }, 60_000);

    it("a verdict that changes renews the budget (not within a minute of the last renewal), and a node back to unknown asks again", async () => {
      const { a, r } = await spentOnOneObserver();
      // A second observer's failure decides (behind-nat); its later success undoes it: unknown again, a new verdict.
      a.room.reachability.dialback("asked:127.0.0.7", false);
      expect(a.pg.reachability.kind).toBe("behind-nat");
      a.room.reachability.dialback("asked:127.0.0.7", true);
      expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 1, dialbacksFailed: 1 });
      a.tick();
      await until(() => asks(a, r) === 2 * MAX_ASKS && settled(a), 10_000, "a spends a new budget on r");
      // Another change within the minute gives nothing more.
      a.room.reachability.dialback("asked:127.0.0.7", false);
      expect(a.pg.reachability.kind).toBe("behind-nat");
      a.room.reachability.dialback("asked:127.0.0.7", true);
      expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 1, dialbacksFailed: 1 });
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(2 * MAX_ASKS);
    }, 60_000);

    it("a change of the node's TCP listen addresses renews the budget (past a minute since the last renewal): a node that spent its asks asks again, as many times", async () => {
      // The node's set of listeners, to open one more on (as a relay reservation does after start).
      const sets = vi.spyOn(TransportSet.prototype, "listen");
      const { a, r } = await spentOnOneObserver();
      const set = sets.mock.contexts.find((s) => (s as TransportSet).addresses.includes(a.pg.addresses[0]!)) as TransportSet;
      // spentOnOneObserver moved the clock a minute on and saw no ask: past the floor, nothing new, nothing asked.
      await set.add("tcp://127.0.0.1:0");
      expect(a.pg.addresses).toHaveLength(2);
      a.tick();
      await until(() => asks(a, r) === 2 * MAX_ASKS && settled(a), 10_000, "a spends a new budget on r");
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(2 * MAX_ASKS);
    }, 60_000);

    it("an answer without evidence to an ask of an earlier budget gives no ask back to the current one", async () => {
      const wall = Date.now.bind(Date);
      vi.spyOn(Date, "now").mockImplementation(() => wall() + clock.skip);
      const r = await tcpNode("127.0.0.2");
      const a = await tcpNode("127.0.0.1");
      // r answers each ask with a failure naming a helper (counted), except the answer to a's last ask of its first budget,
      // which r holds back and later gives without a helper: no evidence.
      let answers = 0;
      let held: (() => Promise<void>) | undefined;
      spies.sent.mockImplementation(function (this: PeerSession, kind, payload) {
        const toA = kind === REACH_KIND.DIALBACK_RESULT && this.peerId === a.pg.peerId && roomOf(this) === r.room;
        if (!toA) return send.call(this, kind, payload);
        if (++answers === MAX_ASKS) {
          held = () => send.call(this, kind, { ok: false, via: "" });
          return Promise.resolve();
        }
        return send.call(this, kind, { ok: false, via: "127.0.0.9" });
      });
      await r.pg.join(a.pg.addresses[0]!);
      await until(() => asks(a, r) === MAX_ASKS && held !== undefined, 10_000, "a spends its asks on r, the last unanswered");
      // The window runs: the tick starts a new budget (r, still asked, is not asked again).
      clock.skip += ASK_WINDOW_MS;
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(MAX_ASKS);
      // The answer of the earlier budget's ask, without evidence: r is backed off for a minute, and the new budget keeps its 12.
      await held!();
      await quiet(a, r);
      clock.skip += NO_HELPER_RETRY_MS + 1;
      a.tick();
      await until(() => asks(a, r) === 2 * MAX_ASKS && settled(a), 10_000, "a spends the new budget on r");
      a.tick();
      await quiet(a, r);
      expect(asks(a, r)).toBe(2 * MAX_ASKS);
      expect(a.pg.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0, dialbacksFailed: 1 });
    }, 60_000);
  });
});
