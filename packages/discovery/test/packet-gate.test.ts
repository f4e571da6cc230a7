// The gate in front of the DNS decoder: every packet a node writes passes it
// (fast-check over announcements and queries); a packet whose header declares
// more questions and records than its bytes can hold is dropped before
// `dns-packet` reads it (it decoded a 201-byte packet into 52,224 records).
// On loopback only, as lan-discovery.test.ts.
import { createSocket } from "node:dgram";
import fc from "fast-check";
import dnsPacket from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { appHash, lanDiscovery, type LanDiscovery, type PeerCandidate } from "../src/index.js";
import { plausiblePacket } from "../src/packet-gate.js";
import { appQuery, selfRecords } from "../src/records.js";

const MDNS_PORT = 20_000 + (process.pid % 20_000);
const id = (i: number): string => `xp1${String(i).padStart(52, "q")}`;
const started: LanDiscovery[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop()));
});

/**
 * 201 bytes found by fuzzing `dns-packet` with mutated announcements: the
 * header declares 52,224 additional records, and the decoder reads them all
 * (over the same bytes again and again) without an error.
 */
const INFLATED = Buffer.from(
  "00008000000000040000cc0006787031616263055f78707067045f756470056c6f63616c0000210001000000780012000000000fa004686f7374056c6f63616c0006787031616263055f78707067045f756470056c6f63616c000010000100000078721603613d3111723d7463703a2f2f312e322e332e343a3504686f7374056c6f63616c0000010001000000b400047f000001055f78707067045f756470056c6f63616c00000c000100000078001906787031616263055f78707067045f756470056c6f63616c00",
  "hex",
);

describe("plausiblePacket", () => {
  it("passes every announcement and query a node writes", () => {
    const address = fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.integer({ min: 1, max: 65535 })).map(([a, b, p]) => `tcp://10.${a}.${b}.1:${p}`);
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 65535 }), fc.array(address, { maxLength: 4 }), fc.array(fc.nat({ max: 10_000 }), { maxLength: 20 }), fc.integer({ min: 0, max: 4500 }), (n, port, addresses, known, ttl) => {
        const hash = appHash(`app-${n % 7}`);
        const announcement = dnsPacket.encode({ type: "response", ...selfRecords({ peerId: id(n), appHash: hash, port, addresses }, ttl) } as dnsPacket.Packet);
        const query = dnsPacket.encode({ type: "query", ...appQuery(hash, known.map(id), ttl) } as dnsPacket.Packet);
        expect(plausiblePacket(announcement)).toBe(true);
        expect(plausiblePacket(query)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a header that declares more than the bytes hold, and anything shorter than a header", () => {
    expect(INFLATED.length).toBe(201);
    expect(dnsPacket.decode(INFLATED).additionals!.length).toBe(52_224);
    expect(plausiblePacket(INFLATED)).toBe(false);
    expect(plausiblePacket(new Uint8Array(11))).toBe(false);
    // The smallest packet of one question: a header and a 5-byte question.
    expect(plausiblePacket(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 1]))).toBe(true);
    expect(plausiblePacket(Uint8Array.from([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 1]))).toBe(false);
  });
});

describe("LanDiscovery behind the gate", () => {
  it("drops inflated packets unread (counted as ignored, not as received) and still finds the honest peer", async () => {
    const nodes = await Promise.all(
      [1, 2].map(async (i) => {
        const d = lanDiscovery({ appName: "gate-test", peerId: id(i), port: 7000 + i, interface: "127.0.0.1", mdnsPort: MDNS_PORT });
        const found: PeerCandidate[] = [];
        d.on("peer", (c) => void found.push(c));
        started.push(d);
        await d.start();
        return { d, found };
      }),
    );
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await expect.poll(() => a.found.map((c) => c.peerId), { timeout: 5_000 }).toContain(id(2));
    const raw = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((r) => raw.bind(0, "127.0.0.1", r));
    raw.setMulticastInterface("127.0.0.1");
    // A decoded packet counts as received (and as ignored when it announces nothing); one dropped by the gate only as ignored.
    const unread = (): number => a.d.stats.ignoredPackets - a.d.stats.packetsReceived;
    const before = unread();
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => raw.send(INFLATED, MDNS_PORT, "224.0.0.251", () => r()));
    raw.close();
    await expect.poll(() => unread() - before, { timeout: 5_000 }).toBeGreaterThanOrEqual(20);
    expect(b.found.map((c) => c.peerId)).toContain(id(1));
  });
});
