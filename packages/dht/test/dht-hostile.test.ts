import "../../../tools/test/loopback-only.js";
import { createSocket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { hostileDhtNode, decode, encode, type HostileDhtNode } from "../../../tools/test/hostile-dht-node.js";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";
import { dhtDiscovery, startDhtNode, type DhtCandidate, type DhtDiscovery, type DhtDiscoveryOptions } from "../src/index.js";

let net: PrivateDht;
const open: DhtDiscovery[] = [];
const hostile: HostileDhtNode[] = [];

beforeAll(async () => {
  net = await privateDht(20);
});
afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
  await Promise.all(hostile.map((h) => h.close()));
  await net.close();
});

function dht(bootstrap: string[], options: Partial<DhtDiscoveryOptions> = {}): DhtDiscovery {
  const d = dhtDiscovery({
    appName: "dht-hostile",
    bootstrap,
    host: "127.0.0.1",
    firstLookupDelaysMs: [],
    lookupIntervalMs: 300,
    announceIntervalMs: 1_000,
    offerBackoffMs: 200,
    queryTimeoutMs: 500,
    maxOffersPerSecond: 50,
    maxPacketsPerSecondPerHost: 100_000,
    maxPacketsPerSecond: 100_000,
    ...options,
  });
  open.push(d);
  return d;
}

