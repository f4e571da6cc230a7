import { describe, expect, it } from "vitest";
import { generateIdentity, secureConnection } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import { PROTOCOL_VERSION } from "../src/index.js";
import { RawPeer, stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

describe("what a new link sends after the handshake", () => {
  it("leaves after join resolves: the application's first message arrives before the state digest and the observed address", async () => {
    const identity = generateIdentity();
    let raw: RawPeer | undefined;
    const listener = await tcpTransport().listen("tcp://127.0.0.1:0", (conn) => {
      void secureConnection(conn, { identity }).then(async (secure) => {
        raw = new RawPeer(secure, identity.peerId, secure.remotePeerId);
        await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["reach/1"], peerId: raw.peerId, listen: [], agent: "raw" });
        await raw.send("xppg/welcome", null);
      });
    });
    try {
      const pg = await tcpNode();
      const peer = await pg.join(`tcp://127.0.0.1:${listener.port}`);
      expect(peer.peerId).toBe(identity.peerId);
      await pg.send("note", { n: 1 }, { to: peer.peerId });
      await until(() => raw!.received.some((m) => m.kind === "xppg/state-hello") && raw!.received.some((m) => m.kind === "xppg/reach-observed"), 5000, "the link's greetings");
      const kinds = raw!.received.map((m) => m.kind);
      expect(kinds.slice(0, 3)).toEqual(["xppg/hello", "xppg/welcome", "note"]);
      expect(kinds).toContain("xppg/state-hello");
      expect(kinds).not.toContain("<undecodable>");
    } finally {
      await listener.close();
    }
  });
});
