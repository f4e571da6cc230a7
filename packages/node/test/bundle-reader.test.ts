import { describe, expect, it, vi } from "vitest";
import { ENVELOPES_PER_TURN } from "../src/bundle-reader.js";
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
    expect(meter.max()).toBeGreaterThan(0);
    expect(meter.max()).toBeLessThanOrEqual(2 * ENVELOPES_PER_TURN);
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
});
