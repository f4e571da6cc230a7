import { describe, expect, it } from "vitest";
import { ENVELOPE_VERSION, EnvelopeCodec } from "@xppg/framing";
import { generateIdentity, type Identity } from "@xppg/secure";
import { memoryTransport } from "@xppg/transport";
import { now, type XppgError } from "@xppg/errors";
import { PROTOCOL_VERSION, type Playground } from "../src/index.js";
import { forApplication } from "../src/mesh/membership.js";
import { relayBytes } from "../src/mesh/relay-bytes.js";
import { node, RawPeer, stopNodesAfterEach, until } from "./helpers.js";

stopNodesAfterEach();

/**
 * Started nodes joined as given: `links` are [dialler, listener] index pairs,
 * and no others: the connection manager's own dials (up to its low water
 * mark, from the peers it learns) are off, so the topology is the test's.
 */
async function mesh(count: number, links: [number, number][]): Promise<Playground[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => node("test-app", { connections: { lowWater: 0 } })));
  for (const [a, b] of links) await nodes[a]!.join(nodes[b]!.addresses[0]!);
  for (const [a, b] of links) await until(() => nodes[b]!.peers.some((p) => p.peerId === nodes[a]!.peerId), 5000, `link ${a}-${b} open on both sides`);
  return nodes;
}

/** Per node, how many times each text arrived. */
function tally(nodes: Playground[]): Map<string, number>[] {
  return nodes.map((pg) => {
    const seen = new Map<string, number>();
    pg.on<{ text: string }>("text", (_src, _kind, payload) => void seen.set(payload.text, (seen.get(payload.text) ?? 0) + 1));
    return seen;
  });
}

/** A signed broadcast as a node makes it, with the hop limit given. */
/** A broadcast id as nodes make them: the time it was made, × 1024, plus a counter. */
const freshId = (n = 0): number => Date.now() * 1024 + n;

function signedBroadcast(identity: Identity, kind: string, payload: unknown, hopLimit: number, id = freshId()): Uint8Array {
  const prefix = new TextEncoder().encode("xppg-broadcast-v1:");
  const codec = new EnvelopeCodec();
  const bytes = codec.encodeSigned({ version: ENVELOPE_VERSION, kind, source: identity.peerId, destination: null, id, hopLimit: 0, payload }, (b) => identity.sign(new Uint8Array([...prefix, ...b])));
  bytes[2] = hopLimit;
  return bytes;
}

/** A raw peer that completes the handshake offering `caps`. */
async function rawMember(target: Playground, caps: string[] = ["mesh/1"]): Promise<RawPeer> {
  const raw = await RawPeer.dial(memoryTransport(), target.addresses[0]!);
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps, peerId: raw.peerId, listen: [], agent: "raw" });
  await raw.send("xppg/welcome", null);
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "raw peer admitted");
  return raw;
}

