import { describe, expect, it, vi } from "vitest";
import { collect, stopNodesAfterEach } from "./helpers.js";
import { errorsOf, leftOf, tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** No heartbeat drop during these tests: only the rules under test may drop a peer. */
const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

describe("Playground: a peer that stops reading (real TCP)", () => {
  it("is dropped once 64 MiB wait for it, as a slow peer, without the drop recursing, and leaves the peer list at once", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat });
    const errors = errorsOf(pg);
    const left = leftOf(pg);
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    raw.conn.pause();
    // 100 MiB of broadcasts queued without awaiting (what the 64 MiB limit is for), all in one tick.
    const payload = new Uint8Array(512 * 1024);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) sends.push(pg.send("blob", payload).catch(() => {}));
    await vi.waitFor(() => expect(left).toEqual([{ peerId: raw.peerId, code: "XPPG_ERR_SLOW_PEER" }]), { timeout: 3000 });
    expect(pg.peers).toEqual([]);
    // Our own stack is never blamed on the peer: no protocol violation, no RangeError.
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_SLOW_PEER"]);
    await Promise.all(sends);
  });

  it("that takes nothing for writeStallTimeoutMs is dropped as slow, so an awaited send does not hang", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { writeStallTimeoutMs: 1000 } });
    const left = leftOf(pg);
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    raw.conn.pause();
    const payload = new Uint8Array(256 * 1024);
    let sent = 0;
    const sender = (async () => {
      // Each send awaited, as the README advises; far below the 64 MiB queue limit.
      while (pg.peers.length > 0 && sent < 100) {
        await pg.send("blob", payload, { to: raw.peerId }).catch(() => {});
        sent++;
      }
    })();
    await vi.waitFor(() => expect(left).toEqual([{ peerId: raw.peerId, code: "XPPG_ERR_SLOW_PEER" }]), { timeout: 6000 });
    await sender;
    expect(sent * payload.length).toBeLessThan(64 * 1024 * 1024);
  });

  it("does not hold back awaited broadcasts to the peers that read", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { writeStallTimeoutMs: 120_000 } });
    const honest = await tcpNode({ heartbeat: quietHeartbeat });
    await honest.join(`tcp://127.0.0.1:${pg.port}`);
    const got = collect(honest, "blob");
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(2));
    raw.conn.pause();
    const payload = new Uint8Array(64 * 1024);
    const count = 300; // 19 MiB: far more than the socket buffers of the peer that stopped reading hold
    const sender = (async () => {
      for (let i = 0; i < count; i++) await pg.send("blob", payload);
    })();
    await vi.waitFor(() => expect(got.length).toBe(count), { timeout: 15_000 });
    await sender;
    expect(pg.peers.map((p) => p.peerId)).toContain(honest.peerId);
  });

  it("bounds the bytes queued for all peers together: the largest queues are dropped as slow, the reader stays", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { writeStallTimeoutMs: 120_000, maxQueuedBytes: 8 * 1024 * 1024 } });
    const left = leftOf(pg);
    const honest = await tcpNode({ heartbeat: quietHeartbeat });
    await honest.join(`tcp://127.0.0.1:${pg.port}`);
    const got = collect(honest, "blob");
    const slow = [await tcpRawPeer(pg), await tcpRawPeer(pg), await tcpRawPeer(pg)];
    await vi.waitFor(() => expect(pg.peers).toHaveLength(4));
    for (const raw of slow) raw.conn.pause();
    const payload = new Uint8Array(64 * 1024);
    const count = 400; // 25 MiB to each peer: under the 64 MiB per peer, over 8 MiB for all
    const sender = (async () => {
      for (let i = 0; i < count; i++) await pg.send("blob", payload);
    })();
    await vi.waitFor(() => expect(got.length).toBe(count), { timeout: 20_000 });
    await sender;
    expect(left.map((l) => l.code)).toEqual(["XPPG_ERR_SLOW_PEER", "XPPG_ERR_SLOW_PEER", "XPPG_ERR_SLOW_PEER"]);
    expect(new Set(left.map((l) => l.peerId))).toEqual(new Set(slow.map((r) => r.peerId)));
    expect(pg.peers.map((p) => p.peerId)).toEqual([honest.peerId]);
  });

  it("a pause of this node's own event loop longer than writeStallTimeoutMs does not drop a peer that reads", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { writeStallTimeoutMs: 300 } });
    const left = leftOf(pg);
    const honest = await tcpNode({ heartbeat: quietHeartbeat });
    await honest.join(`tcp://127.0.0.1:${pg.port}`);
    const got = collect(honest, "blob");
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const payload = new Uint8Array(512 * 1024);
    // 4 MiB queued at once: over the socket's buffers, so writes are in flight while the loop is blocked.
    const sends = Array.from({ length: 8 }, () => pg.send("blob", payload, { to: honest.peerId }));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    // The whole process stalls (a long synchronous task, a paused VM): neither side runs, so nobody makes progress.
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      // busy: the event loop does not turn
    }
    await Promise.all(sends);
    await vi.waitFor(() => expect(got.length).toBe(8), { timeout: 10_000 });
    expect(left).toEqual([]);
    expect(pg.peers.map((p) => p.peerId)).toEqual([honest.peerId]);
  });
});
