import { describe, expect, it, vi } from "vitest";
import type { Playground } from "../src/index.js";
import { RoutingRoom, type RoutingLimits } from "../src/routing-room.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { buildPacket, PACKET, packetHeader } from "../src/route-wire.js";
import { chain, FIXED, heard, HostileForwarder, routeHeader } from "./routed-helpers.js";
import { stallingTransport, tcpNode } from "./tcp-helpers.js";
import { forwardedPath, pause, routedErrorsOf } from "./fixtures/routed-setups.js";

// A routed channel closed by one end (idle, evicted for room) closes gracefully (README, "Routed unicast"): that end's
// authenticated end of stream, the other end's in answer after what it was sending, no reset, no error event at
// either end; the next send opens a new channel. A message that crossed the close arrives; one never lost in silence:
// it arrived, or its send rejected with a code, or the loss is reported once. An end of stream with no answer within
// routedOpenTimeoutMs (an older node, a hop that dropped it): the channel is reset, a loss at the other end as before.

stopNodesAfterEach();

/**
 * The real routing room, with the limits a node has no option for (the idle time, the channels kept) set per node by
 * peer id, so that a test reaches an idle sweep or an eviction without waiting minutes; each node's room is kept.
 */
const tuned = vi.hoisted(() => ({ limits: new Map<string, Partial<RoutingLimits>>(), rooms: new Map<string, RoutingRoom>(), older: new Set<string>() }));
vi.mock("../src/routing-room.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/routing-room.js")>();
  class TunedRoutingRoom extends real.RoutingRoom {
    constructor(options: ConstructorParameters<typeof real.RoutingRoom>[0]) {
      const peerId = options.identity.peerId;
      super({ ...options, limits: { ...options.limits, ...tuned.limits.get(peerId) } });
      tuned.rooms.set(peerId, this);
    }
  }
  return { ...real, RoutingRoom: TunedRoutingRoom };
});

/**
 * A node whose peer id is in `tuned.older` behaves as one from before the graceful close: its secure channels are
 * made without `onRemoteEnd`, so the other end's end of stream gets no answer (the record layer and the rest real).
 */
vi.mock("@xppg/secure", async (importOriginal) => {
  const real = await importOriginal<typeof import("@xppg/secure")>();
  const secureConnection: typeof real.secureConnection = (conn, options) =>
    real.secureConnection(conn, tuned.older.has(options.identity.peerId) ? { ...options, onRemoteEnd: undefined } : options);
  return { ...real, secureConnection };
});

/** The routing room of `pg` (made at its first routed send or packet). */
function roomOf(pg: Playground): RoutingRoom {
  const room = tuned.rooms.get(pg.peerId);
  if (room === undefined) throw new Error(`${pg.peerId} has made no routing room`);
  return room;
}

/**
 * A short `routedOpenTimeoutMs` for the nodes of the clean-close tests: a close the other end did not answer is reset
 * at this bound, so a test waits past it (`pastBound`) before it checks that no error came.
 */
const BOUND = 2_000;
const short = { routedOpenTimeoutMs: BOUND };

/** Waits past the bound of a close's answer, and the way of its reset back: an unanswered close has been reset by then. */
function pastBound(): Promise<void> {
  return pause(BOUND + 1_500);
}

/** The body of a routed end of stream: the tag and the three bytes of its count of records received (`countedEnd`). */
const END_BODY = 16 + 3;

/** The graceful closes of these nodes' rooms that ended in a reset (no answer within the bound, evicted unanswered). */
function closesReset(...nodes: Playground[]): number[] {
  return nodes.map((pg) => RoutingRoom.closingOf(roomOf(pg)).reset);
}

