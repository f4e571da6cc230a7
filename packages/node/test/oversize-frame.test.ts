import { describe, expect, it, vi } from "vitest";
import { generateIdentity, secureConnection } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import { RawPeer, stopNodesAfterEach } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

describe("Playground: an oversize frame inside the encrypted stream (real TCP)", () => {
  it("drops the peer and counts a strike (one strike bans here)", async () => {
    const pg = await tcpNode({ limits: { banThreshold: 1 } });
    const identity = generateIdentity();
    // A peer whose own secure channel lets it send frames past the node's 1 MiB limit.
    const secure = await secureConnection(await tcpTransport().dial(`tcp://127.0.0.1:${pg.port}`), { identity, maxFrameSize: 4 * 1024 * 1024 });
    const raw = new RawPeer(secure, identity.peerId, secure.remotePeerId);
    await raw.hello();
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    await secure.send(new Uint8Array(2 * 1024 * 1024)).catch(() => {});
    const info = await secure.closed;
    expect(info.initiator).toBe("remote");
    await vi.waitFor(() => expect(pg.bans.map((b) => b.key)).toContain(`peer:${identity.peerId}`), { timeout: 3000 });
    expect(pg.stats.droppedPeers).toBe(1);
  });
});
