import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { Playground, type NatResult, type PlaygroundOptions } from "../src/index.js";
import { collect, mappedResult, nextEvent, roundTrip, until, node, stopNodesAfterEach, track } from "./helpers.js";

stopNodesAfterEach();

describe("Playground: joining and messaging", () => {
  it("joins a peer, lists it on both sides and exchanges text", async () => {
    const a = await node();
    const b = await node();
    const joined = nextEvent(a, "peer:joined");
    const peer = await b.join(a.addresses[0]!);
    expect(peer.peerId).toBe(a.peerId);
    expect(peer.outbound).toBe(true);
    const [seen] = await joined;
    expect(seen.peerId).toBe(b.peerId);
    expect(a.peers.map((p) => p.peerId)).toEqual([b.peerId]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);

    const atA = collect<{ text: string }>(a, "text");
    const atB = collect<{ text: string }>(b, "text");
    await b.sendText("hello a");
    await a.sendText("hello b");
    await until(() => atA.length === 1 && atB.length === 1, 5000, "texts");
    expect(atA[0]).toEqual({ src: b.peerId, payload: { text: "hello a" } });
    expect(atB[0]).toEqual({ src: a.peerId, payload: { text: "hello b" } });
  });

  it("broadcasts to every peer, or sends to one with `to`", async () => {
    const hub = await node();
    const x = await node();
    const y = await node();
    await x.join(hub.addresses[0]!);
    await y.join(hub.addresses[0]!);
    await until(() => hub.peers.length === 2, 5000, "two peers");
    const atX = collect(x, "move");
    const atY = collect(y, "move");
    await hub.send("move", { x: 1 });
    await hub.send("move", { x: 2 }, { to: y.peerId });
    await until(() => atX.length === 1 && atY.length === 2, 5000, "moves");
    expect(atX.map((m) => m.payload)).toEqual([{ x: 1 }]);
    expect(atY.map((m) => m.payload)).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it("carries Uint8Array payload values as bytes", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const got = collect<{ blob: Uint8Array }>(a, "blob");
    const blob = new Uint8Array(100_000).map((_, i) => i % 251);
    await b.send("blob", { blob });
    await until(() => got.length === 1, 5000, "blob");
    expect(got[0]!.payload.blob).toBeInstanceOf(Uint8Array);
    expect(got[0]!.payload.blob).toEqual(blob);
  });

  it("delivers messages in order", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const got = collect<{ i: number }>(a, "seq");
    for (let i = 0; i < 2000; i++) void b.send("seq", { i });
    await until(() => got.length === 2000, 10_000, "2000 messages");
    expect(got.map((m) => m.payload.i)).toEqual([...Array(2000).keys()]);
  });

  it("removes a handler with the function `on` returns", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const seen: unknown[] = [];
    const off = a.on("ping-me", (_s, _k, p) => {
      seen.push(p);
    });
    off();
    const unhandled = nextEvent(a, "message:unhandled");
    await b.send("ping-me", 1);
    expect(await unhandled).toEqual([b.peerId, "ping-me"]);
    expect(seen).toEqual([]);
  });

  it("reports a throwing handler once and keeps the peer", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    a.on("boom", () => {
      throw new Error("handler bug");
    });
    const texts = collect(a, "text");
    const err = nextEvent(a, "error");
    await b.send("boom", {});
    const [e, from] = await err;
    expect(e.code).toBe("XPPG_ERR_HANDLER_FAILED");
    expect(e.message).toContain("handler bug");
    expect(from).toBe(b.peerId);
    await b.sendText("still here");
    await until(() => texts.length === 1, 5000, "text after error");
    expect(a.peers).toHaveLength(1);
  });

  it("refuses reserved kinds, unknown peers and use before start, with codes", async () => {
    const idle = new Playground("x");
    await expect(idle.sendText("x")).rejects.toMatchObject({ code: "XPPG_ERR_NOT_STARTED" });
    await expect(idle.join("127.0.0.1", 1)).rejects.toMatchObject({ code: "XPPG_ERR_NOT_STARTED" });
    const a = await node();
    await expect(a.send("xppg/hello", {})).rejects.toMatchObject({ code: "XPPG_ERR_RESERVED_KIND" });
    await expect(a.send("file", {})).rejects.toMatchObject({ code: "XPPG_ERR_RESERVED_KIND" });
    await expect(a.send("", {})).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    await expect(a.send("t", {}, { to: "nobody" })).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
    await expect(a.send("t", { f: () => 1 })).resolves.toBeUndefined(); // no peers: nothing to encode for
    await expect(a.start()).rejects.toMatchObject({ code: "XPPG_ERR_ALREADY_STARTED" });
    expect(() => new Playground("")).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });

  it("rejects an unencodable payload with advice when there is a peer", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    await expect(b.send("t", { f: () => 1 })).rejects.toMatchObject({ code: "XPPG_ERR_UNENCODABLE_PAYLOAD" });
    await expect(b.send("big", "x".repeat(2 * 1024 * 1024))).rejects.toMatchObject({ code: "XPPG_ERR_FRAME_TOO_LARGE" });
  });
});

