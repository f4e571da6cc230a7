import { describe, expect, it, vi } from "vitest";
import { generateIdentity, secureConnection } from "@xppg/secure";
import { memoryTransport } from "@xppg/transport";
import type { XppgError } from "@xppg/errors";
import { Playground } from "../src/index.js";
import { MessageRouter } from "../src/message-router.js";
import { collect, memoryNode, nextEvent, RawPeer, until, node, stopNodesAfterEach } from "./helpers.js";

stopNodesAfterEach();

/** A node with one good peer, to prove the good peer is unaffected by a bad one. */
async function nodeWithGoodPeer(options: Parameters<typeof memoryNode>[1] = {}) {
  const target = await node("test-app", options);
  const good = await node();
  await good.join(target.addresses[0]!);
  const goodTexts = collect<{ text: string }>(target, "text");
  const errors: XppgError[] = [];
  target.events.on("error", (e) => {
    errors.push(e);
  });
  const stillServes = async () => {
    const before = goodTexts.length;
    await good.sendText("still fine");
    await until(() => goodTexts.length === before + 1, 5000, "good peer's text");
    expect(target.peers.map((p) => p.peerId)).toContain(good.peerId);
  };
  return { target, good, errors, stillServes };
}

async function rawPeer(target: Playground): Promise<RawPeer> {
  return RawPeer.dial(memoryTransport(), target.addresses[0]!);
}

