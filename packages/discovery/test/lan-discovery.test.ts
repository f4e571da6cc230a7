// LanDiscovery on loopback only: every socket is bound to 127.0.0.1's group
// membership and sends through the loopback interface, on a UDP port of its
// own (not 5353), so nothing reaches a real interface or another test.
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import dnsPacket from "dns-packet";
import { isXppgError } from "@xppg/errors";
import { appHash, lanDiscovery, type LanDiscovery, type LanDiscoveryOptions, type PeerCandidate } from "../src/index.js";
import { selfRecords } from "../src/records.js";

const MDNS_PORT = 40_000 + (process.pid % 20_000);
const id = (i: number): string => `xp1${String(i).padStart(52, "q")}`;
const started: LanDiscovery[] = [];

async function node(i: number, options: Partial<LanDiscoveryOptions> = {}): Promise<{ d: LanDiscovery; found: PeerCandidate[]; gone: PeerCandidate[] }> {
  const d = lanDiscovery({ appName: "loop-test", peerId: id(i), port: 7000 + i, interface: "127.0.0.1", mdnsPort: MDNS_PORT, ...options });
  const found: PeerCandidate[] = [];
  const gone: PeerCandidate[] = [];
  d.on("peer", (c) => found.push(c));
  d.on("gone", (c) => gone.push(c));
  started.push(d);
  await d.start();
  return { d, found, gone };
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop()));
});

