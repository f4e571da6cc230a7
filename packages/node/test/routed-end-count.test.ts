import { describe, expect, it, vi } from "vitest";
import type { Playground } from "../src/index.js";
import { RoutingRoom, type RoutingLimits } from "../src/routing-room.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { buildPacket, PACKET, packetHeader } from "../src/route-wire.js";
import { chain, FIXED, heard, routeHeader } from "./routed-helpers.js";
import { firstNote, forwardedPath, outcomeOf, pause, routedErrorsOf, stalledLinkPath } from "./fixtures/routed-setups.js";

// A reset after the other end's end of stream (README, "Routed unicast"): each end of stream counts the records of the
// other end's it received (`countedEnd`), and a reset after it is no loss only when that count takes in every record
// this end sent on the channel (none went after it) and no send still waits. Else the loss is reported once, with
// the records left unconfirmed: a send resolved into a stalled link behind a close, one that crossed a peer's stop.
// An end of stream with no count (a node from before counted ends) is weighed by what this end did after it: a reset
// after it is a loss only when a record of this end's went after it, or a send still waits.

stopNodesAfterEach();

/**
 * The routed limits a node has no option for, set per node by peer id (the real routing room); `arriving`, by peer id,
 * is called with each routed packet the node's room is handed, before the room reads it.
 */
const tuned = vi.hoisted(() => ({ limits: new Map<string, Partial<RoutingLimits>>(), rooms: new Map<string, RoutingRoom>(), older: new Set<string>(), overcounted: new Set<string>(), arriving: new Map<string, (packet: Uint8Array) => void>() }));
vi.mock("../src/routing-room.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/routing-room.js")>();
  class TunedRoutingRoom extends real.RoutingRoom {
    readonly #me: string;
    constructor(options: ConstructorParameters<typeof real.RoutingRoom>[0]) {
      super({ ...options, limits: { ...options.limits, ...tuned.limits.get(options.identity.peerId) } });
      this.#me = options.identity.peerId;
      tuned.rooms.set(this.#me, this);
    }
    override receive(...args: Parameters<InstanceType<typeof real.RoutingRoom>["receive"]>): void {
      if (args[1] instanceof Uint8Array) tuned.arriving.get(this.#me)?.(args[1]);
      super.receive(...args);
    }
  }
  return { ...real, RoutingRoom: TunedRoutingRoom };
});

/**
 * The secure channels of a node in `tuned.older` are made as before counted ends: the end of stream it sends is empty
 * and it answers none (no `onRemoteEnd`). A node in `tuned.overcounted` hears each counted end of stream as counting
 * 1000 records more than it did, as from a peer that lies about what it received (the count is sealed in the record:
 * only the other end can write it). The record layers and the rest are real.
 */
vi.mock("@xppg/secure", async (importOriginal) => {
  const real = await importOriginal<typeof import("@xppg/secure")>();
  const secureConnection: typeof real.secureConnection = (conn, options) => {
    const id = options.identity.peerId;
    const onEnd = options.onRemoteEnd;
    if (tuned.older.has(id)) return real.secureConnection(conn, { ...options, onRemoteEnd: undefined, countedEnd: false });
    if (tuned.overcounted.has(id) && onEnd !== undefined) return real.secureConnection(conn, { ...options, onRemoteEnd: (n) => onEnd(n === undefined ? n : n + 1000) });
    return real.secureConnection(conn, options);
  };
  return { ...real, secureConnection };
});

/** A routed end of stream's body: the tag and the three bytes of its count. */
const END_BODY = 16 + 3;
/** The body of an end of stream with no count (a node from before counted ends): the tag of an empty record. */
const UNCOUNTED_END_BODY = 16;

/** A node's `error` events with their words. */
function errorsWithWords(pg: Playground): { code: string; peerId: string | undefined; message: string }[] {
  const errors: { code: string; peerId: string | undefined; message: string }[] = [];
  pg.events.on("error", (e, peerId) => void errors.push({ code: e.code, peerId, message: e.message }));
  return errors;
}