describe("a routed channel closed by one end", { timeout: 30_000 }, () => {
  it("closed by C as idle: A gets no error event (before: XPPG_ERR_UNREACHABLE naming C), and A's next send opens a new channel and arrives", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    tuned.limits.set(c.peerId, { idleTimeoutMs: 200, ...short });
    tuned.limits.set(a.peerId, short);
    await heard(a, c);
    const errors = routedErrorsOf(a);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 1 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    // C's sweep closes the channel once it has been idle; A forgets it when C's close reaches it.
    await until(() => roomOf(c).channelCount === 0 && roomOf(a).channelCount === 0, 10_000, "both ends closed the channel");
    // Past C's bound: had A not answered C's end of stream, C's reset would have come by now (A's loss, an error event).
    await pastBound();
    await a.send("note", { n: 2 }, { to: c.peerId });
    await until(() => atC.length === 2, 10_000, "the second note at C, on a new channel");
    expect(atC.map((m) => m.payload.n)).toEqual([1, 2]);
    expect(roomOf(a).channelCount).toBe(1);
    expect(b.stats.forwardedUnicasts).toBeGreaterThan(0);
    await pause(50);
    // Clean at both ends: no close ended in a reset (A answered C's end of stream), and no error event.
    expect({ errors, reset: closesReset(a, c) }).toEqual({ errors: [], reset: [0, 0] });
  });

  it("evicted by A for room (one channel kept): no error event at A, C or D (before: C and D one each, XPPG_ERR_UNREACHABLE naming A); A's next send to C opens a new channel and arrives", async () => {
    // A - B - C and B - D: C and D are both two hops from A.
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    const d = await tcpNode(FIXED);
    await d.join(`tcp://127.0.0.1:${b.port}`);
    tuned.limits.set(a.peerId, { maxChannels: 1, ...short });
    tuned.limits.set(c.peerId, short);
    tuned.limits.set(d.peerId, short);
    await heard(a, c);
    await heard(a, d);
    const errorsAtC = routedErrorsOf(c);
    const errorsAtD = routedErrorsOf(d);
    const errorsAtA = routedErrorsOf(a);
    const atC = collect<{ n: number }>(c, "note");
    const atD = collect<{ n: number }>(d, "note");
    await a.send("note", { n: 1 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    // Room for the channel to D: A closes its channel to C, the least recently used.
    await a.send("note", { n: 2 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    await until(() => roomOf(c).channelCount === 0, 10_000, "C forgot the channel A closed");
    await pause(100);
    // And back: the channel to D makes room for a new one to C.
    await a.send("note", { n: 3 }, { to: c.peerId });
    await until(() => atC.length === 2 && roomOf(d).channelCount === 0, 10_000, "the next note at C, on a new channel, and D's channel closed");
    expect(atC.map((m) => m.payload.n)).toEqual([1, 3]);
    // Past A's bound: had C or D not answered A's end of stream, A's reset would have come there by now.
    await pastBound();
    expect({ errorsAtA, errorsAtC, errorsAtD, reset: closesReset(a, c, d) }).toEqual({ errorsAtA: [], errorsAtC: [], errorsAtD: [], reset: [0, 0, 0] });
  });

  it("evicted by A while C's burst on it waits on C's stalled link: each of C's sends resolves and arrives at A, in order, and C gets no error event (before: lost, its loss reported once)", async () => {
    // A - B - C and B - D: C's link to B stops writing at `link.stall()`, so C's sends wait below its channel. B drops
    // C neither for its silence nor C a stalled write (both far off).
    const link = stallingTransport();
    const slow = { ...FIXED, heartbeat: { timeoutMs: 120_000 } };
    const a = await tcpNode(FIXED);
    const b = await tcpNode(slow);
    const c = await tcpNode({ ...slow, transports: [link.transport], limits: { writeStallTimeoutMs: 120_000 } });
    const d = await tcpNode(FIXED);
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await c.join(`tcp://127.0.0.1:${b.port}`);
    await d.join(`tcp://127.0.0.1:${b.port}`);
    tuned.limits.set(a.peerId, { maxChannels: 1, ...short });
    tuned.limits.set(c.peerId, short);
    await heard(a, c);
    await heard(a, d);
    await heard(c, a);
    const errorsAtC = routedErrorsOf(c);
    const atA = collect<{ n: number }>(a, "note");
    const atD = collect<{ n: number }>(d, "note");
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    // Open at C too (its handshake done): C's sends go on it, not on a channel of C's own that A, full, would refuse.
    await until(() => atC.length === 1, 10_000, "A's first note at C");
    link.stall();
    // Six 300 KB notes on A's channel, more than C's outbox towards B and its secure channel take: the later ones wait.
    const big = new Uint8Array(300_000);
    const outcomes: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
    const sent = [1, 2, 3, 4, 5, 6].map((n) =>
      c.send("note", { n, big }, { to: a.peerId }).then(
        () => void (outcomes[n - 1] = "resolved"),
        (error: Error & { code?: string }) => void (outcomes[n - 1] = error.code ?? "no code"),
      ),
    );
    await until(() => link.heldBytes > 0 && outcomes.some((o) => o !== undefined), 10_000, "C's link holds its first sends");
    const waitingAtClose = outcomes.filter((o) => o === undefined).length;
    // A makes room for a channel to D: its channel to C closes while C's sends wait.
    await a.send("note", { n: 7 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    await until(() => roomOf(c).channelCount === 0, 10_000, "C forgot the channel A closed");
    // C's link writes again: what it held reaches A, which has closed the channel.
    link.release();
    await Promise.all(sent);
    await until(() => a.stats.droppedUnicasts > 0 || errorsAtC.length > 0 || atA.length === outcomes.filter((o) => o === "resolved").length, 10_000, "what C's link held reaches A");
    // Past A's bound: had C not answered A's end of stream after its burst, A's reset would have come by now.
    await pastBound();
    const got = atA.map((m) => m.payload.n);
    // The waiting path was taken: some send still waited below when A closed, and settled only after.
    expect(waitingAtClose).toBeGreaterThan(0);
    // A rejection carries a code; what A received came in order, each note once.
    expect(outcomes.filter((o) => o === undefined || o === "no code")).toEqual([]);
    expect(got).toEqual([...new Set(got)].sort((x, y) => x - y));
    // The rule: a send that resolved arrived, unless its loss is reported: by a send of it rejected with the loss
    // (XPPG_ERR_UNREACHABLE, naming A), else by exactly one error event naming A. Never more than one event.
    const lostResolved = [1, 2, 3, 4, 5, 6].filter((n) => outcomes[n - 1] === "resolved" && !got.includes(n));
    const toldByRejection = outcomes.includes("XPPG_ERR_UNREACHABLE");
    const toldByEvent = errorsAtC.length === 1 && errorsAtC[0]!.code === "XPPG_ERR_UNREACHABLE" && errorsAtC[0]!.peerId === a.peerId;
    expect(errorsAtC.length).toBeLessThanOrEqual(1);
    expect({ lostResolved, reported: lostResolved.length === 0 || toldByRejection || toldByEvent }).toEqual({ lostResolved, reported: true });
    // With the graceful close, nothing was lost: A read on until C's end of stream, which came after the burst.
    expect({ outcomes, got, errorsAtC, reset: closesReset(a, c) }).toEqual({ outcomes: Array(6).fill("resolved"), got: [1, 2, 3, 4, 5, 6], errorsAtC: [], reset: [0, 0] });
  });

  it("A's close gets no answer in time (C's answer waits behind C's stalled link, C still sending): A's reset at its bound reaches C, which kept the channel, and C's sends after A's end are each delivered, rejected with a code, or their loss reported once", async () => {
    // As above, A - B - C and B - D, C's link to B stalled under a burst, A evicting the channel; but the stall lasts
    // past A's bound: A resets the channel it closed (no answer), and the reset reaches C. C's bound is set shorter than
    // A's (as a later end of stream's way here makes it end later than A's with equal bounds): C keeps a close both
    // ends of stream are in for twice its bound, past A's reset; before, C forgot it at its own bound, before A's reset
    // came, and C's sends, sealed after A's end, were lost with no report.
    const link = stallingTransport();
    const slow = { ...FIXED, heartbeat: { timeoutMs: 120_000 } };
    const a = await tcpNode(FIXED);
    const b = await tcpNode(slow);
    const c = await tcpNode({ ...slow, transports: [link.transport], limits: { writeStallTimeoutMs: 120_000 } });
    const d = await tcpNode(FIXED);
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await c.join(`tcp://127.0.0.1:${b.port}`);
    await d.join(`tcp://127.0.0.1:${b.port}`);
    tuned.limits.set(a.peerId, { maxChannels: 1, routedOpenTimeoutMs: 2_000 });
    tuned.limits.set(c.peerId, { routedOpenTimeoutMs: 1_500 });
    await heard(a, c);
    await heard(a, d);
    await heard(c, a);
    const errorsAtC = routedErrorsOf(c);
    const atA = collect<{ n: number }>(a, "note");
    const atD = collect<{ n: number }>(d, "note");
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "A's first note at C");
    link.stall();
    const big = new Uint8Array(300_000);
    const outcomes: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
    const sent = [1, 2, 3, 4, 5, 6].map((n) =>
      c.send("note", { n, big }, { to: a.peerId }).then(
        () => void (outcomes[n - 1] = "resolved"),
        (error: Error & { code?: string }) => void (outcomes[n - 1] = error.code ?? "no code"),
      ),
    );
    await until(() => link.heldBytes > 0, 10_000, "C's link holds its first sends");
    await a.send("note", { n: 7 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    await until(() => roomOf(c).channelCount === 0, 10_000, "A's end of stream reached C");
    // A's bound passes with no answer: its reset reaches C, where the loss is told (a rejection or one event).
    await until(() => errorsAtC.length > 0 || outcomes.some((o) => o !== undefined && o !== "resolved"), 10_000, "A's reset told at C");
    link.release();
    await Promise.all(sent);
    await pause(300);
    const got = atA.map((m) => m.payload.n);
    const lostResolved = [1, 2, 3, 4, 5, 6].filter((n) => outcomes[n - 1] === "resolved" && !got.includes(n));
    const toldByRejection = outcomes.includes("XPPG_ERR_UNREACHABLE");
    const toldByEvent = errorsAtC.length === 1 && errorsAtC[0]!.code === "XPPG_ERR_UNREACHABLE" && errorsAtC[0]!.peerId === a.peerId;
    expect(outcomes.filter((o) => o === undefined || o === "no code")).toEqual([]);
    expect({ atMostOneEvent: errorsAtC.length <= 1, lostResolved, reported: lostResolved.length === 0 || toldByRejection || toldByEvent }).toEqual({ atMostOneEvent: true, lostResolved, reported: true });
  });

  it("a hop drops the end of stream of E's idle close: B's next send there arrives, or its loss is reported once naming E", async () => {
    // B - M - D - E, M a hand-driven forwarder: it drops the first end of stream towards B (a data packet whose body is
    // END_BODY bytes), the authenticated end of stream of E's idle close. B does not know E closed: its next send
    // goes on the channel, which E still reads until its bound, and then resets (a loss at B, reported once).
    const { b, m, e } = await forwardedPath(FIXED);
    tuned.limits.set(e.peerId, { idleTimeoutMs: 200 });
    const errors = routedErrorsOf(b);
    const atE = collect<{ n: number }>(e, "note");
    let dropped = 0;
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (p.destination !== b.peerId || p.type !== PACKET.DATA || p.body.length !== END_BODY || dropped > 0) return packet;
      dropped++;
      return null;
    };
    await b.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note at E");
    await until(() => roomOf(e).channelCount === 0 && dropped === 1, 10_000, "E closed the channel as idle, and M dropped its end of stream");
    await pause(100);
    const outcome = await b.send("note", { n: 2 }, { to: e.peerId }).then(
      () => "resolved",
      (error: Error & { code?: string }) => error.code,
    );
    await until(() => atE.length === 2 || errors.length > 0 || outcome !== "resolved", 10_000, "note 2 at E, or its loss reported");
    await pause(300);
    const arrived = atE.map((x) => x.payload.n).includes(2);
    // Arrived (E's later reset may be reported once), or told: by the send's rejection (a code), else by one error event naming E.
    if (arrived) expect({ outcome, more: errors.filter((x) => x.code !== "XPPG_ERR_UNREACHABLE" || x.peerId !== e.peerId), atMostOne: errors.length <= 1 }).toEqual({ outcome: "resolved", more: [], atMostOne: true });
    else if (outcome !== "resolved") expect({ outcome, errors }).toEqual({ outcome: "XPPG_ERR_UNREACHABLE", errors: [] });
    else expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: e.peerId }]);
  });

  it("an end of stream an older node never answers: A reads on until its bound, then resets the channel (the older node's loss, reported once); C's send after A's close arrives on it (before: the channel was reset at once)", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    tuned.older.add(c.peerId);
    tuned.limits.set(a.peerId, { idleTimeoutMs: 200 });
    await heard(a, c);
    await heard(c, a);
    const errorsAtA = routedErrorsOf(a);
    const errorsAtC = routedErrorsOf(c);
    const atC = collect<{ n: number }>(c, "note");
    const atA = collect<{ n: number }>(a, "note");
    await a.send("note", { n: 1 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    // A's sweep closes the channel: its end of stream reaches C, which does not answer and keeps the channel.
    await until(() => roomOf(a).channelCount === 0, 10_000, "A closed the channel as idle");
    // C's next send goes on that channel (C's only one), which A still reads: it arrives, and A opens no channel for it.
    await c.send("note", { n: 2 }, { to: a.peerId });
    await until(() => atA.length === 1, 10_000, "C's note at A");
    expect({ atA: atA.map((m) => m.payload.n), channelsAtA: roomOf(a).channelCount }).toEqual({ atA: [2], channelsAtA: 0 });
    // Then A's bound (routedOpenTimeoutMs): its reset ends C's channel, C's loss as from any older close.
    await until(() => roomOf(c).channelCount === 0, 15_000, "A's reset reached C");
    await pause(50);
    expect({ errorsAtA, errorsAtC }).toEqual({ errorsAtA: [], errorsAtC: [{ code: "XPPG_ERR_UNREACHABLE", peerId: a.peerId }] });
    expect(b.stats.forwardedUnicasts).toBeGreaterThan(0);
  });

  it("a peer churning channels (open, then end of stream) does not evict another peer's close still waiting for its answer: that close stays clean (before: the churn evicted it, with a reset)", async () => {
    // C - M - A - B - D and B - E: M, a hand-driven forwarder, holds C's answer to A's end of stream; meanwhile D
    // (one channel kept) opens a channel to A and ends it, over and over, by sending to A and to E in turn. A keeps two
    // channels, one per peer, and as many closing ones.
    const [a, b, d] = (await chain(3)) as [Playground, Playground, Playground];
    const c = await tcpNode(FIXED);
    const e = await tcpNode(FIXED);
    await e.join(`tcp://127.0.0.1:${b.port}`);
    const m = await HostileForwarder.between(a, c);
    tuned.limits.set(a.peerId, { idleTimeoutMs: 200, maxChannels: 2, maxChannelsPerPeer: 1 });
    tuned.limits.set(d.peerId, { maxChannels: 1 });
    await heard(a, c);
    await heard(c, a);
    await heard(d, a);
    await heard(d, e);
    await heard(a, d);
    const errors = [a, c, d].map(routedErrorsOf);
    const atC = collect<{ n: number }>(c, "note");
    const atA = collect<{ n: number }>(a, "note");
    const atE = collect<{ n: number }>(e, "note");
    let held: Uint8Array | undefined;
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (held !== undefined || p.destination !== a.peerId || p.type !== PACKET.DATA || p.body.length !== END_BODY) return packet;
      held = packet;
      return null;
    };
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "A's note at C");
    await until(() => held !== undefined, 10_000, "A closed its channel to C as idle, and M holds C's answer");
    // D's churn: each send opens a channel, and the next one, to the other node, ends it.
    for (let n = 1; n <= 6; n++) {
      await d.send("note", { n }, { to: n % 2 === 1 ? a.peerId : e.peerId });
      await until(() => atA.length + atE.length === n, 10_000, `D's note ${n}`);
    }
    await until(() => roomOf(d).channelCount === 1 && RoutingRoom.closingOf(roomOf(a)).count <= 2, 10_000, "A answered D's ends of stream");
    await pause(200);
    const resetsToC = () => m.packets.filter((p) => routeHeader(p).type === PACKET.RESET && routeHeader(p).destination === c.peerId).length;
    const before = { resetsToC: resetsToC(), reset: RoutingRoom.closingOf(roomOf(a)).reset };
    // C's answer, released, ends A's close cleanly: A does not drop it as data for a channel it forgot.
    m.inject(held!, "toB");
    await pause(300);
    expect({ ...before, droppedAtA: a.stats.droppedUnicasts, errors }).toEqual({ resetsToC: 0, reset: 0, droppedAtA: 0, errors: [[], [], []] });
  });

  it("a reset on an open channel (a hop's) is a loss: B's error event, XPPG_ERR_UNREACHABLE naming E, once; the next send opens a new channel", async () => {
    // A guard of existing behaviour (it passes on main too): a reset on an open channel is its loss.
    // B - M - D - E, M a hand-driven forwarder: it answers B's channel to E with a reset of its own making.
    const { b, m, e } = await forwardedPath(FIXED);
    const errors = routedErrorsOf(b);
    const atE = collect<{ n: number }>(e, "note");
    await b.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note at E");
    const open = routeHeader(m.packets.find((p) => routeHeader(p).type === PACKET.OPEN)!);
    m.inject(buildPacket(packetHeader(open.destination, open.origin, open.channel, !open.fromResponder), PACKET.RESET, new Uint8Array(0)), "toB");
    await until(() => errors.length > 0, 10_000, "B's error event");
    await b.send("note", { n: 2 }, { to: e.peerId });
    await until(() => atE.length === 2, 10_000, "the next note at E, on a new channel");
    await pause(50);
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: e.peerId }]);
  });
});
