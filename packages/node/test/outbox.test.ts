import { describe, expect, it, vi } from "vitest";
import { collect, stopNodesAfterEach } from "./helpers.js";
import { leftOf, tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** No heartbeat drop during these tests: only the rules under test may drop a peer. */
const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

describe("outbox (real TCP)", () => {
  it("a send whose at-once write passes the node-wide maxQueuedBytes rejects with the closed code instead of hanging", async () => {
    const pg = await tcpNode({
      heartbeat: quietHeartbeat,
      limits: { maxFrameSize: 4 * 1024 * 1024, maxQueuedBytes: 2 * 1024 * 1024, writeStallTimeoutMs: 120_000 },
    });
    const left = leftOf(pg);
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    raw.conn.pause();
    let outcome: string | undefined;
    pg.send("blob", new Uint8Array(3 * 1024 * 1024), { to: raw.peerId }).then(
      () => (outcome = "resolved"),
      (error: { code?: string }) => (outcome = error.code),
    );
    // The peer is dropped by the node-wide bound; the send must settle (it used to wait forever).
    await vi.waitFor(() => expect(left).toEqual([{ peerId: raw.peerId, code: "XPPG_ERR_SLOW_PEER" }]), { timeout: 5000 });
    await vi.waitFor(() => expect(outcome).toBe("XPPG_ERR_STOPPED"), { timeout: 5000 });
  });
});
