// `pg.joinTopic` on a private DHT of 20 nodes on 127.0.0.1 (tools/test/private-dht.ts):
// every node is given its own bootstrap list, and the loopback guard makes
// any packet or connection elsewhere throw.
import "../../../tools/test/loopback-only.js";
import { createServer, type Server } from "node:net";
import { createSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dhtDiscovery } from "@xppg/dht";
import { generateIdentity } from "@xppg/secure";
import { hostileDhtNode, type HostileDhtNode } from "../../../tools/test/hostile-dht-node.js";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import type { PlaygroundDht } from "../src/dht-options.js";
import { encodePeerRecord } from "../src/peer-locator.js";
import { roundTrip, stopNodesAfterEach, track } from "./helpers.js";

stopNodesAfterEach();
let net: PrivateDht;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  net = await privateDht(20);
});
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
  await net.close();
});

const fast = (bootstrap: string[], more: PlaygroundDht = {}): PlaygroundDht => ({
  bootstrap,
  host: "127.0.0.1",
  firstLookupDelaysMs: [],
  lookupIntervalMs: 300,
  announceIntervalMs: 1_000,
  offerBackoffMs: 300,
  queryTimeoutMs: 500,
  // Every node of the test sends from 127.0.0.1: one address for the whole DHT.
  maxPacketsPerSecondPerHost: 100_000,
  maxPacketsPerSecond: 100_000,
  ...more,
});

async function topicNode(app: string, dht: PlaygroundDht, options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground(app, { host: "127.0.0.1", port: 0, discovery: { dht }, ...options }));
  await pg.start();
  return pg;
}
const ids = (pg: Playground): string[] => pg.peers.map((p) => p.peerId).sort();

