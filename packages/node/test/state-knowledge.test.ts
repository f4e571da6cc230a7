import { describe, expect, it } from "vitest";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { countingTransport } from "./fixtures/counting-transport.js";
import { node, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

const stateLimits = { maxKeys: 20_000, maxKeysPerPeer: 15_000 };

async function tcpNode(options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground("sync-test", { host: "127.0.0.1", port: 0, stateLimits, ...options }));
  await pg.start();
  return pg;
}

describe("Playground: knowledge-based state sync", () => {
  it("a peer that rejoins after one change in 10,000 keys is sent that change, not the state (real loopback)", async () => {
    const a = await tcpNode();
    const counter = countingTransport(tcpTransport());
    const b = await tcpNode({ transports: [counter] });
    for (let i = 0; i < 10_000; i++) a.state.set(`key-${i}`, { n: i, name: `player ${i}` });
    await b.join(a.addresses[0]!);
    await until(() => b.state.size === 10_000, 15_000, "first sync");
    const firstJoin = counter.bytes.received + counter.bytes.sent;

    b.disconnect(a.peerId);
    await until(() => a.peers.length === 0 && b.peers.length === 0, 5000, "apart");
    const value = "the one changed value";
    a.state.set("key-5000", value);
    counter.bytes.sent = counter.bytes.received = 0;
    await b.join(a.addresses[0]!);
    await until(() => b.state.get("key-5000") === value, 5000, "the change");
    const rejoin = counter.bytes.received + counter.bytes.sent;
    // Handshake, hellos and one row; the first join carried every key.
    expect(rejoin).toBeLessThan(4096);
    expect(firstJoin).toBeGreaterThan(100 * rejoin);
  });

  it("changes made on both sides while apart meet on rejoin; a restarted peer is sent everything", async () => {
    const a = await node();
    const b = await node();
    a.state.set("x", 1);
    await b.join(a.addresses[0]!);
    await until(() => b.state.get("x") === 1, 5000, "join");
    b.disconnect(a.peerId);
    await until(() => a.peers.length === 0, 5000, "apart");
    a.state.set("from-a", 2);
    b.state.set("from-b", 3);
    b.state.delete("x");
    await b.join(a.addresses[0]!);
    await until(() => a.state.get("from-b") === 3 && b.state.get("from-a") === 2 && !a.state.has("x"), 5000, "both ways");
    const c = await node();
    await c.join(a.addresses[0]!);
    await until(() => c.state.get("from-a") === 2 && c.state.get("from-b") === 3, 5000, "a new peer gets everything");
  });
});

describe("Playground: requestState on a full replica", () => {
  it("rejects with the replica's error when this node could not hold the answer", async () => {
    const a = await node("test-app", { autoSyncState: false });
    for (let i = 0; i < 50; i++) a.state.set(`k${i}`, i);
    const b = await node("test-app", { autoSyncState: false, stateLimits: { maxKeys: 20 } });
    await b.join(a.addresses[0]!);
    const error = await b.requestState({ to: a.peerId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_STATE_TOO_MANY_KEYS(_FROM_PEER)?$/) });
    expect(b.state.size).toBeLessThan(50);
    // A request whose answer fits still resolves.
    const c = await node("test-app", { autoSyncState: false });
    c.state.set("one", 1);
    await b.join(c.addresses[0]!);
    await expect(b.requestState({ to: c.peerId })).resolves.toBeUndefined();
  });
});