describe("a reset after the other end's end of stream", { timeout: 30_000 }, () => {
  it("a peer's stop after everything arrived: the reset of the answer to its end of stream is no loss, no error event", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const errors = routedErrorsOf(a);
    const atC = await firstNote(a, c, "C");
    for (const n of [1, 2, 3]) await a.send("note", { n, big: new Uint8Array(100_000) }, { to: c.peerId });
    await until(() => atC.length === 4, 10_000, "A's notes at C");
    await c.stop();
    // A answers C's end of stream and keeps the closed channel for twice its bound (10 s); B, with no way to C any
    // more, resets the answer, and the reset ends it at once: the rule was asked, and said no loss.
    const room = tuned.rooms.get(a.peerId)!;
    const dropped = b.stats.droppedUnicasts;
    await until(() => b.stats.droppedUnicasts > dropped, 10_000, "B dropped A's answer to C's end of stream, and reset it");
    await until(() => RoutingRoom.closingOf(room).count === 0 && room.channelCount === 0, 5_000, "the reset ended A's channel, kept for 10 s else");
    await pause(300);
    expect(errors).toEqual([]);
  });

  it("C's sends resolve into its stalled link, A evicts the channel and resets it after its bound, unanswered: C's loss, one error event naming A and the records A did not count (before: taken for a clean close, the notes lost unreported)", async () => {
    // A - B - C and B - D (`stalledLinkPath`): C's link to B stops writing at `link.stall()`; what C sends is taken by
    // its outbox towards B (under 1 MiB), so its sends resolve. C's answer to A's end of stream waits behind them, past
    // A's bound.
    const { link, a, c, d } = await stalledLinkPath((n) => {
      // A's bound is shorter than C's (5 s, kept twice once both ends of stream are in): C still has the channel at A's reset.
      tuned.limits.set(n.a.peerId, { maxChannels: 1, routedOpenTimeoutMs: 2_000 });
    });
    const errorsAtC = errorsWithWords(c);
    const atA = collect<{ n: number }>(a, "note");
    const atD = collect<{ n: number }>(d, "note");
    await firstNote(a, c, "C");
    link.stall();
    const big = new Uint8Array(200_000);
    const outcomes = await Promise.all([1, 2].map((n) => c.send("note", { n, big }, { to: a.peerId }).then(() => "resolved", (error: Error & { code?: string }) => error.code)));
    expect({ outcomes, held: link.heldBytes > 0 }).toEqual({ outcomes: ["resolved", "resolved"], held: true });
    // A makes room for a channel to D: its end of stream reaches C (counting none of C's records), then its reset.
    await a.send("note", { n: 7 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    await until(() => errorsAtC.length > 0, 15_000, "A's reset told at C");
    link.release();
    await until(() => a.stats.droppedUnicasts > 0, 10_000, "what C's link held reaches A, which forgot the channel");
    await pause(300);
    expect({ atA: atA.map((m) => m.payload.n), errors: errorsAtC.map((e) => ({ code: e.code, peerId: e.peerId })) }).toEqual({ atA: [], errors: [{ code: "XPPG_ERR_UNREACHABLE", peerId: a.peerId }] });
    expect(errorsAtC[0]!.message).toMatch(/reset after its other end's end of stream, which counted all but [1-9]\d* of the records this node sent on it/);
  });

  it("a send crossing the other end's stop: B's note, sent before E's end of stream reached it and reset by a hop with no way to E, is reported once (before: taken for a clean close, lost unreported)", async () => {
    // B - M - D - E, M a hand-driven forwarder: it holds E's end of stream (sent at E's stop) and then the first reset
    // towards B, so B sends on the channel meanwhile; then it hands them on, the end of stream first.
    const { b, m, e } = await forwardedPath(FIXED);
    // E's broadcasts do not cross M: however soon word of E's leaving would reach B, B keeps its route to E, as in the
    // moment before it does.
    m.withhold = e.peerId;
    const errors = routedErrorsOf(b);
    const atE = await firstNote(b, e, "E");
    const held: Uint8Array[] = [];
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (p.destination !== b.peerId) return packet;
      const end = held.length === 0 && p.type === PACKET.DATA && p.body.length === END_BODY;
      if (!end && !(held.length === 1 && p.type === PACKET.RESET)) return packet;
      held.push(packet);
      return null;
    };
    await e.stop();
    await until(() => held.length === 1, 10_000, "M holds E's end of stream");
    const outcome = await b.send("note", { n: 1 }, { to: e.peerId }).then(() => "resolved", (error: Error & { code?: string }) => error.code);
    await until(() => held.length === 2, 10_000, "M holds the reset of B's note");
    m.inject(held[0]!, "toB");
    await pause(200);
    m.inject(held[1]!, "toB");
    await until(() => errors.length > 0, 10_000, "B's error event");
    await pause(300);
    expect({ outcome, atE: atE.map((x) => x.payload.n), errors }).toEqual({ outcome: "resolved", atE: [0], errors: [{ code: "XPPG_ERR_UNREACHABLE", peerId: e.peerId }] });
  });

  it("an end of stream with no count (an older node's stop after everything arrived): the reset of the answer to it is no loss, no error event, as between two nodes of that release", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    tuned.older.add(c.peerId);
    await heard(a, c);
    await firstNote(a, c, "C");
    const errors = routedErrorsOf(a);
    // C's stop sends its empty end of stream; A answers, and B, with no way to C any more, resets the answer: no
    // record of A's went after C's end, and no send waits.
    const room = tuned.rooms.get(a.peerId)!;
    const dropped = b.stats.droppedUnicasts;
    await c.stop();
    await until(() => b.stats.droppedUnicasts > dropped, 10_000, "B dropped A's answer to C's end of stream, and reset it");
    await until(() => RoutingRoom.closingOf(room).count === 0 && room.channelCount === 0, 5_000, "the reset ended A's channel, kept for 10 s else");
    await pause(300);
    expect(errors).toEqual([]);
  });

  it("an end of stream with no count, then a reset, while sends of this end's wait behind its stalled link: each of those sends rejects with XPPG_ERR_UNREACHABLE, its loss told, and none of them arrives (not resolved into a channel the other end forgot)", async () => {
    // A - B - C and B - D (`stalledLinkPath`), A of the release before counted ends: C's burst on A's channel waits on
    // C's stalled link; A evicts the channel (its end of stream, with no count, reaches C, whose answer waits behind
    // the burst) and resets it at its bound, unanswered.
    const { link, a, c, d } = await stalledLinkPath((n) => {
      tuned.older.add(n.a.peerId);
      tuned.limits.set(n.a.peerId, { maxChannels: 1, routedOpenTimeoutMs: 2_000 });
    });
    const errorsAtC = routedErrorsOf(c);
    const atA = collect<{ n: number }>(a, "note");
    const atD = collect<{ n: number }>(d, "note");
    await firstNote(a, c, "C");
    link.stall();
    // Six 300 KB notes, more than C's outbox towards B and its secure channel take: the later ones wait.
    const big = new Uint8Array(300_000);
    const sent = [1, 2, 3, 4, 5, 6].map((n) => outcomeOf(c.send("note", { n, big }, { to: a.peerId })));
    await until(() => link.heldBytes > 0, 10_000, "C's link holds its first sends");
    await a.send("note", { n: 7 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    // A's reset ends C's channel (kept twice C's bound, 10 s, else).
    const room = tuned.rooms.get(c.peerId)!;
    await until(() => room.channelCount === 0 && RoutingRoom.closingOf(room).count === 0, 8_000, "A's reset ended C's channel");
    await pause(100);
    const atReset = sent.map((o) => (o.value === undefined ? "waiting" : o.value === "resolved" ? o.value : o.value.code));
    link.release();
    await until(() => sent.every((o) => o.value !== undefined), 10_000, "C's sends settled");
    await pause(300);
    const rejected = sent.flatMap((o, i) => (o.value !== undefined && o.value !== "resolved" ? [i + 1] : []));
    expect(rejected.length).toBeGreaterThan(0);
    expect({ atReset: atReset.filter((x) => x !== "resolved"), arrivedOfRejected: atA.map((m) => m.payload.n).filter((n) => rejected.includes(n)), errorsAtC }).toEqual({
      atReset: rejected.map(() => "XPPG_ERR_UNREACHABLE"),
      arrivedOfRejected: [],
      errorsAtC: [],
    });
    const first = sent[rejected[0]! - 1]!.value as Error;
    expect(first.message).toMatch(/reset after its other end's end of stream, which carried no count \(a release from before counted ends\), with [1-9]\d* (record\(s\) of this node's sent after it|send\(s\) of this node's still waiting)/);
  });

  it("an end of stream with no count, then a reset, when this end sealed records after it came: the loss is reported once, one error event naming the peer, with the records sent after it", async () => {
    // A - B - C, C of the release before counted ends. As C's end of stream (at its stop) reaches A, A sends two
    // notes in the same turn, before its record layer tells of the end: the first is sealed at once, the second at
    // the turn's end, after the end came (as A's answer seals what it holds). B, with no way to C any more, resets it.
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    tuned.older.add(c.peerId);
    await heard(a, c);
    await firstNote(a, c, "C");
    const errors = errorsWithWords(a);
    const sends: ReturnType<typeof outcomeOf>[] = [];
    tuned.arriving.set(a.peerId, (packet) => {
      const p = routeHeader(packet);
      if (sends.length > 0 || p.origin !== c.peerId || p.type !== PACKET.DATA || p.body.length !== UNCOUNTED_END_BODY) return;
      queueMicrotask(() => {
        for (const n of [1, 2]) sends.push(outcomeOf(a.send("note", { n }, { to: c.peerId })));
      });
    });
    const dropped = b.stats.droppedUnicasts;
    await c.stop();
    await until(() => b.stats.droppedUnicasts > dropped, 10_000, "B dropped A's answer to C's end of stream, and reset it");
    await until(() => errors.length > 0, 5_000, "A's error event");
    await pause(300);
    expect({ sends: sends.map((o) => o.value), errors: errors.map((e) => ({ code: e.code, peerId: e.peerId })) }).toEqual({ sends: ["resolved", "resolved"], errors: [{ code: "XPPG_ERR_UNREACHABLE", peerId: c.peerId }] });
    expect(errors[0]!.message).toMatch(/which carried no count \(a release from before counted ends\), with [1-9]\d* record\(s\) of this node's sent after it/);
  });

  it("an end of stream counting more records than this end sent: the channel is closed with XPPG_ERR_PROTOCOL_VIOLATION naming the peer, once, and the next send opens a new channel and arrives", async () => {
    const [a, , c] = (await chain(3)) as [Playground, Playground, Playground];
    tuned.overcounted.add(a.peerId);
    tuned.limits.set(c.peerId, { idleTimeoutMs: 200 });
    await heard(a, c);
    const errors = routedErrorsOf(a);
    const atC = await firstNote(a, c, "C");
    // C's idle close: its end of stream, heard at A as counting 1001 of A's one record.
    await until(() => errors.length > 0, 10_000, "A's error event");
    await a.send("note", { n: 1 }, { to: c.peerId });
    await until(() => atC.length === 2, 10_000, "the next note at C, on a new channel");
    await pause(300);
    expect(errors).toEqual([{ code: "XPPG_ERR_PROTOCOL_VIOLATION", peerId: c.peerId }]);
  });

  it("an end of stream replayed by a hop on another channel: that channel fails as XPPG_ERR_DECRYPT_FAILED, one error event naming its peer; the next send opens a new channel and arrives", async () => {
    // B - M - D - E, B keeping one channel: B's channel to E is evicted by one to D, and E's answering end of stream,
    // copied by M, is sent again on the channel to D.
    const { b, m, d, e } = await forwardedPath(FIXED);
    tuned.limits.set(b.peerId, { maxChannels: 1 });
    await heard(b, d);
    const errors = routedErrorsOf(b);
    const atE = collect<{ n: number }>(e, "note");
    const atD = collect<{ n: number }>(d, "note");
    await b.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the note at E");
    await b.send("note", { n: 2 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "the note at D");
    const isEnd = (p: ReturnType<typeof routeHeader>, from: string) => p.origin === from && p.destination === b.peerId && p.type === PACKET.DATA && p.body.length === END_BODY;
    await until(() => m.packets.some((p) => isEnd(routeHeader(p), e.peerId)), 10_000, "E's end of stream passed M");
    const end = routeHeader(m.packets.find((p) => isEnd(routeHeader(p), e.peerId))!);
    const toD = routeHeader(m.packets.find((p) => routeHeader(p).type === PACKET.OPEN && routeHeader(p).destination === d.peerId)!);
    m.inject(buildPacket(packetHeader(d.peerId, b.peerId, toD.channel, true), PACKET.DATA, end.body.slice()), "toB");
    await until(() => errors.length > 0, 10_000, "B's error event");
    await b.send("note", { n: 3 }, { to: d.peerId });
    await until(() => atD.length === 2, 10_000, "the next note at D, on a new channel");
    await pause(300);
    expect(errors).toEqual([{ code: "XPPG_ERR_DECRYPT_FAILED", peerId: d.peerId }]);
  });
});