describe("topics on the DHT (private, loopback)", () => {
  it("two nodes of one topic find each other and exchange messages; a node of another topic is not joined", async () => {
    const a = await topicNode("topic-app", fast(net.bootstrap));
    const b = await topicNode("topic-app", fast(net.bootstrap));
    const other = await topicNode("topic-app", fast(net.bootstrap));
    await Promise.all([a.joinTopic("band"), b.joinTopic("band"), other.joinTopic("another-band")]);
    expect(a.topics.joined).toEqual(["band"]);
    await expect.poll(() => ids(a), { timeout: 15_000 }).toEqual([b.peerId]);
    const got = new Promise<unknown>((resolve) => b.on("chat", (_src, _kind, payload) => resolve(payload)));
    await a.send("chat", { text: "found you by topic" });
    expect(await got).toEqual({ text: "found you by topic" });
    expect(a.topics.found(b.peerId) || b.topics.found(a.peerId)).toBe(true);
    // The other topic's node was never joined, nor did it join anyone, after many lookups on both sides.
    await expect.poll(() => other.topics.stats?.topics["another-band"]?.lookups ?? 0, { timeout: 10_000 }).toBeGreaterThan(5);
    expect(ids(other)).toEqual([]);
    expect(ids(a)).toEqual([b.peerId]);
    expect(a.topics.stats!.packets.sent).toBeGreaterThan(0);
  }, 40_000);

  it("sends no DHT packet before the first topic, and closes the DHT when the last topic is left", async () => {
    const watch = createSocket("udp4");
    let packets = 0;
    watch.on("message", () => packets++);
    await new Promise<void>((r) => watch.bind(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => watch.close(() => r())));
    const dht = fast([`127.0.0.1:${watch.address().port}`], { bootstrapTimeoutMs: 300 });
    const pg = await topicNode("quiet-app", dht);
    // A join and a message round trip later (many turns of I/O), still no DHT: none was made.
    const peer = await topicNode("quiet-app", dht);
    await pg.join("127.0.0.1", peer.port);
    await expect.poll(() => ids(peer)).toEqual([pg.peerId]);
    await roundTrip(pg, peer);
    expect(pg.topics.stats).toBeUndefined();
    expect(packets).toBe(0);
    await pg.joinTopic("quiet");
    await expect.poll(() => packets).toBeGreaterThan(0);
    await pg.leaveTopic("quiet");
    expect(pg.topics.joined).toEqual([]);
    expect(pg.topics.stats).toBeUndefined();
  });

  it("refuses joinTopic before start with XPPG_ERR_NOT_STARTED, and a bad topic with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const pg = track(new Playground("topic-app", { host: "127.0.0.1", port: 0, discovery: { dht: fast(net.bootstrap) } }));
    await expect(pg.joinTopic("band")).rejects.toMatchObject({ code: "XPPG_ERR_NOT_STARTED" });
    await pg.start();
    await expect(pg.joinTopic("")).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    expect(() => new Playground("x", { discovery: { dht: { appName: "y" } as PlaygroundDht } })).toThrow(/discovery\.dht/);
  });

  it("a flood of fake peers pointing at third parties: each is dialled a bounded number of times, and the honest pair chats", async () => {
    // Third parties: TCP servers on 20 loopback addresses that count connections and close them.
    const dialled = new Map<string, number>();
    const victims: Server[] = [];
    for (let i = 0; i < 20; i++) {
      const host = `127.0.0.${2 + i}`;
      const server = createServer((socket) => {
        dialled.set(host, (dialled.get(host) ?? 0) + 1);
        socket.destroy();
      });
      await new Promise<void>((r) => server.listen(0, host, r));
      victims.push(server);
    }
    closers.push(() => Promise.all(victims.map((s) => new Promise((r) => s.close(r)))));
    const victimPeers = victims.map((s) => s.address() as { address: string; port: number }).map((a) => ({ host: a.address, port: a.port }));
    // 2,000 fake peers: half of them the 20 victims' addresses, half closed ports on the same hosts.
    const fakePeers = [...Array.from({ length: 1_000 }, (_, i) => victimPeers[i % 20]!), ...Array.from({ length: 1_000 }, (_, i) => ({ host: `127.0.0.${2 + (i % 20)}`, port: 30_000 + Math.floor(i / 20) }))];
    const flooders: HostileDhtNode[] = await Promise.all([1, 2, 3].map(() => hostileDhtNode("flood", { fakePeers })));
    closers.push(() => Promise.all(flooders.map((f) => f.close())));
    const dht = fast([...flooders.map((f) => f.address), ...net.bootstrap], { maxOffersPerSecond: 50 });
    const a = await topicNode("flood-app", dht);
    const b = await topicNode("flood-app", dht);
    await Promise.all([a.joinTopic("flooded"), b.joinTopic("flooded")]);
    await expect.poll(() => ids(a), { timeout: 30_000 }).toEqual([b.peerId]);
    const got = new Promise<unknown>((resolve) => b.on("chat", (_src, _kind, payload) => resolve(payload)));
    await a.send("chat", { text: "still here" });
    expect(await got).toEqual({ text: "still here" });
    await expect.poll(() => a.topics.stats!.topics.flooded!.lookups, { timeout: 10_000 }).toBeGreaterThan(10);
    // Each third party: at most 3 dials (maxOffersPerAddress) from each of the two nodes.
    expect(dialled.size).toBeGreaterThan(0);
    expect(Math.max(...dialled.values())).toBeLessThanOrEqual(2 * 3);
    expect(a.topics.candidates.length).toBeLessThanOrEqual(128);
  }, 60_000);
});

describe("topics: calls that race", () => {
  it("joining one topic twice at once joins it once; stopping during a join ends quietly", async () => {
    const dht = fast(net.bootstrap);
    const a = await topicNode("race-app", dht);
    await Promise.all([a.joinTopic("twice"), a.joinTopic("twice")]);
    expect(a.topics.joined).toEqual(["twice"]);
    const errors: unknown[] = [];
    const b = await topicNode("race-app", dht);
    b.events.on("error", (e) => errors.push(e));
    const joining = b.joinTopic("late");
    await b.stop();
    await expect(joining).resolves.toBeUndefined();
    expect(errors).toEqual([]);
    expect(b.topics.joined).toEqual([]);
  });

  it("a joinTopic issued while a leaveTopic of the same topic is still closing joins it again, on the same DHT port", async () => {
    // A fixed DHT port: a new DHT opened before the old one closed could not bind it.
    const probe = createSocket("udp4");
    await new Promise<void>((r) => probe.bind(0, "127.0.0.1", r));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const a = await topicNode("rejoin-app", fast(net.bootstrap, { port }));
    const b = await topicNode("rejoin-app", fast(net.bootstrap));
    await b.joinTopic("again");
    const errors: unknown[] = [];
    a.events.on("error", (e) => errors.push(e));
    // The join comes at every point of the leave: before it yields at all, and after each of its first turns.
    for (const turns of [0, 1, 2, 3, 4, 6, 8, 12]) {
      await a.joinTopic("again");
      const leaving = a.leaveTopic("again");
      for (let i = 0; i < turns; i++) await Promise.resolve();
      const joining = a.joinTopic("again");
      await expect(Promise.all([leaving, joining])).resolves.toBeDefined();
      expect(a.topics.joined).toEqual(["again"]);
      expect(a.topics.stats?.topics["again"]).toBeDefined();
    }
    // The topic still works: the other node is found and joined.
    await expect.poll(() => ids(a), { timeout: 15_000 }).toEqual([b.peerId]);
    expect(errors).toEqual([]);
  }, 40_000);
});

