import { Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Playground } from "../src/index.js";
import { collect, stopNodesAfterEach } from "./helpers.js";
import { leftOf, tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();
afterEach(() => void vi.restoreAllMocks());

/** Two started nodes on loopback, `b` joined to `a`, each seeing the other. */
async function connectedPair(limits: { maxFrameSize?: number } = {}) {
  const a = await tcpNode({ heartbeat: quietHeartbeat, limits });
  const b = await tcpNode({ heartbeat: quietHeartbeat, limits });
  await b.join(`tcp://127.0.0.1:${a.port}`);
  await vi.waitFor(() => {
    expect(a.peers.map((p) => p.peerId)).toEqual([b.peerId]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
  });
  return { a, b };
}

/** No heartbeat drop during these tests: only the rules under test may drop a peer. */
const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

/**
 * A 3 MiB send from `pg` (past the outbox's high-water mark, 1 MiB) to a raw peer that reads nothing: it waits. What
 * it came to, once settled: `value` "resolved" or the error, `code` "resolved" or the error's code.
 */
async function sendToPausedPeer(pg: Playground) {
  const raw = await tcpRawPeer(pg);
  await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
  raw.conn.pause();
  const o: { value: { code?: string; message: string } | "resolved" | undefined; code: string | undefined } = { value: undefined, code: undefined };
  pg.send("blob", new Uint8Array(3 * 1024 * 1024), { to: raw.peerId }).then(
    () => {
      o.value = o.code = "resolved";
    },
    (error: { code?: string; message: string }) => {
      o.value = error;
      o.code = error.code;
    },
  );
  return { raw, o };
}

describe("outbox (real TCP)", () => {
  it("a send whose at-once write passes the node-wide maxQueuedBytes rejects with the closed code (XPPG_ERR_CONNECTION_CLOSED) instead of hanging", async () => {
    const pg = await tcpNode({
      heartbeat: quietHeartbeat,
      limits: { maxFrameSize: 4 * 1024 * 1024, maxQueuedBytes: 2 * 1024 * 1024, writeStallTimeoutMs: 120_000 },
    });
    const left = leftOf(pg);
    const { raw, o } = await sendToPausedPeer(pg);
    // The peer is dropped by the node-wide bound; the send must settle (it used to wait forever).
    await vi.waitFor(() => expect(left).toEqual([{ peerId: raw.peerId, code: "XPPG_ERR_SLOW_PEER" }]), { timeout: 5000 });
    // The connection closed under it, this node running: XPPG_ERR_CONNECTION_CLOSED (before: XPPG_ERR_STOPPED, as if this node had stopped).
    await vi.waitFor(() => expect(o.code).toBe("XPPG_ERR_CONNECTION_CLOSED"), { timeout: 5000 });
    expect(pg.running).toBe(true);
  });

  it("a send waiting for a peer that does not read rejects with XPPG_ERR_STOPPED when this node stops (its own stop, not the connection's)", async () => {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { maxFrameSize: 4 * 1024 * 1024, writeStallTimeoutMs: 120_000 } });
    // Past the outbox's high-water mark (1 MiB), to a reader that takes nothing: it waits.
    const { o } = await sendToPausedPeer(pg);
    await Promise.resolve();
    expect(o.code).toBeUndefined();
    await pg.stop();
    await vi.waitFor(() => expect(o.code).toBe("XPPG_ERR_STOPPED"), { timeout: 5000 });
  });

  /** A node's 3 MiB send to a raw peer that reads nothing (`sendToPausedPeer`), seen still waiting. */
  async function waitingSend() {
    const pg = await tcpNode({ heartbeat: quietHeartbeat, limits: { maxFrameSize: 4 * 1024 * 1024, writeStallTimeoutMs: 120_000 } });
    const { raw, o } = await sendToPausedPeer(pg);
    await Promise.resolve();
    expect(o.value).toBeUndefined();
    return { pg, raw, o };
  }

  it("a send waiting when this node disconnects the peer (pg.disconnect) rejects with XPPG_ERR_CONNECTION_CLOSED naming the peer", async () => {
    const { pg, raw, o } = await waitingSend();
    pg.disconnect(raw.peerId);
    await vi.waitFor(() => expect(o.value).not.toBeUndefined(), { timeout: 5000 });
    const error = o.value as { code?: string; message: string };
    expect({ code: error.code, namesPeer: error.message.includes(raw.peerId) }).toEqual({ code: "XPPG_ERR_CONNECTION_CLOSED", namesPeer: true });
  });

  it("hands a message to the socket before send returns when nothing is queued, on every round trip", async () => {
    const { a, b } = await connectedPair();
    const got = collect(b, "ping");
    for (let round = 1; round <= 3; round++) {
      // Idle: what the last round sent has been taken (the connection's answer seen resolved).
      await vi.waitFor(() => expect(got).toHaveLength(round - 1));
      const write = vi.spyOn(Socket.prototype, "write");
      const sent = a.send("ping", round, { to: b.peerId });
      // Written within the call: a reply does not wait for a turn of the event loop.
      expect(write).toHaveBeenCalledTimes(1);
      write.mockRestore();
      await sent;
    }
    await vi.waitFor(() => expect(got.map((m) => m.payload)).toEqual([1, 2, 3]));
  });

  it("a message larger than the session's high-water mark (1 MiB) still returns a pending promise until it is drained", async () => {
    const { a, b } = await connectedPair({ maxFrameSize: 16 * 1024 * 1024 });
    const got = collect<Uint8Array>(b, "blob");
    const payload = new Uint8Array(8 * 1024 * 1024).fill(7);
    let settled = false;
    const sent = a.send("blob", payload, { to: b.peerId }).then(() => void (settled = true));
    // The socket drains on later turns of the event loop, never within this one's promise callbacks.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(settled).toBe(false);
    await sent;
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 10_000 });
    expect(got[0]!.payload.byteLength).toBe(payload.length);
  });

  it("many sends in one tick arrive in order (the first, written at once, and the rest, bundled)", async () => {
    const { a, b } = await connectedPair();
    const got = collect<number>(b, "n");
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) sends.push(a.send("n", i, { to: b.peerId }));
    await Promise.all(sends);
    await vi.waitFor(() => expect(got).toHaveLength(500));
    expect(got.map((m) => m.payload)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
