// The discovery room's own bookkeeping, with its dial path answered in memory:
// what it remembers of the peers it reached stays bounded however many come.
import { describe, expect, it } from "vitest";
import { DiscoveryRoom, MAX_FOUND_PEERS } from "../src/discovery-room.js";
import { PeerTable } from "../src/peer-table.js";

describe("DiscoveryRoom", () => {
  it(`remembers at most ${MAX_FOUND_PEERS} found peers, forgetting the oldest first`, async () => {
    const table = new PeerTable({ localPeerId: "local", appName: "app", maxPeers: 8, offer: { min: 1, max: 1, capabilities: [] }, guard: undefined as never /* only admissions consult it */, maxClockSkewMs: 300_000, refused: () => {} });
    let reached = 0;
    const room = new DiscoveryRoom({
      localPeerId: "local",
      appName: "app",
      lan: null,
      table,
      dial: (address) => Promise.resolve({ peerId: `peer-${address}` }),
      discovered: () => {},
      report: (error) => {
        throw error;
      },
    });
    const total = MAX_FOUND_PEERS + 100;
    for (let i = 0; i < total; i++) {
      await new Promise<void>((resolve) => room.offer({ source: "lan", peerId: undefined, host: "192.0.2.1", port: 1000 + i } as never, () => (reached++, resolve())));
    }
    expect(reached).toBe(total);
    expect(room.found("peer-tcp://192.0.2.1:1000")).toBe(false);
    expect(room.found(`peer-tcp://192.0.2.1:${1000 + total - 1}`)).toBe(true);
    expect(room.found(`peer-tcp://192.0.2.1:${1000 + total - MAX_FOUND_PEERS}`)).toBe(true);
  });
});
