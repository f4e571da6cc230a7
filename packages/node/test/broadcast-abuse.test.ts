import { describe, expect, it, vi } from "vitest";
import { ENVELOPE_VERSION } from "@xppg/framing";
import { collect, RawPeer, stopNodesAfterEach } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** Message ids carry their time: (ms since the epoch) × 1024 + a counter (INTERNALS.md). */
const MS_IDS = 1024;
/** No rate limit may drop the peer here: only replay protection is under test. */
const unlimited = { broadcastsPerSecond: Infinity, verificationsPerSecond: Infinity, messagesPerSecond: Infinity };

describe("Playground: replayed broadcasts (real TCP)", () => {
  it("a broadcast replayed after 9,000 newer ones from its origin is not delivered again, nor checked again", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const got = collect<{ n: number }>(pg, "news");
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const first = raw.signedBroadcast("news", { n: 0 }, raw.identity!);
    await raw.conn.send(first);
    for (let n = 1; n <= 9000; n++) void raw.conn.send(raw.signedBroadcast("news", { n }, raw.identity!));
    await vi.waitFor(() => expect(got).toHaveLength(9001), { timeout: 15_000 });
    // The same bytes again, 1,000 times, then one new broadcast to know they were all read.
    for (let i = 0; i < 1000; i++) void raw.conn.send(first);
    await raw.conn.send(raw.signedBroadcast("news", { n: 9001 }, raw.identity!));
    await vi.waitFor(() => expect(got).toHaveLength(9002), { timeout: 5000 });
    expect(got.filter((m) => m.payload.n === 0)).toHaveLength(1);
    expect(pg.stats.replayedBroadcasts).toBe(1000);
    expect(pg.stats.forgedMessages).toBe(0);
  });

  it("a broadcast whose signed time is older than broadcastMaxAgeMs is dropped", async () => {
    const pg = await tcpNode({ limits: { broadcastMaxAgeMs: 60_000 } });
    const got = collect<{ n: number }>(pg, "news");
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const signed = (n: number, id: number) =>
      RawPeer.bundle(
        raw.codec.encodeSigned({ version: ENVELOPE_VERSION, kind: "news", source: raw.peerId, destination: null, id, hopLimit: 0, payload: { n } }, (bytes) =>
          raw.identity!.sign(new Uint8Array([...new TextEncoder().encode("xppg-broadcast-v1:"), ...bytes])),
        ),
      );
    await raw.conn.send(signed(1, (Date.now() - 10 * 60_000) * MS_IDS)); // signed 10 minutes ago
    await raw.conn.send(signed(2, Date.now() * MS_IDS));
    await vi.waitFor(() => expect(got.map((m) => m.payload.n)).toEqual([2]));
    expect(pg.stats.replayedBroadcasts).toBe(1);
  });
});

describe("Playground: identities that together flood signature checks (real TCP)", () => {
  it("drop the flooders' broadcasts unchecked, then the flooders; every honest broadcast is delivered", async () => {
    // Each flooder stays under its own broadcast rate (turned off here): only the node-wide budget can stop them.
    // A budget this process can spend whatever its share of the CPU (60 checks a second, about 6 ms of CPU): with
    // 200, a runner at load 30 could fall short of checking 200 a second, and the flooders' runs of drops broke.
    const pg = await tcpNode({ limits: { verificationsPerSecond: 60, broadcastsPerSecond: Infinity, messagesPerSecond: Infinity } });
    const honest = await tcpNode();
    await honest.join(`tcp://127.0.0.1:${pg.port}`);
    const got = collect<{ n: number }>(pg, "ping");
    const flooders: RawPeer[] = [];
    for (let i = 0; i < 4; i++) flooders.push(await tcpRawPeer(pg));
    await vi.waitFor(() => expect(pg.peers).toHaveLength(5));
    const banned: string[] = [];
    pg.events.on("peer:left", (peer, reason) => {
      if (reason?.code === "XPPG_ERR_RATE_LIMITED") banned.push(peer.peerId);
    });
    const started = Date.now();
    // Each flooder: 500 signed broadcasts a second (ten times its share), until it is dropped or 20 s pass.
    // Paced by the clock, not by the timer's ticks: a loaded runner fires them late, and a flood of 10 a tick
    // could then stay under the budget (and never be dropped). A late tick sends all that is due (100 at most).
    const floods = flooders.map(async (raw) => {
      let n = 0;
      while (!raw.conn.isClosed && Date.now() - started < 20_000) {
        const due = Math.min((Date.now() - started) / 2, n + 100);
        while (n < due) void raw.conn.send(raw.signedBroadcast("ping", { n: -++n }, raw.identity!)).catch(() => {});
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    // The honest peer: one broadcast at a time, each waited for (looked for every 200 ms: at most 2 in a
    // 250 ms window, within its share of 15 / 5 peers), all through the flood.
    for (let n = 1; n <= 40; n++) {
      await honest.send("ping", { n });
      await vi.waitFor(() => expect(got.some((m) => m.payload.n === n)).toBe(true), { timeout: 5000, interval: 200 });
    }
    // The honest broadcasts can all be through before the flood has spent the budget's one-second burst
    // (a loaded runner starts the flooders late): wait for the first unchecked drop rather than expect it by now.
    await vi.waitFor(() => expect(pg.stats.unverifiedBroadcasts).toBeGreaterThan(0), { timeout: 10_000 });
    await vi.waitFor(() => expect(banned.sort()).toEqual(flooders.map((r) => r.peerId).sort()), { timeout: 20_000 });
    await Promise.all(floods);
    expect(pg.peers.map((p) => p.peerId)).toEqual([honest.peerId]);
    expect(pg.stats.forgedMessages).toBe(0);
  }, 40_000);
});
