import { describe, expect, it } from "vitest";
import { ENVELOPES_PER_CLOCK, ENVELOPES_PER_TURN, FINISH_SLICES, LONG_SLICE_ENVELOPES } from "../src/bundle-reader.js";
import { collect, nextEvent, stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";
import { describeFloodGoodbye } from "./goodbye-flood.js";

stopNodesAfterEach();

/**
 * A peer that sends a burst, says goodbye and closes: the receiver reads at
 * most a slice of envelopes per turn and holds the connection paused
 * between slices, so the peer's close reaches it while much of the burst
 * (and the goodbye behind it) still waits to be read. What arrived before
 * the close must reach the handlers, in order, and `peer:left` must carry
 * the peer's reason, not "the peer went away". What is bounded: the work
 * of the turn the close arrives in, at FINISH_SLICES slices of envelopes
 * (4,096), or a slice the clock ran on (at most LONG_SLICE_ENVELOPES, and
 * the clock reads every ENVELOPES_PER_CLOCK) and the 3 slices more that
 * `finish` reads then; past it the rest is dropped unread and counted
 * (`stats.droppedLastMessages`), and only the last envelope, the goodbye,
 * is read. So each message is handled, in order, or counted, and no turn
 * hands more than the budget to the handlers.
 */
const BUDGET = LONG_SLICE_ENVELOPES + ENVELOPES_PER_CLOCK + (FINISH_SLICES - 1) * ENVELOPES_PER_TURN;
describeFloodGoodbye("a peer that floods, says goodbye and closes", BUDGET);

describe("a peer that floods signed broadcasts, says goodbye and closes (real TCP)", () => {
  it("each broadcast is handed over in order or counted as dropped unchecked, and peer:left has the peer's reason (the checks per turn: bundle-reader-finish.test.ts)", async () => {
    const unlimited = { broadcastsPerSecond: Infinity, verificationsPerSecond: Infinity, messagesPerSecond: Infinity };
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "news");
    const raw = await tcpRawPeer(pg);
    await until(() => pg.peers.length === 1, 10_000, "the raw peer to join");
    const before = pg.stats.unverifiedBroadcasts;
    const parts = Array.from({ length: 600 }, (_, n) => raw.signedBroadcast("news", { n }, raw.identity!));
    parts.push(raw.envelope("xppg/bye", { code: "XPPG_ERR_PEER_SHUTDOWN", reason: "shutting down" }));
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      frame.set(p, at);
      at += p.byteLength;
    }
    const left = nextEvent(pg, "peer:left");
    await raw.conn.send(frame);
    await raw.conn.close();
    const [, reason] = await left;
    expect(reason?.code, reason?.message).toBe("XPPG_ERR_PEER_SHUTDOWN");
    const dropped = pg.stats.unverifiedBroadcasts - before;
    expect(got.length + dropped).toBe(600);
    // Those handed over came in order.
    const ns = got.map((m) => m.payload.n);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
  });
});