describe("Playground: handshake rules", () => {
  it("refuses a peer of another app, with a reason both sides read", async () => {
    const a = await node("chess");
    const b = await node("checkers");
    const aErr = nextEvent(a, "error");
    const err = await b.join(a.addresses[0]!).catch((e: unknown) => e);
    expect(isXppgError(err, "XPPG_ERR_APP_MISMATCH")).toBe(true);
    expect((err as Error).message).toMatch(/chess|checkers/);
    const [e] = await aErr;
    expect(e.code).toBe("XPPG_ERR_APP_MISMATCH");
    expect(a.peers).toEqual([]);
    expect(b.peers).toEqual([]);
  });

  it("counts a second connection to the same peer as one peer, and keeps the working one", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const before = b.peers[0]!.address;
    const left: string[] = [];
    a.events.on("peer:left", (p) => void left.push(p.peerId));
    b.events.on("peer:left", (p) => void left.push(p.peerId));
    const again = await b.join(a.addresses[0]!);
    expect(b.peers[0]!.address).toBe(before);
    expect(left).toEqual([]);
    expect(await b.join(a.addresses[0]!, undefined, { peerId: a.peerId })).toMatchObject({ peerId: a.peerId, address: before });
    expect(again.peerId).toBe(a.peerId);
    await until(() => a.peers.length === 1 && b.peers.length === 1, 5000, "one peer each");
    await roundTrip(a, b);
    expect(a.peers).toHaveLength(1);
    expect(b.peers).toHaveLength(1);
  });

  it("keeps exactly one connection when both sides dial at once", async () => {
    const a = await node();
    const b = await node();
    const [pa, pb] = await Promise.all([a.join(b.addresses[0]!), b.join(a.addresses[0]!)]);
    expect(pa.peerId).toBe(b.peerId);
    expect(pb.peerId).toBe(a.peerId);
    await roundTrip(a, b);
    expect(a.peers).toHaveLength(1);
    expect(b.peers).toHaveLength(1);
    const got = collect(a, "text");
    await b.sendText("through the kept connection");
    await until(() => got.length === 1, 5000, "text");
  });

  it("refuses to connect to itself", async () => {
    const a = await node();
    await expect(a.join(a.addresses[0]!)).rejects.toMatchObject({ code: "XPPG_ERR_SELF_CONNECTION" });
    expect(a.peers).toEqual([]);
  });

  it("refuses peers past maxPeers", async () => {
    const a = await node("test-app", { limits: { maxPeers: 1 } });
    const b = await node();
    const c = await node();
    await b.join(a.addresses[0]!);
    await expect(c.join(a.addresses[0]!)).rejects.toMatchObject({ code: "XPPG_ERR_TOO_MANY_PEERS" });
    expect(a.peers.map((p) => p.peerId)).toEqual([b.peerId]);
  });

  it("reports a clean leave and forgets the peer", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const left = nextEvent(a, "peer:left");
    await b.stop();
    const [info, reason] = await left;
    expect(info.peerId).toBe(b.peerId);
    expect(reason?.code).toBe("XPPG_ERR_PEER_SHUTDOWN");
    expect(a.peers).toEqual([]);
  });

  it("stop() is idempotent and later calls say the node stopped", async () => {
    const a = await node();
    await a.stop();
    await a.stop();
    expect(a.running).toBe(false);
    await expect(a.sendText("x")).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
  });
});

describe("Playground: start({ openPort }) is bounded and never rejects for the mapping", () => {
  it("returns the mapper's result and removes the mapping on stop", async () => {
    let removed = 0;
    const pg = await memoryNodeUnstarted({
      portMapper: { map: async (o) => mappedResult(o.internalPort, "198.18.0.11", async () => void removed++) },
      listen: ["tcp://127.0.0.1:0"],
      transports: undefined,
    });
    const nat = await pg.start({ openPort: true });
    expect(nat).toMatchObject({ mapped: true, externalIp: "198.18.0.11", externalPort: pg.port });
    await pg.stop();
    expect(removed).toBe(1);
  });

  it("gives up on a mapper that never answers, and removes a late mapping", async () => {
    let removed = 0;
    let answer!: (r: NatResult) => void;
    const pg = await memoryNodeUnstarted({
      portMapper: { map: () => new Promise((resolve) => (answer = resolve)) },
      listen: ["tcp://127.0.0.1:0"],
      transports: undefined,
    });
    const nat = await pg.start({ openPort: true, openPortTimeoutMs: 50 });
    expect(nat?.mapped).toBe(false);
    expect((nat?.error as { code?: string }).code).toBe("XPPG_ERR_TIMEOUT");
    expect(pg.running).toBe(true);
    answer(mappedResult(1, "198.18.0.11", async () => void removed++));
    await until(() => removed === 1, 5000, "late mapping removed");
    await pg.stop();
  });

  it("reports a mapper that throws in the result and keeps running", async () => {
    const pg = await memoryNodeUnstarted({
      portMapper: {
        map: () => {
          throw new Error("router on fire");
        },
      },
      listen: ["tcp://127.0.0.1:0"],
      transports: undefined,
    });
    const nat = await pg.start({ openPort: true });
    expect(nat?.mapped).toBe(false);
    expect((nat?.error as { code?: string }).code).toBe("XPPG_ERR_PORT_MAPPING_FAILED");
    expect(nat?.error?.message).toContain("router on fire");
    expect(pg.running).toBe(true);
    await pg.stop();
  });
});

