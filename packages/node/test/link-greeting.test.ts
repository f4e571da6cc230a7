import { describe, expect, it } from "vitest";
import type { Playground } from "../src/index.js";
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

  /** A raw acceptor offering what a node greets (state, reach, pex); `whenJoined` runs on the dialler once the link is open. */
  async function greetedAfter(whenJoined: (pg: Playground, peerId: string) => void, onJoinedEvent: boolean): Promise<{ kinds: string[]; known: number }> {
    const identity = generateIdentity();
    let raw: RawPeer | undefined;
    const listener = await tcpTransport().listen("tcp://127.0.0.1:0", (conn) => {
      void secureConnection(conn, { identity }).then(async (secure) => {
        raw = new RawPeer(secure, identity.peerId, secure.remotePeerId);
        await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["reach/1", "pex/1", "mesh/1", "route/1"], peerId: raw.peerId, listen: ["tcp://127.0.0.1:9"], agent: "raw" });
        await raw.send("xppg/welcome", null);
      });
    });
    try {
      const pg = await tcpNode();
      if (onJoinedEvent) pg.events.on("peer:joined", (p) => whenJoined(pg, p.peerId));
      const joined = await pg.join(`tcp://127.0.0.1:${listener.port}`).then(
        (p) => p.peerId,
        () => undefined,
      );
      if (!onJoinedEvent && joined !== undefined) whenJoined(pg, joined);
      // The link closes (this node's doing): everything it was ever sent has arrived by then.
      await until(() => raw !== undefined && raw.conn.isClosed, 5000, "the link's close");
      // A turn later still: the greeting, had it run, has run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return { kinds: raw!.received.map((m) => m.kind), known: pg.connections.known };
    } finally {
      await listener.close();
    }
  }

  const GREETINGS = ["xppg/state-hello", "xppg/reach-observed", "xppg/pex"];

  it("is not sent on a link a peer:joined listener disconnected in the same turn, and its addresses are not learnt", async () => {
    const { kinds, known } = await greetedAfter((pg, peerId) => void pg.disconnect(peerId), true);
    expect(kinds.slice(0, 2)).toEqual(["xppg/hello", "xppg/welcome"]);
    expect(kinds.filter((k) => GREETINGS.includes(k) || k.startsWith("xppg/reach-"))).toEqual([]);
    // The greeting is also where a neighbour's addresses are learnt (and a dial-back asked of it): not for this link.
    expect(known).toBe(0);
  });

  it("is not sent on a link of a node stopped as join resolved", async () => {
    const { kinds, known } = await greetedAfter((pg) => void pg.stop(), false);
    expect(kinds.slice(0, 2)).toEqual(["xppg/hello", "xppg/welcome"]);
    expect(kinds.filter((k) => GREETINGS.includes(k) || k.startsWith("xppg/reach-"))).toEqual([]);
    // The greeting is also where a neighbour's addresses are learnt (and a dial-back asked of it): not for this link.
    expect(known).toBe(0);
  });
});