describe("a topic among hostile DHT nodes", () => {
  it("finds the honest peer through nodes that answer garbage or never answer", async () => {
    const bad = await Promise.all([hostileDhtNode("garbage"), hostileDhtNode("garbage"), hostileDhtNode("silent"), hostileDhtNode("silent")]);
    hostile.push(...bad);
    const bootstrap = [...bad.map((h) => h.address), ...net.bootstrap];
    const a = dht(bootstrap);
    const b = dht(bootstrap);
    const ta = a.topic("through-garbage", { port: 7101 });
    await Promise.all([ta.start(), b.topic("through-garbage", { port: 7102 }).start()]);
    await expect.poll(() => ta.candidates.map((c) => c.port), { timeout: 15_000 }).toContain(7102);
    // The hostile nodes were asked (they are in the routing table) and their answers survived.
    expect(bad.reduce((n, h) => n + (h.queries.get_peers ?? 0), 0)).toBeGreaterThan(0);
    expect(ta.candidates.every((c) => c.host === "127.0.0.1")).toBe(true);
  });

  it("bounds the offers of a flood of fake peers (thousands, third parties' among them) and still offers the honest one", async () => {
    // 20 hosts x 100 ports: 2,000 addresses that are not xppg nodes.
    const fakePeers = Array.from({ length: 2_000 }, (_, i) => ({ host: `127.0.0.${2 + (i % 20)}`, port: 20_000 + Math.floor(i / 20) }));
    const flooders = await Promise.all([1, 2, 3].map(() => hostileDhtNode("flood", { fakePeers })));
    hostile.push(...flooders);
    const bootstrap = [...flooders.map((h) => h.address), ...net.bootstrap];
    const limits = { maxCandidates: 64, maxPerHost: 2, maxNewPerLookup: 16, maxOffersPerAddress: 2 };
    const a = dht(bootstrap, limits);
    const b = dht(bootstrap);
    const ta = a.topic("flooded", { port: 7111 });
    const offers: DhtCandidate[] = [];
    ta.on("peer", (c) => offers.push(c));
    await Promise.all([ta.start(), b.topic("flooded", { port: 7112 }).start()]);
    await expect.poll(() => offers.some((c) => c.port === 7112), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => a.stats.topics.flooded!.lookups, { timeout: 10_000 }).toBeGreaterThan(5);
    const stats = a.stats.topics.flooded!;
    expect(stats.addressesSeen).toBeGreaterThan(1_000);
    // Bounded: the list, each host's share, each address's offers.
    expect(ta.candidates.length).toBeLessThanOrEqual(limits.maxCandidates);
    const perHost = new Map<string, number>();
    for (const c of ta.candidates) perHost.set(c.host, (perHost.get(c.host) ?? 0) + 1);
    expect(Math.max(...perHost.values())).toBeLessThanOrEqual(limits.maxPerHost);
    const perAddress = new Map<string, number>();
    for (const c of offers) perAddress.set(`${c.host}:${c.port}`, (perAddress.get(`${c.host}:${c.port}`) ?? 0) + 1);
    const fakeOffers = [...perAddress].filter(([k]) => !k.startsWith("127.0.0.1:"));
    expect(Math.max(...fakeOffers.map(([, n]) => n))).toBeLessThanOrEqual(limits.maxOffersPerAddress);
    // Only 20 hosts x 2 addresses ever enter the list, so at most 80 offers of fakes in all.
    expect(fakeOffers.reduce((n, [, k]) => n + k, 0)).toBeLessThanOrEqual(20 * limits.maxPerHost * limits.maxOffersPerAddress);
    expect(stats.ignored).toBeGreaterThan(0);
  }, 40_000);

  // This machine's own LAN addresses, whatever the port: a hostile announcement must not turn our dials on our own services.
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
  if (lan.length === 0) console.log("[@xppg/dht] own-LAN-address test SKIPPED: this machine has no non-loopback IPv4 address");
  it.skipIf(lan.length === 0)("never offers this machine's own LAN addresses, on any port (only offered, never dialled, here)", async () => {
    const fakePeers = lan.flatMap((host) => [22, 80, 5432, 7131, 7132, 40_000].map((port) => ({ host, port })));
    const flooder = await hostileDhtNode("flood", { fakePeers });
    hostile.push(flooder);
    const bootstrap = [flooder.address, ...net.bootstrap];
    const a = dht(bootstrap);
    const b = dht(bootstrap);
    const ta = a.topic("own-lan", { port: 7131 });
    const offers: DhtCandidate[] = [];
    ta.on("peer", (c) => offers.push(c));
    await Promise.all([ta.start(), b.topic("own-lan", { port: 7132 }).start()]);
    await expect.poll(() => offers.some((c) => c.host === "127.0.0.1" && c.port === 7132), { timeout: 20_000 }).toBe(true);
    // Each node asks the flooder at least once (it is their bootstrap node); whether later lookups go back to it
    // depends on how close its random id lies to the topic, so only the first questions are certain.
    await expect.poll(() => flooder.queries.get_peers ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => a.stats.topics["own-lan"]!.ignored, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(offers.filter((c) => lan.includes(c.host))).toEqual([]);
    expect(ta.candidates.filter((c) => lan.includes(c.host))).toEqual([]);
  }, 40_000);

  it("drops a query flood to the DHT port past the per-address rate, and keeps working", async () => {
    const b = dht(net.bootstrap);
    // The flood comes from another loopback address, so the per-address bound applies to it alone.
    const victim = dht(net.bootstrap, { maxPacketsPerSecondPerHost: 50 });
    const tv = victim.topic("query-flood", { port: 7123 });
    await tv.start();
    const flood = createSocket("udp4");
    await new Promise<void>((resolve) => flood.bind(0, "127.0.0.9", resolve));
    const query = encode({ t: Buffer.from("aa"), y: "q", q: "get_peers", a: { id: Buffer.alloc(20, 1), info_hash: Buffer.alloc(20, 2) } });
    const before = victim.stats.packets;
    const started = Date.now();
    for (let i = 0; i < 5_000; i++) {
      flood.send(query, victim.port, "127.0.0.1");
      // In slices, so the kernel's receive buffer does not drop them before the gate sees them.
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 2));
    }
    // The rate bound over the flood itself, counted at its end: what the gate let through until then.
    const floodSeconds = (Date.now() - started) / 1000 + 1;
    const answeredInFlood = victim.stats.packets.received - before.received;
    // Until the gate has seen the whole flood: then it answers a query sent after it (one socket's
    // datagrams arrive in order), once its rate gives the flooder a token again. Waiting for the counts
    // to stand still instead never ended on a loaded machine: they count the private DHT's traffic too,
    // which goes on (the lookups of every node still open), so they seldom stood still for a poll.
    const marker = encode({ t: Buffer.from("zz"), y: "q", q: "get_peers", a: { id: Buffer.alloc(20, 1), info_hash: Buffer.alloc(20, 2) } });
    let markerAnswered = false;
    flood.on("message", (msg: Buffer) => {
      try {
        const answer = decode(msg) as Map<string, unknown>;
        if (String(answer.get("t")) === "zz") markerAnswered = true;
      } catch {
        // Not an answer of ours.
      }
    });
    const deadline = Date.now() + 20_000;
    while (!markerAnswered && Date.now() < deadline) {
      flood.send(marker, victim.port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(markerAnswered).toBe(true);
    const seen = (): number => victim.stats.packets.dropped - before.dropped + victim.stats.packets.received - before.received;
    // And over the whole time the gate took to read it (what the kernel held at the flood's end is read after it).
    const seconds = (Date.now() - started) / 1000 + 1;
    const answered = victim.stats.packets.received - before.received;
    flood.close();
    expect(seen()).toBeGreaterThan(1_000);
    // At most 50 a second from the flooder, and 50 from 127.0.0.1 (the private DHT), each with a burst of 50.
    expect(answeredInFlood).toBeLessThanOrEqual(Math.ceil(2 * 50 * floodSeconds) + 100);
    expect(answered).toBeLessThanOrEqual(Math.ceil(2 * 50 * seconds) + 100);
    // Still working: a newcomer is found.
    await b.topic("query-flood", { port: 7122 }).start();
    await expect.poll(() => tv.candidates.map((c) => c.port), { timeout: 15_000 }).toContain(7122);
  }, 45_000);
});

describe("our answers", () => {
  it("carry at most 8 nodes, however many the routing table holds (the library would list them all)", async () => {
    const node = await startDhtNode({ bootstrap: [], host: "127.0.0.1", maxPacketsPerSecondPerHost: 100_000, maxPacketsPerSecond: 100_000 });
    const asker = createSocket("udp4");
    const answers: Buffer[] = [];
    asker.on("message", (m) => answers.push(m));
    await new Promise<void>((resolve) => asker.bind(0, "127.0.0.1", resolve));
    // 200 nodes make themselves known by pinging it, each from a port and with an id of its own, until it answers
    // (200 pings at once overflow a loaded machine's socket buffer: the kernel drops some before the node reads them).
    const pingers = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const s = createSocket("udp4");
        await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
        let answered = false;
        s.on("message", () => (answered = true));
        const ping = encode({ t: Buffer.from("pp"), y: "q", q: "ping", a: { id: randomBytes(20) } });
        for (const deadline = Date.now() + 20_000; !answered && Date.now() < deadline; ) {
          s.send(ping, node.port, "127.0.0.1");
          await new Promise((r) => setTimeout(r, 250));
        }
        return { s, answered };
      }),
    );
    // Each of the 200 was answered, so the node has heard 200 distinct nodes (its received count would also count resends).
    expect(pingers.filter((p) => !p.answered).length).toBe(0);
    asker.send(encode({ t: Buffer.from("fn"), y: "q", q: "find_node", a: { id: randomBytes(20), target: randomBytes(20) } }), node.port, "127.0.0.1");
    await expect.poll(() => answers.length).toBe(1);
    const r = (decode(answers[0]!) as Map<string, unknown>).get("r") as Map<string, unknown>;
    const nodes = r.get("nodes") as Buffer;
    expect(nodes.length / 26).toBeGreaterThan(0);
    expect(nodes.length / 26).toBeLessThanOrEqual(8);
    expect(answers[0]!.length).toBeLessThan(1_500);
    await Promise.all(pingers.map(({ s }) => new Promise<void>((resolve) => s.close(() => resolve()))));
    asker.close();
    await node.close();
  }, 30_000);
});