describe("Playground: disconnect", () => {
  it("drops one peer with a reason the peer reads", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    await until(() => a.peers.length === 1, 5000, "peer");
    const left = nextEvent(b, "peer:left");
    const errors: string[] = [];
    a.events.on("error", (e) => void errors.push(e.code));
    expect(a.disconnect(b.peerId, "spamming the chat")).toBe(true);
    const [info, reason] = await left;
    expect(info.peerId).toBe(a.peerId);
    expect(reason?.code).toBe("XPPG_ERR_DISCONNECTED");
    expect(reason?.message).toContain("spamming the chat");
    expect(a.disconnect("nobody")).toBe(false);
    await until(() => a.peers.length === 0, 5000, "peer gone");
    expect(errors).toEqual([]);
  });

  it("sends to one peer id follow the peer when it leaves and comes back on a new connection", async () => {
    const a = await node();
    const b = await node();
    const got: unknown[] = [];
    a.on("note", (_src, _kind, payload) => void got.push(payload));
    await b.join(a.addresses[0]!);
    await until(() => b.peers.length === 1, 5000, "peer");
    // One options object for every send, as a stream of sends to one peer passes it.
    const to = { to: a.peerId };
    await b.send("note", 1, to);
    await until(() => got.length === 1, 5000, "the first message");
    const left = nextEvent(b, "peer:left");
    expect(a.disconnect(b.peerId)).toBe(true);
    await left;
    // Not a neighbour now: the send goes the routed way, which has no route to it.
    await expect(b.send("note", 2, to)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await b.join(a.addresses[0]!);
    await until(() => b.peers.length === 1, 5000, "the peer again");
    await b.send("note", 3, to);
    await until(() => got.length === 2, 5000, "the message on the new connection");
    expect(got).toEqual([1, 3]);
  });

  it("a refused join is reported to its caller only, not also as an error event", async () => {
    const a = await node("one-app");
    const b = await node("other-app");
    const errors: string[] = [];
    b.events.on("error", (e) => void errors.push(e.code));
    await expect(b.join(a.addresses[0]!)).rejects.toMatchObject({ code: "XPPG_ERR_APP_MISMATCH" });
    // A join that works, after the refused one: an error event from the refusal would have come by now.
    const c = await node("other-app");
    await c.join(b.addresses[0]!);
    await roundTrip(b, c);
    expect(errors).toEqual([]);
  });
});

async function memoryNodeUnstarted(options: PlaygroundOptions): Promise<Playground> {
  return track(new Playground("test-app", options));
}

describe("Playground: bundling messages of one tick into frames", () => {
  it("never makes a frame over maxFrameSize, whatever the mix of sizes", async () => {
    const limits = { maxFrameSize: 4096 };
    const a = await node("test-app", { limits });
    const b = await node("test-app", { limits });
    await b.join(a.addresses[0]!);
    const got = collect<Uint8Array>(a, "blob");
    const errors: string[] = [];
    b.events.on("error", (e) => void errors.push(e.code));
    const sizes = [3000, 10, 3000, 3900, 1, 2500, 2500, 3900, 0, 3900];
    const sends = sizes.map((n, i) => b.send("blob", new Uint8Array(n).fill(i), { to: a.peerId }));
    await Promise.all(sends);
    await until(() => got.length === sizes.length, 5000, "every message");
    expect(got.map((m) => m.payload.byteLength)).toEqual(sizes);
    expect(got.map((m) => m.payload[0] ?? -1)).toEqual(sizes.map((n, i) => (n === 0 ? -1 : i)));
    expect(errors).toEqual([]);
  });

  it("a single message over the limit is refused at send, and the rest still go", async () => {
    const a = await node("test-app", { limits: { maxFrameSize: 4096 } });
    const b = await node("test-app", { limits: { maxFrameSize: 4096 } });
    await b.join(a.addresses[0]!);
    const got = collect(a, "t");
    await expect(b.send("t", new Uint8Array(5000), { to: a.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_FRAME_TOO_LARGE" });
    await b.send("t", new Uint8Array(10), { to: a.peerId });
    await until(() => got.length === 1, 5000, "the small one");
  });
});
