// Reachability through the facade on loopback TCP: each node on its own
// 127.0.0.x address, so the hosts a node sees differ as they would on a network.
import { describe, expect, it } from "vitest";
import { tcpTransport } from "@xppg/transport-tcp";
import { webSocketTransport } from "@xppg/transport-ws";
import { PROTOCOL_VERSION, Playground, type PlaygroundOptions } from "../src/index.js";
import { nextEvent, RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

async function tcpNode(host: string, options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground("test-app", { listen: [`tcp://${host}:0`], ...options }));
  await pg.start();
  return pg;
}

/** A raw peer on TCP that completes the handshake offering `reach/1`. */
async function rawReachPeer(target: Playground): Promise<RawPeer> {
  const raw = await RawPeer.dial(tcpTransport(), target.addresses[0]!);
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["reach/1"], peerId: raw.peerId, listen: [], agent: "raw" });
  await raw.send("xppg/welcome", null);
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "raw peer admitted");
  return raw;
}

describe("reachability in the facade", () => {
  it("each side tells the other where the link comes from; one observer's word is no verdict; the path is direct", async () => {
    const b = await tcpNode("127.0.0.2");
    const a = await tcpNode("127.0.0.1");
    await a.join(b.addresses[0]!);
    await until(() => a.reachability.observed.length === 1, 5000, "a hears what b observes");
    expect(a.reachability.observed[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(a.reachability.kind).toBe("unknown");
    expect(a.peers.map((p) => p.path)).toEqual(["direct"]);
    expect(a.peers[0]!.capabilities).toContain("reach/1");
  });

  it("dial-backs by two nodes not connected to it make a node public, with an event; its advertised addresses start with the public one", async () => {
    const r = await tcpNode("127.0.0.2");
    const c = await tcpNode("127.0.0.3");
    const d = await tcpNode("127.0.0.4");
    await r.join(c.addresses[0]!);
    await r.join(d.addresses[0]!);
    const a = await tcpNode("127.0.0.1", { port: 0 });
    const changed = nextEvent(a, "reachability:changed");
    await a.join(r.addresses[0]!);
    const [status, previous] = await changed;
    expect(previous).toBe("unknown");
    expect(status).toMatchObject({ kind: "public", dialbacksOk: 2, dialbacksFailed: 0 });
    expect(a.reachability.kind).toBe("public");
  });

  it("a forged dial-back success counts for nothing: only the node's own listener is a witness", async () => {
    const a = await tcpNode("127.0.0.1");
    for (let i = 0; i < 3; i++) {
      const liar = await rawReachPeer(a);
      await until(() => liar.received.some((m) => m.kind === "xppg/reach-dialback"), 5000, "a asks the liar for a dial-back");
      // The liar claims a helper reached a: none did. Its observation, sent after on the same link, shows a read the claim.
      await liar.send("xppg/reach-dialback-result", { ok: true, via: `127.0.0.${20 + i}` });
      await liar.send("xppg/reach-observed", { addr: `198.51.100.${i}:1` });
      await until(() => a.reachability.observed.includes(`198.51.100.${i}:1`), 5000, "the liar's messages were read");
    }
    expect(a.reachability).toMatchObject({ kind: "unknown", dialbacksOk: 0 });
  });

  it("forged observed addresses: alone they decide nothing, a second one from a peer or a malformed one drops it", async () => {
    const a = await tcpNode("127.0.0.1");
    const liar = await rawReachPeer(a);
    await liar.send("xppg/reach-observed", { addr: "203.0.113.7:4000" });
    await until(() => a.reachability.observed.includes("203.0.113.7:4000"), 5000, "the observation is recorded");
    expect(a.reachability.kind).toBe("unknown");
    expect(a.reachability.advertised.some((x) => x.includes("203.0.113.7"))).toBe(false);
    const left = nextEvent(a, "peer:left");
    await liar.send("xppg/reach-observed", { addr: "203.0.113.8:4000" });
    const [, reason] = await left;
    expect(reason?.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    const bad = await rawReachPeer(a);
    const left2 = nextEvent(a, "peer:left");
    await bad.send("xppg/reach-observed", { addr: "not-an-address" });
    expect((await left2)[1]?.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
  });

  it("a dial-back is only ever to the asker's own IP, through a helper on another host, and bounded per asker", async () => {
    const r = await tcpNode("127.0.0.2");
    const c = await tcpNode("127.0.0.3");
    await r.join(c.addresses[0]!);
    const asker = await rawReachPeer(r);
    const results = (): unknown[] => asker.received.filter((m) => m.kind === "xppg/reach-dialback-result").map((m) => m.payload);
    // Nothing listens on port 1: the helper's dial fails, and the answer names the helper's host.
    await asker.send("xppg/reach-dialback", { port: 1 });
    await until(() => results().length === 1, 5000, "an answer");
    expect(results()[0]).toEqual({ ok: false, via: "127.0.0.3" });
    for (let i = 0; i < 5; i++) await asker.send("xppg/reach-dialback", { port: 1 });
    await until(() => results().length === 6, 8000, "every ask answered");
    // Four a minute per asker: the rest get "no helper", and no dial is made for them.
    expect(results().filter((p) => (p as { via: string }).via === "")).toHaveLength(2);
  });
});

describe("relays without hand wiring", () => {
  it("the reach options are checked, with the right call in the message", () => {
    const bad = (reach: unknown): unknown => expect(() => new Playground("test-app", { reach } as never)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    bad({ serveRelay: "yes" });
    bad({ serveRelays: true });
    bad({ maxRelays: 9 });
    bad({ minConfirmations: 0 });
    bad({ punchTimeoutMs: -1 });
    bad("on");
    expect(() => new Playground("test-app", { reach: { serveRelays: true } } as never)).toThrow(/did you mean "serveRelay"/);
  });

  it('serveRelay "when-public" starts the relay once two dial-backs confirm the node is public, and a peer then reserves on it', async () => {
    const x = await tcpNode("127.0.0.5");
    const c = await tcpNode("127.0.0.3");
    const d = await tcpNode("127.0.0.4");
    await x.join(c.addresses[0]!);
    await x.join(d.addresses[0]!);
    // On every loopback address: its connections leave from 127.0.0.1, which is what x's helpers dial back.
    const r = await tcpNode("0.0.0.0", { reach: { serveRelay: "when-public" } });
    expect(r.reachability.relay).toBeUndefined();
    await r.join(x.addresses[0]!);
    await until(() => r.reachability.kind === "public" && r.reachability.relay !== undefined, 8000, "r is public and serves a relay");
    const a = await tcpNode("127.0.0.1");
    await a.join(`tcp://127.0.0.2:${r.port!}`);
    await until(() => a.addresses.some((addr) => addr.startsWith("relay://127.0.0.2:")), 5000, "a reserves on r's relay");
    expect(r.reachability.relay!.reservations).toBeGreaterThanOrEqual(1);
  });

  it("a node not known to be reachable reserves on a connected peer's relay and advertises it; a peer joins through it, the path shows relayed, and messages flow", async () => {
    const r = await tcpNode("127.0.0.2", { reach: { serveRelay: true } });
    const a = await tcpNode("127.0.0.1", { reach: { holePunch: false } });
    await a.join(r.addresses[0]!);
    await until(() => a.addresses.some((x) => x.startsWith("relay://127.0.0.2:")), 5000, "a reserves on r's relay");
    const relayed = a.addresses.find((x) => x.startsWith("relay://"))!;
    expect(relayed).toBe(`relay://127.0.0.2:${r.reachability.relay!.reservations > 0 ? relayed.split(":")[2]!.split("/")[0] : "?"}/p/${a.peerId}`);
    expect(a.reachability.advertised).toContain(relayed);
    const b = await tcpNode("127.0.0.3", { reach: { holePunch: false } });
    const got: string[] = [];
    a.on<{ text: string }>("text", (_src, _k, p) => void got.push(p.text));
    await b.join(relayed);
    expect(b.peers.find((p) => p.peerId === a.peerId)?.path).toBe("relayed");
    await until(() => a.peers.some((p) => p.peerId === b.peerId && p.path === "relayed"), 5000, "a sees b relayed");
    for (let i = 0; i < 20; i++) await b.sendText(`m${i}`, a.peerId);
    await until(() => got.length === 20, 5000, "all messages through the relay");
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(r.reachability.relay!.bytesRelayed).toBeGreaterThan(20 * 20);
  });

  it("a node's relayed address reaches a neighbour's neighbour in seconds by peer exchange (pushed when it changes, not at the 30 s cycle), and that peer joins through it", async () => {
    // Without encryption there is no broadcast tree, so no presence carries addresses: only peer exchange does.
    const plain = { dangerouslyDisableEncryption: true } as const;
    const r = await tcpNode("127.0.0.2", { ...plain, reach: { serveRelay: true } });
    // c dials TCP only: a's WebSocket address is of no use to it, its relayed one is (and a dials nobody itself).
    const c = await tcpNode("127.0.0.3", { ...plain, reach: { holePunch: false } });
    await c.join(r.addresses[0]!);
    const a = track(new Playground("test-app", { ...plain, transports: [tcpTransport(), webSocketTransport()], listen: ["ws://127.0.0.1:0"], reach: { holePunch: false }, connections: { lowWater: 0 } }));
    await a.start();
    await a.join(r.addresses[0]!);
    await until(() => a.addresses.some((x) => x.startsWith("relay://127.0.0.2:")), 5000, "a reserves on r's relay");
    // The exchange when the links opened carried a's record without the relayed address; the next cycle is 30 s away.
    await until(() => c.peers.some((p) => p.peerId === a.peerId && p.path === "relayed"), 15_000, "c joins a through the relay");
    expect(a.peers.find((p) => p.peerId === c.peerId)?.path).toBe("relayed");
  }, 30_000);

  it("a relay that stops mid-circuit: the ends notice and join again through the other relay", async () => {
    const r1 = await tcpNode("127.0.0.2", { reach: { serveRelay: true } });
    const r2 = await tcpNode("127.0.0.4", { reach: { serveRelay: true } });
    // a listens on nothing of its own: its relays are its only addresses.
    const a = await tcpNode("127.0.0.1", { listen: [], reach: { holePunch: false } });
    await a.join(r1.addresses[0]!);
    await a.join(r2.addresses[0]!);
    await until(() => a.addresses.filter((x) => x.startsWith("relay://")).length === 2, 5000, "a reserves on both relays");
    const b = await tcpNode("127.0.0.3", { reach: { holePunch: false } });
    await b.join(a.addresses.find((x) => x.startsWith("relay://127.0.0.2:"))!);
    const left = nextEvent(b, "peer:left");
    const joined = nextEvent(b, "peer:joined");
    await r1.stop();
    const [, reason] = await left;
    expect(reason?.code).toBeDefined();
    const [peer] = await joined;
    expect(peer.peerId).toBe(a.peerId);
    expect(peer.address).toMatch(/^relay:\/\/127\.0\.0\.4:\d+\/p\//);
    expect(b.peers.find((p) => p.peerId === a.peerId)?.path).toBe("relayed");
    await until(() => a.addresses.filter((x) => x.startsWith("relay://")).length === 1, 5000, "a dropped the dead relay's address");
    const got: string[] = [];
    a.on<{ text: string }>("text", (_src, _k, p) => void got.push(p.text));
    await b.sendText("after", a.peerId);
    await until(() => got.includes("after"), 5000, "messages flow again");
  });
});
