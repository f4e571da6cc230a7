import "../../../tools/test/loopback-only.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dhtDiscovery, type DhtCandidate, type DhtDiscovery, type DhtDiscoveryOptions } from "../src/index.js";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";

let net: PrivateDht;
const open: DhtDiscovery[] = [];

beforeAll(async () => {
  net = await privateDht(20, { storedPeerTtlMs: 1_500 });
});
afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
  await net.close();
});

/** A DHT on the private network, with short intervals so a test takes seconds. */
function dht(options: Partial<DhtDiscoveryOptions> = {}): DhtDiscovery {
  const d = dhtDiscovery({
    appName: "dht-test",
    bootstrap: net.bootstrap,
    host: "127.0.0.1",
    firstLookupDelaysMs: [],
    lookupIntervalMs: 300,
    announceIntervalMs: 300,
    offerBackoffMs: 200,
    storedPeerTtlMs: 1_500,
    // Every node of the test sends from 127.0.0.1: one address for the whole DHT.
    maxPacketsPerSecondPerHost: 100_000,
    maxPacketsPerSecond: 100_000,
    ...options,
  });
  open.push(d);
  return d;
}

describe("a topic on a private DHT of 20 nodes", () => {
  it("finds the other node of the topic and not a node of another topic", async () => {
    const a = dht();
    const b = dht();
    const other = dht();
    const found: DhtCandidate[] = [];
    const ta = a.topic("band", { port: 7001 });
    ta.on("peer", (c) => found.push(c));
    await Promise.all([ta.start(), b.topic("band", { port: 7002 }).start(), other.topic("not-the-band", { port: 7003 }).start()]);
    await expect.poll(() => found.map((c) => c.port), { timeout: 10_000 }).toContain(7002);
    expect(found[0]).toMatchObject({ host: "127.0.0.1", source: "dht", topic: "band", peerId: undefined });
    // Other lookups have run since: the node of the other topic was never returned.
    await expect.poll(() => a.stats.topics.band!.lookups, { timeout: 5_000 }).toBeGreaterThan(3);
    expect(ta.candidates.map((c) => c.port)).not.toContain(7003);
    expect(found.map((c) => c.port)).not.toContain(7003);
    expect(a.stats.packets.sent).toBeGreaterThan(0);
    expect(a.port).toBeGreaterThan(0);
  });

  it("stops finding a node that left once its announcement expired, and not before", async () => {
    const a = dht({ candidateTtlMs: 1_000 });
    const b = dht();
    const ta = a.topic("leavers", { port: 7011 });
    const tb = b.topic("leavers", { port: 7012 });
    await Promise.all([ta.start(), tb.start()]);
    await expect.poll(() => ta.candidates.map((c) => c.port), { timeout: 10_000 }).toContain(7012);
    // Still announcing: still found, well past the candidate TTL and the DHT's storage time.
    const since = Date.now();
    await expect.poll(() => Date.now() - since > 3_000 && ta.candidates.some((c) => c.port === 7012), { timeout: 8_000, interval: 250 }).toBe(true);
    await tb.stop();
    await expect.poll(() => ta.candidates.map((c) => c.port), { timeout: 15_000 }).not.toContain(7012);
  }, 40_000);

  it("confirm() pins the peer id of an address and lifts its offer bound", async () => {
    const a = dht({ maxOffersPerAddress: 1 });
    const b = dht();
    const ta = a.topic("pins", { port: 7021 });
    const offers: DhtCandidate[] = [];
    ta.on("peer", (c) => offers.push(c));
    await Promise.all([ta.start(), b.topic("pins", { port: 7022 }).start()]);
    await expect.poll(() => offers.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // One offer, then the bound: an address never confirmed is not offered again.
    await expect.poll(() => a.stats.topics.pins!.exhausted, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(offers).toHaveLength(1);
    ta.confirm("127.0.0.1", 7022, "xp1bob");
    await expect.poll(() => offers.length, { timeout: 10_000 }).toBeGreaterThan(1);
    expect(offers.at(-1)).toMatchObject({ peerId: "xp1bob", port: 7022 });
  });
});

describe("dhtDiscovery options", () => {
  it("refuses bad options with XPPG_ERR_INVALID_ARGUMENT and bad topics likewise", () => {
    expect(() => dhtDiscovery({ appName: "" })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => dhtDiscovery({ appName: "x", bootstrap: ["no-port"] })).toThrow(/bootstrap\[0\]/);
    expect(() => dhtDiscovery({ appName: "x", bootstrap: [], maxTopics: 0 })).toThrow(/maxTopics/);
    const d = dhtDiscovery({ appName: "x", bootstrap: [] });
    expect(() => d.topic("", { port: 1 })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => d.topic("t", { port: 0 })).toThrow(/port/);
  });

  it("refuses a topic past maxTopics with XPPG_ERR_DHT_TOO_MANY_TOPICS, and any after close with XPPG_ERR_DHT_STOPPED", async () => {
    const d = dhtDiscovery({ appName: "x", bootstrap: [], maxTopics: 1 });
    d.topic("one", { port: 1 });
    expect(d.topic("one", { port: 1 })).toBe(d.topics[0]);
    expect(() => d.topic("two", { port: 1 })).toThrow(expect.objectContaining({ code: "XPPG_ERR_DHT_TOO_MANY_TOPICS" }));
    await d.close();
    expect(() => d.topic("three", { port: 1 })).toThrow(expect.objectContaining({ code: "XPPG_ERR_DHT_STOPPED" }));
  });

  it("reports XPPG_ERR_DHT_UNAVAILABLE when the UDP port is taken", async () => {
    const a = dht();
    await a.topic("ports", { port: 7031 }).start();
    const b = dhtDiscovery({ appName: "x", bootstrap: net.bootstrap, host: "127.0.0.1", port: a.port! });
    open.push(b);
    await expect(b.topic("ports", { port: 7032 }).start()).rejects.toMatchObject({ code: "XPPG_ERR_DHT_UNAVAILABLE" });
  });

  it("reports XPPG_ERR_DHT_NO_NODES when no bootstrap node answers, and keeps running", async () => {
    const errors: Error[] = [];
    // A port on loopback where nothing listens: the bootstrap never answers.
    const d = dht({ bootstrap: ["127.0.0.1:9"], bootstrapTimeoutMs: 500 });
    d.on("error", (e) => errors.push(e));
    await d.topic("alone", { port: 7041 }).start();
    await expect.poll(() => errors.map((e) => (e as { code?: string }).code)).toContain("XPPG_ERR_DHT_NO_NODES");
    expect(d.topics.map((t) => t.topic)).toEqual(["alone"]);
  });
});
