import { describe, expect, it, vi } from "vitest";
import { UPDATE_FORMAT, versionAtTime } from "@xppg/state";
import { CHECKS_PER_TURN, ENVELOPES_PER_TURN, STATE_ROWS_PER_ENVELOPE, VERIFICATION_EXTRA_ENVELOPES } from "../src/bundle-reader.js";
import { collect, stopNodesAfterEach, type RawPeer } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** No rate limit may drop the peer here: only how its frames are read is under test. */
const unlimited = { broadcastsPerSecond: Infinity, verificationsPerSecond: Infinity, messagesPerSecond: Infinity };

/** One frame holding `count` signed broadcasts numbered from `from` (single-envelope bundles, joined, are one bundle). */
function signedFrame(raw: RawPeer, from: number, count: number): Uint8Array {
  const parts = Array.from({ length: count }, (_, i) => raw.signedBroadcast("news", { n: from + i }, raw.identity!));
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}

/** One frame holding `updates` state updates of `rows` new keys each. */
function stateFrame(raw: RawPeer, updates: number, rows: number): Uint8Array {
  const version = versionAtTime(Date.now());
  const parts = Array.from({ length: updates }, (_, u) =>
    raw.envelope("xppg/state", { update: { format: UPDATE_FORMAT, seq: 1, entries: Array.from({ length: rows }, (_, i) => [`k${u}-${i}`, version, raw.peerId, i]) } }),
  );
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}

/** Records the most messages delivered between two turns of the event loop, until stopped. */
function perTurnMeter(delivered: () => number): { max: () => number; stop: () => void } {
  let last = delivered();
  let max = 0;
  let running = true;
  const tick = (): void => {
    const now = delivered();
    max = Math.max(max, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return { max: () => max, stop: () => void (running = false) };
}

describe("Playground: a peer's large bundles are read a slice per turn (real TCP)", () => {
  it("a frame of 600 signed broadcasts is handled at most a slice per turn, in order with the frame after it", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "news");
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const big = signedFrame(raw, 0, 600);
    const after = signedFrame(raw, 600, 100);
    const meter = perTurnMeter(() => got.length);
    await raw.conn.send(big);
    await raw.conn.send(after);
    await vi.waitFor(() => expect(got).toHaveLength(700), { timeout: 15_000 });
    meter.stop();
    expect(got.map((m) => m.payload.n)).toEqual(Array.from({ length: 700 }, (_, i) => i));
    // Read in one go, the first frame's 600 would all land between two turns; a turn handles one slice (two, by where the meter's tick falls).
    const perTurn = Math.ceil(ENVELOPES_PER_TURN / (1 + VERIFICATION_EXTRA_ENVELOPES));
    expect(meter.max()).toBeGreaterThan(0);
    expect(meter.max()).toBeLessThanOrEqual(2 * perTurn);
  });

  it("a frame of 450 small direct messages (about a sender's 64 KiB bundle) is read in one turn, not cut", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "chat");
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const parts = Array.from({ length: 450 }, (_, n) => raw.envelope("chat", { n }));
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      frame.set(p, at);
      at += p.byteLength;
    }
    expect(frame.byteLength).toBeLessThanOrEqual(64 * 1024);
    const meter = perTurnMeter(() => got.length);
    await raw.conn.send(frame);
    await vi.waitFor(() => expect(got).toHaveLength(450), { timeout: 15_000 });
    meter.stop();
    expect(got.map((m) => m.payload.n)).toEqual(Array.from({ length: 450 }, (_, i) => i));
    // Cut into slices, its messages would land over several turns (each cut costs the reader a pause and a turn).
    expect(meter.max()).toBe(450);
  });

  it("while one peer's big frames wait their turn, another peer's messages are read between the slices", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "news");
    const flooder = await tcpRawPeer(pg);
    const other = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(2));
    const frames = [signedFrame(flooder, 0, 2000)];
    const note = signedFrame(other, 10_000, 1);
    // The other peer's message is sent once the flooder's frame has started to be read (its first slice delivered).
    const sent = flooder.conn.send(frames[0]!);
    await vi.waitFor(() => expect(got.length).toBeGreaterThan(0), { timeout: 15_000 });
    await other.conn.send(note);
    await sent;
    await vi.waitFor(() => expect(got).toHaveLength(2001), { timeout: 15_000 });
    // Read in one go, the flooder's 2,000 would all come first; a slice per turn lets the other peer in before the end.
    const position = got.findIndex((m) => m.payload.n === 10_000);
    expect(position).toBeLessThan(2000);
  });

  it("signature checks are capped per turn across peers: three peers' frames of 200 signed broadcasts are checked a few per turn, in turns", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "news");
    const raws = [await tcpRawPeer(pg), await tcpRawPeer(pg), await tcpRawPeer(pg)];
    await vi.waitFor(() => expect(pg.peers).toHaveLength(3));
    const frames = raws.map((raw, i) => signedFrame(raw, i * 1000, 200));
    const meter = perTurnMeter(() => got.length);
    await Promise.all(raws.map((raw, i) => raw.conn.send(frames[i]!)));
    await vi.waitFor(() => expect(got).toHaveLength(600), { timeout: 20_000 });
    meter.stop();
    // Each peer's own slice holds 32 checks: without a cap across peers, a turn would check up to 96 here.
    expect(meter.max()).toBeGreaterThan(0);
    expect(meter.max()).toBeLessThanOrEqual(2 * CHECKS_PER_TURN);
    // Every peer's broadcasts arrive, each peer's in its order.
    for (let i = 0; i < 3; i++) {
      expect(got.map((m) => m.payload.n).filter((n) => n >= i * 1000 && n < i * 1000 + 200)).toEqual(Array.from({ length: 200 }, (_, k) => i * 1000 + k));
    }
  });

  it("state updates count by their rows: a frame of four 1,200-row updates is applied at most one update per turn", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const meter = perTurnMeter(() => pg.state.size);
    await raw.conn.send(stateFrame(raw, 4, 1200));
    await vi.waitFor(() => expect(pg.state.size).toBe(4800), { timeout: 15_000 });
    meter.stop();
    // A 1,200-row update costs more than a whole slice: read in one go, all 4,800 keys would land in one turn.
    expect(1200 / STATE_ROWS_PER_ENVELOPE).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN);
    expect(meter.max()).toBeGreaterThan(0);
    expect(meter.max()).toBeLessThanOrEqual(2400);
  });
});