describe("the mesh room: broadcasts reach the whole mesh", () => {
  it("in a chain A - B - C - D, a broadcast from either end reaches every node exactly once", async () => {
    const nodes = await mesh(4, [
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    const seen = tally(nodes);
    await nodes[0]!.sendText("from A");
    await nodes[3]!.sendText("from D");
    await until(() => seen.every((s, i) => (i === 0 || s.get("from A") === 1) && (i === 3 || s.get("from D") === 1)), 5000, "both broadcasts everywhere");
    // Given time for any stray copy, still once each.
    await new Promise((r) => setTimeout(r, 200));
    seen.forEach((s, i) => {
      expect(s.get("from A") ?? 0).toBe(i === 0 ? 0 : 1);
      expect(s.get("from D") ?? 0).toBe(i === 3 ? 0 : 1);
    });
    expect(nodes[1]!.stats.forwardedBroadcasts).toBeGreaterThanOrEqual(2);
    expect(nodes[0]!.peers[0]!.capabilities).toContain("mesh/1");
  });

  it("every node learns the others of the mesh from their presence: hops, the neighbour towards each, signed addresses", async () => {
    const nodes = await mesh(4, [
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    const joined: string[] = [];
    nodes[0]!.events.on("mesh:joined", (member) => void joined.push(member.peerId));
    await until(() => nodes.every((pg) => pg.meshPeers.length === 3), 5000, "every node knows the three others");
    expect(nodes[0]!.meshPeers.map((m) => [m.peerId, m.hops, m.via])).toEqual([
      [nodes[1]!.peerId, 1, nodes[1]!.peerId],
      [nodes[2]!.peerId, 2, nodes[1]!.peerId],
      [nodes[3]!.peerId, 3, nodes[1]!.peerId],
    ]);
    expect(nodes[0]!.meshPeers[2]!.listenAddresses).toEqual(nodes[3]!.addresses);
    expect(nodes[3]!.meshPeers.map((m) => m.hops)).toEqual([1, 2, 3]);
    // Heard once each, however many presences follow.
    expect(joined.sort()).toEqual([nodes[1]!.peerId, nodes[2]!.peerId, nodes[3]!.peerId].sort());
  });

  it("gives seenAt on the performance.now() clock, as documented, in pg.meshPeers and the mesh events", async () => {
    // The mesh keeps its times on now() of @xppg/errors; what the application reads is turned to performance.now()'s.
    const before = performance.now();
    const [a, b] = await Promise.all([node("test-app", { connections: { lowWater: 0 } }), node("test-app", { connections: { lowWater: 0 } })]);
    const heard: number[] = [];
    a.events.on("mesh:joined", (member) => void heard.push(member.seenAt));
    await b.join(a.addresses[0]!);
    await until(() => a.meshPeers.length === 1 && heard.length === 1, 5000, "A hears of B");
    const after = performance.now();
    for (const seenAt of [a.meshPeers[0]!.seenAt, heard[0]!]) {
      expect(seenAt).toBeGreaterThanOrEqual(before);
      expect(seenAt).toBeLessThanOrEqual(after);
    }
    // Closely: a time of now() read between two readings of performance.now() lands between them.
    const p0 = performance.now();
    const member = forApplication({ peerId: "p", hops: 1, via: "p", listenAddresses: [], seenAt: now() });
    const p1 = performance.now();
    expect(member.seenAt).toBeGreaterThanOrEqual(p0 - 0.05);
    expect(member.seenAt).toBeLessThanOrEqual(p1 + 0.05);
    expect({ ...member }).toEqual({ peerId: "p", hops: 1, via: "p", listenAddresses: [], seenAt: member.seenAt });
  });

  it("in a mesh with cycles every broadcast arrives exactly once, and the tree prunes the redundant links", async () => {
    // Eight nodes: a ring and two chords.
    const links: [number, number][] = [...Array.from({ length: 8 }, (_, i) => [(i + 1) % 8, i] as [number, number]), [4, 0], [6, 2]];
    const nodes = await mesh(8, links);
    const seen = tally(nodes);
    const texts: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < nodes.length; i++) {
        const text = `m${round}-${i}`;
        texts.push(text);
        await nodes[i]!.sendText(text);
      }
      await until(() => seen.every((s) => texts.every((t) => s.has(t) || t.endsWith(`-${seen.indexOf(s)}`))), 5000, `round ${round} delivered`);
    }
    await new Promise((r) => setTimeout(r, 300));
    seen.forEach((s, i) => {
      for (const t of texts) expect(s.get(t) ?? 0, `${t} at node ${i}`).toBe(t.endsWith(`-${i}`) ? 0 : 1);
    });
    const duplicates = nodes.reduce((n, pg) => n + pg.stats.duplicateBroadcasts, 0);
    expect(duplicates).toBeGreaterThan(0);
    // Once pruned, a broadcast costs one copy per node: count the copies of the last round.
    const before = nodes.reduce((n, pg) => n + pg.stats.duplicateBroadcasts, 0);
    for (let i = 0; i < nodes.length; i++) await nodes[i]!.sendText(`late-${i}`);
    await until(() => seen.every((s, j) => nodes.every((_, i) => i === j || s.get(`late-${i}`) === 1)), 5000, "late round delivered");
    await new Promise((r) => setTimeout(r, 200));
    const after = nodes.reduce((n, pg) => n + pg.stats.duplicateBroadcasts, 0);
    expect(after - before).toBeLessThan(duplicates);
  });

  it("a broadcast relayed with a forged signature is dropped at the first hop, counted, and goes no further", async () => {
    const nodes = await mesh(2, [[1, 0]]);
    const seen = tally(nodes);
    const raw = await rawMember(nodes[0]!);
    const victim = generateIdentity();
    // Claims to come from `victim`, signed with another key.
    const forged = signedBroadcast(generateIdentity(), "text", { text: "forged" }, 32);
    forged.set(new TextEncoder().encode(victim.peerId), 15 + "text".length);
    await raw.conn.send(RawPeer.bundle(forged));
    await until(() => nodes[0]!.stats.forgedMessages === 1, 5000, "forgery counted");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.every((s) => !s.has("forged"))).toBe(true);
    expect(nodes[1]!.stats.forgedMessages).toBe(0);
  });

  it("a relayed broadcast is checked against its origin's signature and passed on; one past the hop limit is dropped; a peer outside the mesh may not relay", async () => {
    const nodes = await mesh(2, [[1, 0]]);
    const seen = tally(nodes);
    const errors: XppgError[] = [];
    nodes[0]!.events.on("error", (e) => void errors.push(e));
    const raw = await rawMember(nodes[0]!);
    const origin = generateIdentity();
    // A maximal hop limit is taken as the mesh's own: it still travels at most 32 links from here.
    await raw.conn.send(RawPeer.bundle(signedBroadcast(origin, "text", { text: "relayed" }, 255, freshId(1))));
    await until(() => seen[1]!.get("relayed") === 1, 5000, "relayed broadcast reaches the far node");
    expect(seen[0]!.get("relayed")).toBe(1);
    // Its hop limit used up: dropped unchecked.
    await raw.conn.send(RawPeer.bundle(signedBroadcast(origin, "text", { text: "spent" }, 0, freshId(2))));
    await until(() => nodes[0]!.stats.droppedBroadcasts === 1, 5000, "spent broadcast dropped");
    expect(seen.every((s) => !s.has("spent"))).toBe(true);
    // A peer without mesh/1 relaying another's broadcast breaks the protocol: it alone is dropped.
    const outsider = await rawMember(nodes[0]!, []);
    await outsider.conn.send(RawPeer.bundle(signedBroadcast(origin, "text", { text: "not yours" }, 0, freshId(3))));
    await outsider.conn.closed;
    await until(() => errors.some((e) => e.code === "XPPG_ERR_PROTOCOL_VIOLATION"), 5000, "violation reported");
    expect(nodes[0]!.peers.map((p) => p.peerId)).toContain(nodes[1]!.peerId);
  });

  it("an announcement flood of fresh ids costs bounded grafts, sent only to the announcer; the mesh keeps delivering", async () => {
    const nodes = await mesh(2, [[1, 0]]);
    const seen = tally(nodes);
    const raw = await rawMember(nodes[0]!);
    const origin = generateIdentity().peerId;
    for (let batch = 0; batch < 20; batch++) {
      await raw.send("xppg/mesh-ihave", Array.from({ length: 256 }, (_, i) => [origin, batch * 256 + i, 1]));
    }
    await nodes[1]!.sendText("honest");
    await until(() => seen[0]!.get("honest") === 1, 5000, "an honest broadcast still arrives");
    await until(() => raw.received.filter((m) => m.kind === "xppg/mesh-graft").length >= 4000, 10_000, "grafts for the missing ids");
    await new Promise((r) => setTimeout(r, 1000));
    // At most one graft per tracked id (4096 tracked at once), and to no one else.
    expect(raw.received.filter((m) => m.kind === "xppg/mesh-graft").length).toBeLessThanOrEqual(4096);
    expect(nodes[0]!.peers.map((p) => p.peerId)).toContain(raw.peerId);
  });

  it.each([
    ["an announcement of 257 broadcasts", "xppg/mesh-ihave", Array.from({ length: 257 }, (_, i) => ["o", i, 1])],
    ["an announcement with a round past 255", "xppg/mesh-ihave", [["o", 1, 256]]],
    ["a graft that names no broadcast", "xppg/mesh-graft", { o: 5 }],
    ["an unknown mesh kind", "xppg/mesh-teleport", null],
  ])("%s is a protocol violation: that peer alone is dropped", async (_what, kind, payload) => {
    const nodes = await mesh(2, [[1, 0]]);
    const errors: XppgError[] = [];
    nodes[0]!.events.on("error", (e) => void errors.push(e));
    const raw = await rawMember(nodes[0]!);
    await raw.send(kind, payload);
    await raw.conn.closed;
    await until(() => errors.some((e) => e.code === "XPPG_ERR_PROTOCOL_VIOLATION"), 5000, "violation reported");
    expect(nodes[0]!.peers.map((p) => p.peerId)).toEqual([nodes[1]!.peerId]);
  });

  it("mesh messages from a peer that did not settle mesh/1 are a protocol violation", async () => {
    const nodes = await mesh(1, []);
    const errors: XppgError[] = [];
    nodes[0]!.events.on("error", (e) => void errors.push(e));
    const raw = await rawMember(nodes[0]!, []);
    await raw.send("xppg/mesh-prune", null);
    await raw.conn.closed;
    await until(() => errors.some((e) => e.code === "XPPG_ERR_PROTOCOL_VIOLATION" && /without the mesh\/1 capability/.test(e.message)), 5000, "violation reported");
  });

  it("relay bytes are the origin's own bytes: what the codec made, at hop limit 0", () => {
    const identity = generateIdentity();
    const sent = signedBroadcast(identity, "move", { x: 1.5, blob: new Uint8Array([1, 2, 3]), list: [1, "two", null] }, 0);
    const decoded = new EnvelopeCodec().decode(sent, 0, sent.length);
    expect(relayBytes(decoded)).toEqual(new Uint8Array(sent));
  });
});
