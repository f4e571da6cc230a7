// `discovery: { lan }` on loopback only: every node listens on 127.0.0.1 and
// its LAN discovery multicasts through the loopback interface, on a UDP
// port of this test file's own (not 5353), so nothing reaches a real network.
import { createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { lanDiscovery } from "@xppg/discovery";
import { isXppgError } from "@xppg/errors";
import { generateIdentity } from "@xppg/secure";
import { Playground, type PeerCandidate, type PlaygroundOptions } from "../src/index.js";
import { stopNodesAfterEach, track } from "./helpers.js";

stopNodesAfterEach();
const MDNS_PORT = 20_000 + (process.pid % 20_000);
const lan = { lan: { interface: "127.0.0.1", mdnsPort: MDNS_PORT } };

async function lanNode(app: string, options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground(app, { host: "127.0.0.1", port: 0, discovery: lan, ...options }));
  await pg.start();
  return pg;
}
const ids = (pg: Playground): string[] => pg.peers.map((p) => p.peerId).sort();

describe("LAN discovery in Playground (loopback)", () => {
  it("three nodes of one app form a full mesh with no address typed, never joining themselves", async () => {
    const nodes = [await lanNode("mesh-app"), await lanNode("mesh-app"), await lanNode("mesh-app")];
    for (const n of nodes) await expect.poll(() => ids(n), { timeout: 5_000 }).toEqual(nodes.filter((m) => m !== n).map((m) => m.peerId).sort());
    for (const n of nodes) expect(n.peers.some((p) => p.peerId === n.peerId)).toBe(false);
    // Found through discovery, by the node that dialled.
    expect(nodes.some((n) => n.peers.some((p) => n.foundOnLan(p.peerId)))).toBe(true);
  });

  it("a peer found on the LAN is already shown as found inside its peer:joined listener", async () => {
    const seen: boolean[] = [];
    const watch = (pg: Playground): Playground => (pg.events.on("peer:joined", (peer) => void seen.push(pg.foundOnLan(peer.peerId))), pg);
    const a = watch(await lanNode("joined-app"));
    const b = watch(await lanNode("joined-app"));
    await expect.poll(() => ids(a), { timeout: 5_000 }).toEqual([b.peerId]);
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
    // The side that dialled knew at once how it found the other.
    expect(seen).toContain(true);
  });

  it("a node with a relay slot announces its relayed address with its LAN one", async () => {
    const relay = track(new Playground("relay-app", { host: "127.0.0.1", port: 0, reach: { serveRelay: true } }));
    await relay.start();
    const alice = await lanNode("relay-app");
    await alice.join(relay.addresses[0]!);
    await expect.poll(() => alice.addresses.filter((a) => a.startsWith("relay://")), { timeout: 5_000 }).toHaveLength(1);
    const viaRelay = alice.addresses.find((a) => a.startsWith("relay://"))!;
    const bob = await lanNode("relay-app");
    await expect.poll(() => bob.lanCandidates.find((c) => c.peerId === alice.peerId)?.relayAddresses, { timeout: 5_000 }).toEqual([viaRelay]);
  });

  it("a node of another app is never dialled, nor does it dial", async () => {
    const other = await lanNode("other-app");
    const attempts: string[] = [];
    other.events.on("peer:discovered", (c) => attempts.push(c.peerId));
    const a = await lanNode("main-app");
    const b = await lanNode("main-app");
    await expect.poll(() => ids(a), { timeout: 5_000 }).toEqual([b.peerId]);
    expect(a.lanCandidates.map((c) => c.peerId)).not.toContain(other.peerId);
    expect(other.peers).toEqual([]);
    expect(attempts).toEqual([]);
  });

  it("a stopped node leaves the others' candidates, and a new one is joined", async () => {
    const a = await lanNode("leave-app");
    const b = await lanNode("leave-app");
    await expect.poll(() => ids(a), { timeout: 5_000 }).toEqual([b.peerId]);
    await b.stop();
    await expect.poll(() => a.lanCandidates.map((c) => c.peerId)).toEqual([]);
    await expect.poll(() => a.peers).toEqual([]);
    const c = await lanNode("leave-app");
    await expect.poll(() => ids(a), { timeout: 5_000 }).toEqual([c.peerId]);
  });

  it("a forged announcement pointing at a silent host is dialled once per backoff period, with the claimed id pinned", async () => {
    // The "third party": a TCP port that accepts and never speaks.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket.on("error", () => {})));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const a = await lanNode("pin-app");
    const errors: string[] = [];
    a.events.on("error", (e) => errors.push(e.code));
    const claimed = generateIdentity().peerId;
    // A neighbour announcing a peer id it does not hold, at someone else's port.
    const forger = lanDiscovery({ appName: "pin-app", peerId: claimed, port: (silent.address() as AddressInfo).port, interface: "127.0.0.1", mdnsPort: MDNS_PORT });
    try {
      await forger.start();
      // At once, or after the 1.5 s tie-break when our peer id is the greater.
      await expect.poll(() => sockets.length, { timeout: 3_000 }).toBe(1);
      // Its announcements (at 0 and 1 s) and answers to queries since fall within the 2 s backoff and the dial's own
      // 5 s deadline: no second dial.
      await expect.poll(() => forger.stats.packetsSent, { timeout: 3_000 }).toBeGreaterThanOrEqual(4);
      expect(sockets).toHaveLength(1);
      expect(a.peers.map((p) => p.peerId)).not.toContain(claimed);
      expect(errors).toEqual([]);
    } finally {
      await forger.stop();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("quickStart starts on a free port with LAN discovery on", async () => {
    const found: PeerCandidate[] = [];
    const a = track(await Playground.quickStart("quick-app", { host: "127.0.0.1", discovery: lan }, { openPort: false }));
    a.events.on("peer:discovered", (c) => found.push(c));
    const b = track(await Playground.quickStart("quick-app", { host: "127.0.0.1", discovery: lan }, { openPort: false }));
    expect(a.port).not.toBe(b.port);
    await expect.poll(() => ids(b), { timeout: 5_000 }).toEqual([a.peerId]);
    expect(a.running && b.running).toBe(true);
  });

  it("checks the discovery option like the others", () => {
    for (const discovery of [{ lan: "yes" }, { lan: { interface: "eth0" } }, { lam: true }, { lan: { mdnsPort: 0 } }]) {
      let caught: unknown;
      try {
        new Playground("x", { discovery: discovery as PlaygroundOptions["discovery"] });
      } catch (e) {
        caught = e;
      }
      expect(isXppgError(caught, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    }
  });
});