describe("Playground: hostile peers lose only their own connection", () => {
  it("a first message that is not a hello", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.send("text", { text: "no hello" });
    const info = await raw.conn.closed;
    expect(info.initiator).toBe("remote");
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    expect(raw.received.some((m) => m.kind === "xppg/bye")).toBe(true);
    await stillServes();
  });

  it("garbage bytes instead of an envelope", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.conn.send(RawPeer.bundle(new Uint8Array([1, 0xff, 0x00, 0x13, 9, 9, 9, 9, 9, 9, 9, 9])));
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
    await stillServes();
  });

  it.each([
    ["a length beyond the frame", new Uint8Array([0xc1, 0xff, 0x00, 0x13, 1, 2])],
    ["a zero length", new Uint8Array([0, 0, 0, 0])],
    ["a frame that ends inside a length", new Uint8Array([0, 0])],
  ])("a bundle with %s", async (_what, frame) => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.conn.send(frame);
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    expect(errors[0]!.message).toMatch(/bundle/);
    await stillServes();
  });

  it("a handshake that never finishes", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer({ limits: { handshakeTimeoutMs: 100 } });
    // Connects and says nothing, not even the secure handshake.
    const conn = await memoryTransport().dial(target.addresses[0]!);
    await conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_HANDSHAKE_TIMEOUT");
    await stillServes();
  });

  it("one deadline for both handshakes: a peer slow in the secure one and silent after is dropped at the limit, not twice it", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer({ limits: { handshakeTimeoutMs: 600 } });
    const started = performance.now();
    const conn = await memoryTransport().dial(target.addresses[0]!);
    await new Promise((r) => setTimeout(r, 450));
    // Completes the secure handshake late, then never sends its hello.
    const secure = await secureConnection(conn, { identity: generateIdentity() });
    await secure.closed;
    // The limit is 600 ms from the connection; a second full limit after the secure handshake would end at about 1050 ms.
    expect(performance.now() - started).toBeLessThan(900);
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_HANDSHAKE_TIMEOUT");
    await stillServes();
  });

  it("a hello of the wrong protocol version", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.hello("test-app", 99);
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_MISMATCH");
    const bye = raw.received.find((m) => m.kind === "xppg/bye")!.payload as { code: string; reason: string };
    expect(bye.code).toBe("XPPG_ERR_PROTOCOL_MISMATCH");
    expect(bye.reason).toMatch(/protocol/);
    await stillServes();
  });

  it.each([
    ["a text without text", "text", { nottext: 1 }],
    ["an unknown reserved kind", "xppg/teleport", {}],
    ["a malformed state update", "xppg/state", { update: { format: 3, seq: 0, entries: [["k", -5, "w", 1]] } }],
    ["a malformed file offer", "xppg/file-offer", { t: "../../etc", name: "x", size: 1 }],
    ["a file chunk out of order", "xppg/file-offer", null],
  ])("%s", async (_what, kind, payload) => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    if (payload === null) {
      const t = "a".repeat(32);
      await raw.send("xppg/file-offer", { t, name: "f.bin", size: 10 });
      await raw.send("xppg/file-chunk", { t, seq: 3, data: new Uint8Array(2) });
    } else {
      await raw.send(kind, payload);
    }
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toMatch(/^XPPG_ERR_(PROTOCOL_VIOLATION|STATE_)/);
    await stillServes();
    expect(target.peers).toHaveLength(1);
  });

  it("a message with a forged source", async () => {
    const { target, good, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    await raw.send("text", { text: "I am someone else" }, { source: good.peerId });
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    expect(errors[0]!.message).toContain("claims to come from");
    await stillServes();
  });

  // A stream of one application kind takes a short way past the source, destination and kind checks once its first message passed them (issue 15).
  // Each case: the stream's kind, its n-th payload, the third message of the bundle, and what the violation says.
  it.each<[string, string, (n: number) => unknown, (raw: RawPeer, good: Playground) => Uint8Array, string]>([
    ["one of the same kind with a forged source", "chat", (n) => n, (raw, good) => raw.bareEnvelope("chat", 3, { source: good.peerId }), "claims to come from"],
    ["one of the same kind for another destination", "chat", (n) => n, (raw, good) => raw.bareEnvelope("chat", 3, { destination: good.peerId }), "sent a message for"],
    ["a second hello", "chat", (n) => n, (raw) => raw.bareEnvelope("xppg/hello", 3), "second xppg/hello"],
    ["the reserved kind file", "chat", (n) => n, (raw) => raw.bareEnvelope("file", 3), 'reserved kind "file"'],
    // "text" has a fixed shape: each of its messages is checked, however many came before.
    ["a text that is not { text: string }", "text", (n) => ({ text: String(n) }), (raw) => raw.bareEnvelope("text", { text: 5 }), "{ text: string }"],
  ])("a stream of one kind, then %s, in one bundle", async (_what, kind, payload, third, message) => {
    const { target, good, errors, stillServes } = await nodeWithGoodPeer();
    const got = collect(target, kind);
    const raw = await rawPeer(target);
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    await raw.conn.send(RawPeer.bundle(raw.bareEnvelope(kind, payload(1)), raw.bareEnvelope(kind, payload(2)), third(raw, good), raw.bareEnvelope(kind, payload(4))));
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    expect(errors[0]!.message).toContain(message);
    expect(got.filter((g) => g.src === raw.peerId).map((g) => g.payload)).toEqual([payload(1), payload(2)]);
    await stillServes();
  });

  it("a stream of one kind from one peer reaches the router once, then takes the short way", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const chats = collect<number>(target, "chat");
    const raw = await rawPeer(target);
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    // The real method, only counted.
    const deliverDirect = vi.spyOn(MessageRouter.prototype, "deliverDirect");
    try {
      for (const n of [1, 2, 3, 4]) await raw.send("chat", n);
      await until(() => chats.length === 4, 5000, "four chats");
      expect(deliverDirect.mock.calls.filter(([, source, kind]) => source === raw.peerId && kind === "chat")).toHaveLength(1);
    } finally {
      deliverDirect.mockRestore();
    }
    expect(chats.map((c) => c.payload)).toEqual([1, 2, 3, 4]);
    expect(errors).toEqual([]);
    await stillServes();
  });

  it("a stream of one kind whose handler is removed at its second message: the next ones are unhandled", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    const seen: unknown[] = [];
    const off = target.on("chat", (_src, _kind, payload) => {
      seen.push(payload);
      if (payload === 2) off();
    });
    const unhandled: string[] = [];
    target.events.on("message:unhandled", (src, kind) => {
      if (src === raw.peerId) unhandled.push(kind);
    });
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    await raw.conn.send(RawPeer.bundle(...[1, 2, 3, 4].map((n) => raw.bareEnvelope("chat", n))));
    await until(() => unhandled.length === 2, 5000, "messages 3 and 4 unhandled");
    expect(unhandled).toEqual(["chat", "chat"]);
    expect(seen).toEqual([1, 2]);
    expect(errors).toEqual([]);
    expect(target.peers.map((p) => p.peerId)).toContain(raw.peerId);
    await stillServes();
  });

  it("a stream of one kind whose handler bans the peer at its second message: the rest of the bundle is not delivered", async () => {
    const { target, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    const seen: unknown[] = [];
    target.on("chat", (src, _kind, payload) => {
      seen.push(payload);
      if (payload === 2) target.ban(src);
    });
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    await raw.conn.send(RawPeer.bundle(...[1, 2, 3, 4].map((n) => raw.bareEnvelope("chat", n))));
    await raw.conn.closed;
    expect(target.bans.map((b) => b.key)).toContain(`peer:${raw.peerId}`);
    await stillServes();
    expect(seen).toEqual([1, 2]);
  });

  it("a flood of messages", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer({ limits: { messagesPerSecond: 100, messageBurst: 200 } });
    const raw = await rawPeer(target);
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    const frame = raw.envelope("spam", { x: 1 });
    for (let i = 0; i < 1000 && !raw.conn.isClosed; i++) void raw.conn.send(frame).catch(() => {});
    const info = await raw.conn.closed;
    expect(info.initiator).toBe("remote");
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_RATE_LIMITED");
    await stillServes();
  });

  it("more half-open connections than maxPendingHandshakes", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer({ limits: { maxPendingHandshakes: 2 } });
    // Four connections that never start the secure handshake.
    const conns = await Promise.all([1, 2, 3, 4].map(() => memoryTransport().dial(target.addresses[0]!)));
    await until(() => conns.filter((c) => c.isClosed).length >= 2, 5000, "extra connections closed");
    expect(errors.some((e) => e.code === "XPPG_ERR_TOO_MANY_PEERS")).toBe(true);
    await stillServes();
  });

  it("a peer that goes silent is dropped after the heartbeat timeout", async () => {
    const a = await node("test-app", { heartbeat: { intervalMs: 50, timeoutMs: 200 } });
    const raw = await rawPeer(a);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw peer admitted");
    // The raw peer answers nothing, not even pings.
    const [info, reason] = await nextEvent(a, "peer:left");
    expect(info.peerId).toBe(raw.peerId);
    expect(reason?.code).toBe("XPPG_ERR_PEER_TIMEOUT");
    expect(raw.received.some((m) => m.kind === "xppg/ping")).toBe(true);
  });
});

