import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { generateIdentity, type Identity } from "@xppg/secure";
import { memoryTransport, type Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { PROTOCOL_VERSION, Playground } from "../src/index.js";
import { signRecord, toWire } from "../src/peer-record.js";
import { node, RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** Checks often, so the tests run in a second or two. */
const FAST = { connections: { checkIntervalMs: 50, redialBaseMs: 100 } };

/**
 * A raw peer that completes the handshake with `pex/1` and `mesh/1` (with the identity and the hello's listen addresses
 * given), and has had the target's greeting: the full exchange a new link gets a turn after it opens (everything the
 * target knows). Only then is what the test makes the target learn next news to this peer, passed on by pushes alone;
 * a greeting that came late (a loaded machine) would carry it all.
 */
async function rawPexPeer(target: Playground, options: { identity?: Identity; listen?: string[] } = {}): Promise<RawPeer> {
  const raw = await RawPeer.dial(memoryTransport(), target.addresses[0]!, options.identity);
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1", "pex/1"], peerId: raw.peerId, listen: options.listen ?? [], agent: "raw" });
  await raw.send("xppg/welcome", null);
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "raw peer admitted");
  await until(() => raw.received.some((m) => m.kind === "xppg/pex"), 5000, "the target's greeting (its first peer exchange)");
  return raw;
}

/** A memory listener that counts the connections made to it (a victim whose address is advertised). */
async function victim(address: string): Promise<{ accepted: Connection[]; close: () => Promise<void> }> {
  const accepted: Connection[] = [];
  const listener = await memoryTransport().listen(address, (conn) => {
    accepted.push(conn);
    void conn.close();
  });
  return { accepted, close: () => listener.close() };
}

describe("peer exchange and the connection manager", () => {
  it("in a chain A - B - C, A learns C from B and connects to it, up to its low water mark", async () => {
    const [a, b, c] = await Promise.all([node("test-app", FAST), node("test-app", FAST), node("test-app", FAST)]);
    await a.join(b.addresses[0]!);
    await c.join(b.addresses[0]!);
    await until(() => a.peers.some((p) => p.peerId === c.peerId) || c.peers.some((p) => p.peerId === a.peerId), 10_000, "A and C connect");
    expect(a.peers.find((p) => p.peerId === b.peerId)!.capabilities).toContain("pex/1");
    await until(() => a.peers.length === 2 && b.peers.length === 2 && c.peers.length === 2, 10_000, "a triangle");
    expect(a.connections).toMatchObject({ lowWater: 4, highWater: 32, connected: 2 });
    // A new neighbour is counted as known a turn after its link opens (the link's greeting).
    await until(() => a.connections.known >= 2, 5000, "A knows B and C");
  });

  it("with lowWater 0 nothing is dialled; with peerExchange off the capability is not offered", async () => {
    const off = { connections: { lowWater: 0, peerExchange: false, checkIntervalMs: 50 } };
    const [a, b, c] = await Promise.all([node("test-app", off), node("test-app", FAST), node("test-app", FAST)]);
    await a.join(b.addresses[0]!);
    await c.join(b.addresses[0]!);
    await until(() => b.connections.known >= 2, 5000, "b knows both");
    expect(a.peers[0]!.capabilities).not.toContain("pex/1");
    // c may dial a (it learns a from b's presence); a itself dials nobody.
    await new Promise((r) => setTimeout(r, 500));
    expect(a.connections.dials).toBe(0);
  });

  it("a record signed by another key than the peer it names is refused; the sender is not believed", async () => {
    const target = await node("test-app", FAST);
    const raw = await rawPexPeer(target);
    const victimPeer = generateIdentity();
    const liar = generateIdentity();
    // The liar's signature over the victim's id and an address of its choosing.
    const forged = { ...signRecord(liar, [`memory://attacker-choice-${process.pid}`], Date.now() + 1000), peerId: victimPeer.peerId };
    const trap = await victim(`memory://attacker-choice-${process.pid}`);
    const real = await victim(`memory://victim-honest-${process.pid}`);
    const honest = signRecord(victimPeer, [`memory://victim-honest-${process.pid}`], Date.now());
    try {
      await raw.send("xppg/pex", [toWire(forged, false)]);
      await raw.send("xppg/pex", [toWire(honest, false)]);
      // The node is below its low water mark: it dials the victim where the victim's own record says.
      await until(() => real.accepted.length > 0, 5000, "the honest address is dialled");
      expect(trap.accepted).toEqual([]);
    } finally {
      await Promise.all([trap.close(), real.close()]);
    }
  });

  it("a malformed peer exchange drops its sender, with a protocol violation", async () => {
    const target = await node("test-app", FAST);
    const raw = await rawPexPeer(target);
    const errors: string[] = [];
    target.events.on("error", (e) => errors.push(e.code));
    await raw.send("xppg/pex", [["not-a-peer-id", [], 1, new Uint8Array(64), 0]]);
    await until(() => !target.peers.some((p) => p.peerId === raw.peerId), 5000, "the sender is dropped");
    expect(errors).toContain("XPPG_ERR_PROTOCOL_VIOLATION");
    // More than 32 records at once: the same.
    const raw2 = await rawPexPeer(target);
    const many = Array.from({ length: 33 }, () => toWire(signRecord(generateIdentity(), ["memory://x"], Date.now()), false));
    await raw2.send("xppg/pex", many);
    await until(() => !target.peers.some((p) => p.peerId === raw2.peerId), 5000, "the second sender is dropped");
  });

  it("a push passes on at most 4 records of one informant, and never a record re-signed with the same addresses", async () => {
    const target = await node("test-app", { connections: { ...FAST.connections, lowWater: 0 } });
    const observer = await rawPexPeer(target);
    const informant = await rawPexPeer(target);
    const fakes = Array.from({ length: 10 }, () => generateIdentity());
    const ids = new Set(fakes.map((f) => f.peerId));
    const t0 = Date.now();
    // The same ten peers and addresses, signed again each round: only the first round is news.
    for (let round = 0; round < 3; round++) {
      await informant.send("xppg/pex", fakes.map((f, i) => toWire(signRecord(f, [`memory://fake-${i}`], t0 + round), false)));
      await new Promise((r) => setTimeout(r, 1100));
    }
    await new Promise((r) => setTimeout(r, 2500));
    const passedOn = observer.received
      .filter((m) => m.kind === "xppg/pex")
      .flatMap((m) => m.payload as unknown[][])
      .filter((r) => ids.has(r[0] as string));
    expect(passedOn.length).toBeGreaterThan(0);
    expect(passedOn.length).toBeLessThanOrEqual(4);
  });

  it("a peer's new signed record is passed on by the next push even when its hello (or presence) brought the new addresses first", async () => {
    const target = await node("test-app", { connections: { ...FAST.connections, lowWater: 0 } });
    const observer = await rawPexPeer(target);
    const identity = generateIdentity();
    const [first, relayed] = [`memory://peer-${process.pid}-lan`, `memory://peer-${process.pid}-relayed`];
    /** The addresses of the peer's records the observer was given, in order. */
    const given = (): string[][] =>
      observer.received
        .filter((m) => m.kind === "xppg/pex")
        .flatMap((m) => m.payload as unknown[][])
        .filter((r) => r[0] === identity.peerId)
        .map((r) => r[1] as string[]);
    const before = await rawPexPeer(target, { identity, listen: [first] });
    await before.send("xppg/pex", [toWire(signRecord(identity, [first], Date.now()), true)]);
    await until(() => given().length > 0, 10_000, "the first record is passed on");
    await before.conn.close();
    await until(() => !target.peers.some((p) => p.peerId === identity.peerId), 5000, "the peer left");
    // It comes back with a relayed address: its hello carries it (unsigned, never passed on), then its new signed record.
    const after = await rawPexPeer(target, { identity, listen: [first, relayed] });
    await after.send("xppg/pex", [toWire(signRecord(identity, [first, relayed], Date.now()), true)]);
    // A push goes every 2 s; the full exchange, the only other way, every 30 s.
    await until(() => given().some((a) => a.includes(relayed)), 10_000, "the new record is passed on by a push");
    expect(given().at(-1)).toEqual([first, relayed]);
  });

  it("a peer's wildcard address is not dialled (it reached this node, which then forgot the peer); its other address is", async () => {
    const identity = generateIdentity();
    const [target, peer] = await Promise.all([tcpNode(FAST), tcpNode({ identity, connections: { lowWater: 0 } })]);
    const raw = await tcpRawPeer(target, { hello: false });
    await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1", "pex/1"], peerId: raw.peerId, listen: [], agent: "raw" });
    await raw.send("xppg/welcome", null);
    // As a node listening on every interface says where it listens: the wildcard first (here, the target's own port).
    const addresses = [`tcp://0.0.0.0:${target.port}`, `tcp://127.0.0.1:${peer.port}`];
    await raw.send("xppg/pex", [toWire(signRecord(identity, addresses, Date.now()), false)]);
    await until(() => target.peers.some((p) => p.peerId === peer.peerId), 10_000, "the target joins the peer at its other address");
    expect(target.peers.find((p) => p.peerId === peer.peerId)!.address).toBe(addresses[1]);
  });

  it("a node listening on every interface gives its LAN addresses in its record, never the wildcard (a last-release node dials it, reaches itself and forgets the peer)", async () => {
    // On every interface, IPv4 and IPv6 (the default host is 0.0.0.0); nothing but the raw peer below connects to it.
    const target = track(new Playground("test-app", { listen: ["tcp://0.0.0.0:0", "tcp://[::]:0"], connections: { lowWater: 0 } }));
    await target.start();
    const ports = target.addresses.map((a) => a.slice(a.lastIndexOf(":") + 1));
    expect(ports).toHaveLength(2);
    const raw = await RawPeer.dial(tcpTransport(), `tcp://127.0.0.1:${ports[0]!}`);
    await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1", "pex/1"], peerId: raw.peerId, listen: [], agent: "raw" });
    await raw.send("xppg/welcome", null);
    await until(() => raw.received.some((m) => m.kind === "xppg/pex"), 5000, "the target sends its record");
    const own = (raw.received.find((m) => m.kind === "xppg/pex")!.payload as unknown[][])[0]!;
    expect(own[0]).toBe(target.peerId);
    const lan = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => i.family === "IPv4" && !i.internal).map((i) => i.address));
    expect(own[1]).toEqual([...new Set(ports.flatMap((port) => lan.map((ip) => `tcp://${ip}:${port}`)))].slice(0, 8));
  });

  it("thousands of fake peers advertised by one neighbour take a bounded share of the address book", async () => {
    const target = await node("test-app", { connections: { lowWater: 0 } });
    const raw = await rawPexPeer(target);
    // 2,000 peers with valid records (made-up identities), 32 a message, at the most the node reads (1 a second, a burst of 3), and far more.
    const now = Date.now();
    for (let m = 0; m < 63; m++) {
      const records = Array.from({ length: 32 }, (_, i) => toWire(signRecord(generateIdentity(), [`memory://fake-${m}-${i}`], now), false));
      await raw.send("xppg/pex", records);
    }
    await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "the sender is still connected (nothing it sent was malformed)");
    await new Promise((r) => setTimeout(r, 500));
    // 64 for the informant, plus the raw peer itself.
    expect(target.connections.known).toBeLessThanOrEqual(65);
  });

  it("a victim's address advertised under many peer ids is dialled at most dialsPerAddress times per window", async () => {
    const target = await node("test-app", FAST);
    const raw = await rawPexPeer(target);
    const address = `memory://victim-${process.pid}-${Date.now()}`;
    const v = await victim(address);
    try {
      const now = Date.now();
      // 3 messages (the burst) of 32 made-up peers, every one "listening" at the victim's address.
      for (let m = 0; m < 3; m++) {
        await raw.send("xppg/pex", Array.from({ length: 32 }, () => toWire(signRecord(generateIdentity(), [address], now), false)));
      }
      await until(() => target.connections.dialsRefused >= 10, 10_000, "the dial budget refuses the rest");
      expect(v.accepted.length).toBeGreaterThan(0);
      expect(v.accepted.length).toBeLessThanOrEqual(3);
      expect(target.connections.dials).toBeLessThanOrEqual(3);
    } finally {
      await v.close();
    }
  });
});
