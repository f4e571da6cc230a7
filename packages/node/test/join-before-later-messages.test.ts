import { describe, expect, it } from "vitest";
import { stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";
import { groupingProxy } from "./fixtures/grouping-proxy.js";

stopNodesAfterEach();

describe("a join and the peer's messages that came with its welcome", () => {
  it("the join resolves before the messages read in the same chunk as the welcome are handled", async () => {
    const listener = await tcpNode();
    // The listener greets each new peer at once, from its peer:joined handler: the message follows its welcome.
    listener.events.on("peer:joined", (peer) => void listener.send("greeting", "hi", { to: peer.peerId }));
    // The listener's first two frames (Noise message 2 and the record with its hello) pass at once; its next two (its
    // welcome, then the message its peer:joined handler sends) reach the dialler in one write.
    const proxy = await groupingProxy(listener.port!, { held: "listener", pass: 2, group: 2 });
    try {
      const dialler = await tcpNode({ listen: [] });
      const order: string[] = [];
      dialler.on("greeting", () => void order.push("message"));
      const peer = await dialler.join("127.0.0.1", proxy.port);
      order.push("joined");
      expect(peer.peerId).toBe(listener.peerId);
      await until(() => order.length === 2);
      // The welcome and the greeting reached the dialler in one write.
      expect(proxy.grouped().length).toBeGreaterThanOrEqual(2);
      expect(order).toEqual(["joined", "message"]);
    } finally {
      await proxy.close();
    }
  });
});