describe("finding a known peer again (signed DHT record, BEP 44)", () => {
  it("a node that comes back on a new port is found by its id and joined again; an unknown id is not found", async () => {
    const identity = generateIdentity();
    const first = await topicNode("find-app", fast(net.bootstrap), { identity });
    await first.joinTopic("find-me");
    const oldPort = first.port;
    const seeker = await topicNode("find-app", fast(net.bootstrap));
    // The first node's record is on the DHT: the seeker, in no topic, finds it there and joins it.
    const found = await vi.waitFor(() => seeker.findPeer(identity.peerId), { timeout: 15_000, interval: 200 });
    expect(found.peerId).toBe(identity.peerId);
    expect(ids(seeker)).toEqual([identity.peerId]);
    expect(seeker.topics.joined).toEqual([]);
    // It goes away and comes back with the same key on another port.
    await first.stop();
    await expect.poll(() => ids(seeker)).toEqual([]);
    const again = await topicNode("find-app", fast(net.bootstrap), { identity });
    expect(again.port).not.toBe(oldPort);
    await again.joinTopic("find-me");
    // Its new record (a higher sequence number) replaces the old one; the seeker finds it at its new port.
    const back = await vi.waitFor(() => seeker.findPeer(identity.peerId), { timeout: 20_000, interval: 300 });
    expect(back.peerId).toBe(identity.peerId);
    await expect.poll(() => ids(again)).toEqual([seeker.peerId]);
    expect(seeker.topics.stats).toBeUndefined();
    await expect(seeker.findPeer(generateIdentity().peerId)).rejects.toMatchObject({ code: "XPPG_ERR_PEER_NOT_FOUND" });
    await expect(seeker.findPeer("not a peer id")).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    // A node with peerRecord: false publishes none, though it is in a topic (and found there).
    const quiet = await topicNode("find-app", fast(net.bootstrap, { peerRecord: false }));
    await quiet.joinTopic("find-me");
    await expect.poll(() => ids(quiet), { timeout: 15_000 }).toContain(again.peerId);
    // Asked by a node connected to no one (the seeker may have met it through peer exchange by now).
    const lone = await topicNode("find-app", fast(net.bootstrap));
    await expect(lone.findPeer(quiet.peerId)).rejects.toMatchObject({ code: "XPPG_ERR_PEER_NOT_FOUND" });
    expect(() => new Playground("x", { discovery: { dht: { peerRecord: "yes" } as unknown as PlaygroundDht } })).toThrow(/peerRecord/);
  }, 60_000);

  it("findPeer skips a record's wildcard addresses in every spelling (each reached the seeker itself and used up one of its 4 tries)", async () => {
    const identity = generateIdentity();
    const peer = await topicNode("find-app", fast(net.bootstrap), { identity });
    const seeker = await topicNode("find-app", fast(net.bootstrap));
    // The peer's record as a node listening on every interface (IPv6 and IPv4-mapped spellings) would list it, its real address last.
    const wildcards = ["[::]", "[::ffff:0.0.0.0]", "[0:0:0:0:0:0:0:0]", "[::0]"].map((h) => `tcp://${h}:${seeker.port}`);
    const dht = dhtDiscovery({ ...fast(net.bootstrap), appName: "find-app" });
    closers.push(() => dht.close());
    await dht.publish({ publicKey: identity.publicKey, sign: (data) => identity.sign(data), value: encodePeerRecord([...wildcards, `tcp://127.0.0.1:${peer.port}`]), seq: Date.now() });
    const found = await seeker.findPeer(identity.peerId);
    expect(found.peerId).toBe(identity.peerId);
    expect(found.address).toBe(`tcp://127.0.0.1:${peer.port}`);
  }, 60_000);
});