describe("Playground: a peer that sends a kind named as one of the node's events", () => {
  it("(as a release before the node refused them might) has it unhandled, as any kind without a handler, and stays", async () => {
    const { target, errors, stillServes } = await nodeWithGoodPeer();
    const raw = await rawPeer(target);
    const unhandled: string[] = [];
    target.events.on("message:unhandled", (src, kind) => {
      if (src === raw.peerId) unhandled.push(kind);
    });
    await raw.hello();
    await until(() => target.peers.length === 2, 5000, "raw peer admitted");
    // Its own join was heard; the messages after it must make no event of theirs.
    const joined: string[] = [];
    target.events.on("peer:joined", (peer) => void joined.push(peer.peerId));
    const kinds = ["error", "peer:joined", "peer:left", "message:unhandled", "mesh:joined"];
    await raw.conn.send(RawPeer.bundle(...kinds.map((kind) => raw.bareEnvelope(kind, { code: "XPPG_ERR_FAKE", message: "not an error of the node" }))));
    await raw.conn.send(raw.signedBroadcast("error", { n: 1 }, raw.identity!));
    await until(() => unhandled.length === kinds.length + 1, 5000, "each kind unhandled");
    expect(unhandled).toEqual([...kinds, "error"]);
    expect(errors).toEqual([]);
    expect(joined).toEqual([]);
    expect(target.peers.map((p) => p.peerId)).toContain(raw.peerId);
    await stillServes();
  });
});
