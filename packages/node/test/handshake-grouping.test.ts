import { describe, expect, it } from "vitest";
import { roundTrip, stopNodesAfterEach } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";
import { groupingProxy } from "./fixtures/grouping-proxy.js";

stopNodesAfterEach();

describe("the dialler's first flight after the handshake", () => {
  it("message 3 and the dialler's hello reaching the listener in one chunk: the listener reads both and the join succeeds", async () => {
    const listener = await tcpNode();
    // The dialler's first frame (Noise message 1) passes at once; its next two (message 3 and the record that carries
    // its hello) reach the listener in one write.
    const proxy = await groupingProxy(listener.port!, { held: "dialler", pass: 1, group: 2 });
    try {
      const dialler = await tcpNode({ listen: [] });
      const joined = new Promise<string>((resolve) => listener.events.on("peer:joined", (peer) => resolve(peer.peerId)));
      const peer = await dialler.join("127.0.0.1", proxy.port);
      expect(peer.peerId).toBe(listener.peerId);
      expect(await joined).toBe(dialler.peerId);
      // Both went in the one write: message 3, then the record that carries the hello.
      expect(proxy.grouped().length).toBeGreaterThanOrEqual(2);
      await roundTrip(dialler, listener);
    } finally {
      await proxy.close();
    }
  });
});
