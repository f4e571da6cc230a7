import { describe, expect, it, vi } from "vitest";
import { PROTOCOL_VERSION } from "../src/index.js";
import { RawPeer, stopNodesAfterEach } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** No rate limit may drop the peer here: only when its end is reported is under test. */
const unlimited = { broadcastsPerSecond: Infinity, verificationsPerSecond: Infinity, messagesPerSecond: Infinity };

/** One frame holding `count` signed broadcasts (single-envelope bundles, joined, are one bundle). */
function signedFrame(raw: RawPeer, count: number): Uint8Array {
  const parts = Array.from({ length: count }, (_, n) => raw.signedBroadcast("news", { n }, raw.identity!));
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}

/** A hello offering `dup/1` (the side that accepted both connections decides between them), then the welcome. */
async function dupHello(raw: RawPeer): Promise<void> {
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["dup/1"], peerId: raw.peerId, listen: [], agent: "raw", time: Date.now() });
  await raw.send("xppg/welcome", null);
}

describe("a peer that closes without a goodbye while its last frames wait to be read", () => {
  it("and dials again at once is welcomed on its new connection, and leaves before it joins again", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const seen: string[] = [];
    pg.events.on("peer:joined", (peer) => void seen.push(`joined ${peer.peerId}`));
    pg.events.on("peer:left", (peer, reason) => void seen.push(`left ${peer.peerId} ${reason?.code}`));
    const first = await tcpRawPeer(pg, { hello: false });
    await dupHello(first);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    // 2,000 signed broadcasts take some 125 turns to check (16 a turn): the close arrives long before they are read.
    void first.conn.send(signedFrame(first, 2000));
    await first.conn.close();
    // The same peer restarted: the same identity, a new connection, dialled at once.
    const second = await tcpRawPeer(pg, { hello: false, identity: first.identity! });
    await dupHello(second);
    await vi.waitFor(() => expect(second.received.map((m) => m.kind)).toContain("xppg/welcome"));
    expect(second.received.map((m) => m.kind)).not.toContain("xppg/bye");
    await vi.waitFor(() => expect(seen).toHaveLength(3));
    expect(seen).toEqual([`joined ${first.peerId}`, `left ${first.peerId} XPPG_ERR_PEER_GONE`, `joined ${first.peerId}`]);
    expect(pg.peers.map((p) => p.peerId)).toEqual([first.peerId]);
    await second.conn.close();
  });
});
