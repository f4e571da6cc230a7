import { describe, expect, it } from "vitest";
import { roundTrip, until, node, stopNodesAfterEach } from "./helpers.js";

stopNodesAfterEach();

describe("Playground: shared state", () => {
  it("syncs on join and then on every change", async () => {
    const a = await node();
    a.state.set("alice", 100);
    const b = await node();
    b.state.set("bob", 50);
    await b.join(a.addresses[0]!);
    await until(() => a.state.get("bob") === 50 && b.state.get("alice") === 100, 5000, "snapshot exchange");
    a.state.set("alice", 90);
    b.state.delete("bob");
    await until(() => b.state.get("alice") === 90 && !a.state.has("bob"), 5000, "deltas");
  });

  it("forwards changes along a chain of peers", async () => {
    const [x, y, z] = [await node(), await node(), await node()];
    await y.join(x.addresses[0]!);
    await z.join(y.addresses[0]!);
    x.state.set("height", 7);
    await until(() => z.state.get("height") === 7, 5000, "x -> y -> z");
    z.state.set("height", 8);
    await until(() => x.state.get("height") === 8, 5000, "z -> y -> x");
  });

  it("converges when peers write the same key at once", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    for (let i = 0; i < 50; i++) {
      a.state.set("k", `a${i}`);
      b.state.set("k", `b${i}`);
    }
    await until(() => a.state.get("k") === b.state.get("k") && a.state.versionOf("k") === b.state.versionOf("k"), 5000, "same value");
  });

  it("moves state only on request when autoSyncState is off", async () => {
    const a = await node("test-app", { autoSyncState: false });
    const b = await node("test-app", { autoSyncState: false });
    a.state.set("before", 0);
    await b.join(a.addresses[0]!);
    // The join's sync answers b's hello, a round trip after the join: wait for it before changing more.
    await until(() => b.state.get("before") === 0, 5000, "the join's sync");
    a.state.set("x", 1);
    await roundTrip(a, b); // an automatic update sent with the set would have arrived before a's message
    expect(b.state.has("x")).toBe(false);
    await b.requestState({ to: a.peerId });
    expect(b.state.get("x")).toBe(1);
    b.state.set("y", 2);
    await b.pushState();
    await until(() => a.state.get("y") === 2, 5000, "pushed state");
  });

  it("cuts a state larger than one message into pieces", async () => {
    const a = await node("test-app", { limits: { maxFrameSize: 16 * 1024 } });
    const b = await node("test-app", { limits: { maxFrameSize: 16 * 1024 } });
    for (let i = 0; i < 500; i++) a.state.set(`key-${i}`, "v".repeat(100));
    await b.join(a.addresses[0]!);
    await until(() => b.state.size === 500, 5000, "500 keys");
  });

  it("requestState times out with a code when a peer never answers", async () => {
    const a = await node();
    await expect(a.requestState({ to: "nobody" })).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
  });
});

describe("Playground: local state bugs are not the peer's fault", () => {
  it("a throwing state listener is reported and the peer stays", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    a.state.on("change", () => {
      throw new Error("listener bug");
    });
    const errors: string[] = [];
    a.events.on("error", (e) => {
      errors.push(e.code);
    });
    b.state.set("k", 1);
    await until(() => errors.length > 0, 5000, "error");
    expect(errors[0]).toBe("XPPG_ERR_STATE_LISTENER_FAILED");
    expect(a.state.get("k")).toBe(1);
    expect(a.peers).toHaveLength(1);
  });

  it("a replica too full for a peer's state is reported; the peer is kept, not struck or banned", async () => {
    // Two honest peers with 6000 keys each: together over the default maxKeys (10 000).
    const a = await node("test-app", { limits: { banThreshold: 1 } });
    const b = await node("test-app", { limits: { banThreshold: 1 } });
    for (let i = 0; i < 6000; i++) {
      a.state.set(`a-${i}`, i);
      b.state.set(`b-${i}`, i);
    }
    const errors: string[] = [];
    a.events.on("error", (e) => {
      errors.push(e.code);
    });
    b.events.on("error", (e) => {
      errors.push(e.code);
    });
    await b.join(a.addresses[0]!);
    await until(() => errors.includes("XPPG_ERR_STATE_TOO_MANY_KEYS"), 5000, "the full replica's report");
    await roundTrip(a, b); // anything else either side had to say about the sync has been handled
    expect(new Set(errors)).toEqual(new Set(["XPPG_ERR_STATE_TOO_MANY_KEYS"]));
    expect(a.peers.map((p) => p.peerId)).toEqual([b.peerId]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
    expect([...a.bans, ...b.bans]).toEqual([]);
    expect(a.stats.droppedPeers + b.stats.droppedPeers).toBe(0);
  });
});