describe("LanDiscovery on loopback", () => {
  it("two nodes find each other, never themselves, and a stopped one says goodbye", async () => {
    const a = await node(1);
    const b = await node(2);
    await expect.poll(() => a.found.map((c) => c.peerId)).toContain(id(2));
    await expect.poll(() => b.found.map((c) => c.peerId)).toContain(id(1));
    expect(a.found.find((c) => c.peerId === id(2))).toEqual({ peerId: id(2), host: "127.0.0.1", port: 7002, source: "lan" });
    expect(a.found.some((c) => c.peerId === id(1))).toBe(false);
    await b.d.stop();
    await expect.poll(() => a.d.candidates.length).toBe(0);
    expect(a.gone.map((c) => c.peerId)).toEqual([id(2)]);
  });

  it("a forgotten candidate (its connection was lost) is asked for again and offered again at once", async () => {
    // a asks only at its start and a minute later: without the re-query, b would not be seen again for a minute.
    const a = await node(1, { queryIntervalMs: 60_000 });
    // a's start-up announcement and query are back (multicast loops back) before b starts: b never answers them.
    await expect.poll(() => a.d.stats.packetsReceived).toBeGreaterThanOrEqual(2);
    const b = await node(2);
    await expect.poll(() => a.found.filter((c) => c.peerId === id(2)).length).toBe(1);
    // b's announcements (at 0 and 1 s) are long received: b has sent its queries of 0, 1 and 3 s too.
    await expect.poll(() => b.d.stats.packetsSent, { timeout: 5_000 }).toBeGreaterThanOrEqual(5);
    a.d.forget(id(2));
    expect(a.d.candidates.map((c) => c.peerId)).not.toContain(id(2));
    await expect.poll(() => a.found.filter((c) => c.peerId === id(2)).length, { timeout: 3_000 }).toBe(2);
  });

  it("a node alone does not answer its own queries (they loop back)", async () => {
    const a = await node(1);
    // Its own announcements and queries of 0 and 1 s have looped back.
    await expect.poll(() => a.d.stats.packetsReceived, { timeout: 3_000 }).toBeGreaterThanOrEqual(4);
    expect(a.d.stats.packetsSent).toBe(4);
  });

  it("an announcement claiming our own peer id is never offered", async () => {
    const a = await node(1);
    // Another process announcing a's id (a copied key file, or a forger): a does not offer itself.
    const twin = lanDiscovery({ appName: "loop-test", peerId: id(1), port: 7999, interface: "127.0.0.1", mdnsPort: MDNS_PORT });
    started.push(twin);
    await twin.start();
    const b = await node(2);
    await expect.poll(() => a.found.map((c) => c.peerId)).toContain(id(2));
    expect(a.found.map((c) => c.peerId)).toEqual([id(2)]);
    expect(a.d.candidates.map((c) => c.peerId)).toEqual([id(2)]);
    await expect.poll(() => b.found.map((c) => c.port).sort()).toEqual([7001, 7999]);
  });

  it("a node of another app is not offered", async () => {
    const a = await node(1);
    const other = await node(3, { appName: "another-app" });
    const b = await node(2);
    await expect.poll(() => a.found.map((c) => c.peerId)).toContain(id(2));
    await expect.poll(() => b.found.map((c) => c.peerId)).toContain(id(1));
    expect(a.found.map((c) => c.peerId)).not.toContain(id(3));
    expect(b.found.map((c) => c.peerId)).not.toContain(id(3));
    expect(other.found).toEqual([]);
  });

  it("a flood of forged announcements and garbage leaves the list bounded and the honest peer found", async () => {
    const a = await node(1, { maxCandidates: 16, maxCandidatesPerHost: 4 });
    const errors: unknown[] = [];
    a.d.on("error", (e) => errors.push(e));
    const raw = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((r) => raw.bind(0, "127.0.0.1", r));
    raw.setMulticastInterface("127.0.0.1");
    const hash = appHash("loop-test");
    const send = (b: Uint8Array): Promise<void> => new Promise((r) => raw.send(b, MDNS_PORT, "224.0.0.251", () => r()));
    // Bounded: 2,000 forged peers and 500 garbage packets in about 2 s, 25 every 25 ms (longer on a loaded machine).
    const started = performance.now();
    for (let i = 0; i < 2_000; i++) {
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 25));
      await send(dnsPacket.encode({ type: "response", ...selfRecords({ peerId: id(1000 + i), appHash: hash, port: 9000, addresses: [] }, 4500) } as dnsPacket.Packet));
      if (i % 4 === 0) await send(Buffer.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1]));
    }
    raw.close();
    await expect.poll(() => a.d.stats.packetsReceived, { timeout: 10_000 }).toBeGreaterThan(1_000);
    await expect.poll(() => a.d.stats.ignoredPackets, { timeout: 10_000 }).toBeGreaterThan(100);
    expect(a.d.candidates.length).toBeLessThanOrEqual(16);
    // One forged address: a burst of maxOffersPerSecond (20 by default), then 20 a second for as long as the
    // flood lasted (about 2 s, more on a loaded machine), not 2,000.
    const seconds = (performance.now() - started) / 1000;
    expect(a.d.stats.offers).toBeLessThanOrEqual(20 + Math.ceil(20 * seconds));
    expect(a.d.stats.throttledOffers).toBeGreaterThan(0);
    const b = await node(2);
    await expect.poll(() => a.found.map((c) => c.peerId), { timeout: 10_000 }).toContain(id(2));
    await expect.poll(() => b.found.map((c) => c.peerId), { timeout: 10_000 }).toContain(id(1));
    expect(errors).toEqual([]);
  });

  it("refuses bad options with XPPG_ERR_INVALID_ARGUMENT and start after stop with XPPG_ERR_DISCOVERY_STOPPED", async () => {
    for (const bad of [{ appName: "" }, { peerId: "Bad Id" }, { port: 0 }, { interface: "eth0" }, { maxCandidates: 0 }]) {
      let caught: unknown;
      try {
        lanDiscovery({ appName: "x", peerId: id(1), port: 1, ...bad });
      } catch (e) {
        caught = e;
      }
      expect(isXppgError(caught, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    }
    const d = lanDiscovery({ appName: "x", peerId: id(1), port: 1, interface: "127.0.0.1", mdnsPort: MDNS_PORT });
    await d.stop();
    await expect(d.start()).rejects.toMatchObject({ code: "XPPG_ERR_DISCOVERY_STOPPED" });
  });

  it("an aborted start rejects with XPPG_ERR_ABORTED and leaves no socket", async () => {
    const d = lanDiscovery({ appName: "x", peerId: id(1), port: 1, interface: "127.0.0.1", mdnsPort: MDNS_PORT });
    await expect(d.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    await d.stop();
  });
});
