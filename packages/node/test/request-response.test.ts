import { describe, expect, it } from "vitest";
import { ReplyError, type Playground } from "../src/index.js";
import { node, stopNodesAfterEach, until } from "./helpers.js";
import { errorsOf } from "./tcp-helpers.js";
import { Random } from "../../../tools/test/random.js";

stopNodesAfterEach();

/** Started memory nodes, each joined to the one before (a chain). */
async function chain(count: number): Promise<Playground[]> {
  const nodes: Playground[] = [];
  for (let i = 0; i < count; i++) nodes.push(await node());
  for (let i = 1; i < count; i++) await nodes[i]!.join(nodes[i - 1]!.addresses[0]!);
  return nodes;
}

describe("request and handle", () => {
  it("a neighbour and a node two hops away both answer; each handler sees who asked", async () => {
    const [a, b, c] = await chain(3);
    for (const pg of [b!, c!]) pg.handle<{ n: number }>("add-one", (src, p) => ({ n: p.n + 1, from: pg.peerId, asker: src }));
    await expect(a!.request("add-one", { n: 1 }, { to: b!.peerId })).resolves.toEqual({ n: 2, from: b!.peerId, asker: a!.peerId });
    await until(() => a!.meshPeers.some((m) => m.peerId === c!.peerId), 5000, "A hears of C");
    await expect(a!.request("add-one", { n: 41 }, { to: c!.peerId })).resolves.toEqual({ n: 42, from: c!.peerId, asker: a!.peerId });
    // Bytes travel as bytes, both ways.
    c!.handle<Uint8Array>("reverse", (_src, p) => p.slice().reverse());
    await expect(a!.request("reverse", new Uint8Array([1, 2, 3]), { to: c!.peerId })).resolves.toEqual(new Uint8Array([3, 2, 1]));
  });

  it("typed errors: no handler, a handler that throws (its message stays there), a ReplyError (its message is passed on), a timeout, an abort", async () => {
    const [a, b] = await chain(2);
    const errorsAtB = errorsOf(b!);
    await expect(a!.request("nothing-here", {}, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_NO_HANDLER" });
    b!.handle("leaky", () => {
      throw new Error("database password is hunter2");
    });
    const leaky = await a!.request("leaky", {}, { to: b!.peerId }).catch((e: Error) => e);
    expect(leaky).toMatchObject({ code: "XPPG_ERR_REQUEST_FAILED" });
    expect((leaky as Error).message).not.toContain("hunter2");
    // The thrower's node reports it to its own application.
    await until(() => errorsAtB.some((e) => e.message.includes("hunter2")), 5000, "B reports its handler's failure");
    b!.handle("picky", async () => {
      throw new ReplyError("no such item: 7\u202e");
    });
    const picky = await a!.request("picky", {}, { to: b!.peerId }).catch((e: Error) => e);
    expect(picky).toMatchObject({ code: "XPPG_ERR_REQUEST_FAILED", details: { remoteMessage: "no such item: 7" } });
    b!.handle("never", () => new Promise(() => {}));
    await expect(a!.request("never", {}, { to: b!.peerId, timeoutMs: 50 })).rejects.toMatchObject({ code: "XPPG_ERR_TIMEOUT" });
    const controller = new AbortController();
    const asked = a!.request("never", {}, { to: b!.peerId, signal: controller.signal });
    controller.abort();
    await expect(asked).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    // A reply that cannot be encoded fails the request; B is told why.
    b!.handle("unsendable", () => ({ f: () => 1 }));
    await expect(a!.request("unsendable", {}, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_REQUEST_FAILED" });
  });

  it("bounded: requests waiting per peer, and requests one peer may have served at once", async () => {
    const [a, b] = await chain(2);
    const release: (() => void)[] = [];
    b!.handle("slow", () => new Promise<string>((resolve) => release.push(() => resolve("done"))));
    // B serves 64 of A's requests at once; the next are answered "busy".
    const first = Array.from({ length: 64 }, () => a!.request("slow", {}, { to: b!.peerId }));
    await until(() => release.length === 64, 5000, "B serves 64 at once");
    await expect(a!.request("slow", {}, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_TOO_MANY_REQUESTS" });
    // A lets at most 128 wait for one peer: 64 more go out (B answers them "busy"), the next fails here.
    const more = Array.from({ length: 64 }, () => a!.request("slow", {}, { to: b!.peerId }).catch((e: { code: string }) => e.code));
    await expect(a!.request("slow", {}, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_TOO_MANY_REQUESTS", message: expect.stringContaining("128 to") as string });
    expect(new Set(await Promise.all(more))).toEqual(new Set(["XPPG_ERR_TOO_MANY_REQUESTS"]));
    for (const r of release) r();
    await expect(Promise.all(first)).resolves.toHaveLength(64);
    // Once answered, there is room again.
    b!.handle("quick", () => "ok");
    await expect(a!.request("quick", {}, { to: b!.peerId })).resolves.toBe("ok");
  });

  it("one handler per kind; removing it (or aborting its signal) frees the kind; reserved kinds are refused", async () => {
    const [a, b] = await chain(2);
    const off = b!.handle("k", () => 1);
    expect(() => b!.handle("k", () => 2)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }) as Error);
    off();
    const controller = new AbortController();
    b!.handle("k", () => 3, { signal: controller.signal });
    await expect(a!.request("k", null, { to: b!.peerId })).resolves.toBe(3);
    controller.abort();
    await expect(a!.request("k", null, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_NO_HANDLER" });
    expect(() => b!.handle("xppg/state", () => 1)).toThrow(expect.objectContaining({ code: "XPPG_ERR_RESERVED_KIND" }) as Error);
    await expect(a!.request("xppg/state", null, { to: b!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_RESERVED_KIND" });
    await expect(a!.request("k", null, {} as { to: string })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
  });
});

describe("routed unicast in a seeded mesh of real nodes over the memory transport", { timeout: 60_000 }, () => {
  it("16 nodes, each joined to one or two earlier ones: requests and sends between 24 random pairs all arrive, once each (replay with the seed)", async () => {
    const seed = 7;
    const random = new Random(seed);
    const nodes: Playground[] = [];
    for (let i = 0; i < 16; i++) nodes.push(await node());
    for (let i = 1; i < nodes.length; i++) {
      const targets = new Set([random.int(i)]);
      if (i > 2 && random.chance(0.5)) targets.add(random.int(i));
      for (const j of targets) await nodes[i]!.join(nodes[j]!.addresses[0]!);
    }
    await until(() => nodes.every((pg) => pg.meshPeers.length === nodes.length - 1), 15_000, `every node hears of every other (seed ${seed})`);
    const got = nodes.map((pg) => {
      pg.handle("who", (src) => ({ me: pg.peerId, you: src }));
      const seen: string[] = [];
      pg.on<{ tag: string }>("tag", (_src, _kind, p) => void seen.push(p.tag));
      return seen;
    });
    const pairs = Array.from({ length: 24 }, () => {
      const from = random.int(nodes.length);
      return [from, (from + 1 + random.int(nodes.length - 1)) % nodes.length] as const;
    });
    const far = pairs.filter(([f, t]) => nodes[f]!.meshPeers.find((m) => m.peerId === nodes[t]!.peerId)!.hops > 1);
    expect(far.length, `seed ${seed}: most pairs are not neighbours`).toBeGreaterThan(pairs.length / 2);
    const answers = await Promise.all(pairs.map(([f, t]) => nodes[f]!.request("who", null, { to: nodes[t]!.peerId })));
    expect(answers).toEqual(pairs.map(([f, t]) => ({ me: nodes[t]!.peerId, you: nodes[f]!.peerId })));
    await Promise.all(pairs.map(([f, t], i) => nodes[f]!.send("tag", { tag: `m${i}` }, { to: nodes[t]!.peerId })));
    await until(() => pairs.every(([, t], i) => got[t]!.includes(`m${i}`)), 10_000, `every tag delivered (seed ${seed})`);
    pairs.forEach(([, t], i) => expect(got[t]!.filter((x) => x === `m${i}`)).toHaveLength(1));
  });
});

describe("a request whose neighbour's connection closes", () => {
  const code = (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (error: { code?: string }) => error.code);

  it("rejects with XPPG_ERR_CONNECTION_CLOSED when the neighbour is dropped while the request's message waits (here: past maxQueuedBytesPerPeer, dropped as slow)", async () => {
    const a = await node("test-app", { limits: { maxQueuedBytesPerPeer: 3000 } });
    const b = await node();
    await a.join(b.addresses[0]!);
    b.handle("echo", (_src, p) => p);
    // 40 messages of 100 B in one tick, then the request: past the bound, the peer is dropped and what waits rejects.
    for (let i = 0; i < 40; i++) a.send("blob", new Uint8Array(100)).catch(() => {});
    expect(await code(a.request("echo", null, { to: b.peerId, timeoutMs: 5000 }))).toBe("XPPG_ERR_CONNECTION_CLOSED");
    expect(a.running).toBe(true);
  });

  it("rejects with XPPG_ERR_TIMEOUT once its message went out (no reply comes), XPPG_ERR_UNREACHABLE once the peer is gone (the mesh knows no way), XPPG_ERR_STOPPED at this node's stop", async () => {
    const [a, b] = await chain(2);
    let asked = 0;
    b!.handle("never", () => new Promise(() => void asked++));
    // Sent (even in the tick of a disconnect: the goodbye goes after what was queued), then the connection closes before
    // the reply: nothing rejects it until its time is up.
    const sent = code(a!.request("never", null, { to: b!.peerId, timeoutMs: 300 }));
    a!.disconnect(b!.peerId);
    expect(await sent).toBe("XPPG_ERR_TIMEOUT");
    await until(() => a!.peers.length === 0 && b!.peers.length === 0, 5000, "the link gone");
    // The peer is no neighbour now and no route leads to it: the request goes to the mesh, which knows no way.
    expect(await code(a!.request("never", null, { to: b!.peerId, timeoutMs: 5000 }))).toBe("XPPG_ERR_UNREACHABLE");
    // Waiting for its reply when this node stops.
    await a!.join(b!.addresses[0]!);
    const atStop = code(a!.request("never", null, { to: b!.peerId, timeoutMs: 5000 }));
    await until(() => asked === 2, 5000, "b to get the second request");
    await a!.stop();
    expect(await atStop).toBe("XPPG_ERR_STOPPED");
  });
});
