import { describe, expect, it, vi } from "vitest";
import { stopNodesAfterEach } from "./helpers.js";
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
});
