import { describe, expect, it, vi } from "vitest";
import { generateIdentity } from "@xppg/secure";
import type { Playground, PlaygroundOptions } from "../src/index.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { ROUTED_HOLD_MS, routedHold } from "../src/forward-holds.js";
import { chain, FIXED, heard, HostileForwarder, routeHeader } from "./routed-helpers.js";
import { PACKET } from "../src/route-wire.js";
import { errorsOf, tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

describe("routed unicast over TCP on loopback", { timeout: 30_000 }, () => {
  it("in a chain A-B-C-D-E-F, A's send and request reach F (5 hops) and F's reply comes back; the middle nodes count what they pass on", async () => {
    const nodes = await chain(6);
    const [a, f] = [nodes[0]!, nodes[5]!];
    await heard(a, f);
    await heard(f, a);
    expect(a.peers.map((p) => p.peerId)).not.toContain(f.peerId);
    expect(a.meshPeers.find((m) => m.peerId === f.peerId)?.hops).toBe(5);
    const atF = collect<{ n: number }>(f, "note");
    await a.send("note", { n: 1 }, { to: f.peerId });
    await a.send("note", { n: 2 }, f.peerId);
    await until(() => atF.length === 2, 10_000, "both notes at F");
    expect(atF).toEqual([
      { src: a.peerId, payload: { n: 1 } },
      { src: a.peerId, payload: { n: 2 } },
    ]);
    f.handle<{ x: number }, { y: number }>("double", (src, payload) => ({ y: payload.x * 2 + (src === a.peerId ? 0 : 1000) }));
    await expect(a.request("double", { x: 21 }, { to: f.peerId })).resolves.toEqual({ y: 42 });
    // And the other way, over the channel A opened.
    a.handle("whoami", (src) => src);
    await expect(f.request("whoami", null, { to: a.peerId })).resolves.toBe(f.peerId);
    for (const middle of nodes.slice(1, 5)) expect(middle.stats.forwardedUnicasts).toBeGreaterThan(0);
  });

  it("a send to a peer id no node has a route to fails at once with XPPG_ERR_UNREACHABLE; a malformed id is still XPPG_ERR_UNKNOWN_PEER", async () => {
    const nodes = await chain(2);
    const stranger = generateIdentity().peerId;
    await expect(nodes[0]!.send("note", {}, { to: stranger })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await expect(nodes[0]!.request("note", {}, { to: stranger })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await expect(nodes[0]!.send("note", {}, { to: "nobody" })).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
  });
});

describe("a path that breaks under an open channel", { timeout: 30_000 }, () => {
  it("once A has no route left to C, A's sends on the open channel reject with XPPG_ERR_UNREACHABLE (one message may be lost), not resolve while lost; a route that comes back opens a new channel", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    // B goes: A's only link toward C closes (and C's), and with it A's route to C.
    await b.stop();
    await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
    const outcomes: string[] = [];
    for (let n = 1; n <= 5 && !outcomes.includes("XPPG_ERR_UNREACHABLE"); n++) {
      outcomes.push(await a.send("note", { n }, { to: c.peerId }).then(() => "resolved", (error: { code?: string }) => String(error.code)));
    }
    // The record that found no way on is lost (its send may have resolved); the channel closes with the code, so the next send rejects.
    expect(outcomes.at(-1)).toBe("XPPG_ERR_UNREACHABLE");
    expect(outcomes.filter((o) => o === "resolved").length).toBeLessThanOrEqual(1);
    await expect(a.send("note", { n: 9 }, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await expect(a.request("echo", {}, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    // A new path A - E - C (C, alone again, announces itself when it joins): the next send opens a new channel and arrives.
    const e = await tcpNode(FIXED);
    await e.join(`tcp://127.0.0.1:${a.port}`);
    await c.join(`tcp://127.0.0.1:${e.port}`);
    await retrySend(a, c, atC, 10);
    expect(atC.map((x) => x.payload.n).filter((n) => n >= 1 && n <= 9)).toEqual([]);
  });
});

/**
 * A - B - M - D - E with M a hostile forwarder that changes a byte of every record A sends E after a channel's
 * handshake (A's third packet on it): E fails to open it, and resets the channel. A's own bound on error events is
 * off, so it reports each channel E resets and a test knows when each one broke; `limitsAtE` are E's limits.
 */
async function breakingForwarder(limitsAtE: { routedErrorsPerMinute?: number }) {
  const a = await tcpNode({ ...FIXED, limits: { routedErrorsPerMinute: Infinity } });
  const b = await tcpNode(FIXED);
  await b.join(`tcp://127.0.0.1:${a.port}`);
  const d = await tcpNode(FIXED);
  const e = await tcpNode({ ...FIXED, limits: limitsAtE });
  await e.join(`tcp://127.0.0.1:${d.port}`);
  const m = await HostileForwarder.between(b, d);
  await heard(a, e);
  await heard(e, a);
  const atA: string[] = [];
  const atE: string[] = [];
  a.events.on("error", (error, peerId) => void atA.push(`${error.code} ${peerId === e.peerId}`));
  e.events.on("error", (error, peerId) => void atE.push(`${error.code} ${peerId === a.peerId}`));
  const fromA = new Map<number, number>();
  m.tamper = (packet) => {
    const p = routeHeader(packet);
    if (p.origin !== a.peerId || p.destination !== e.peerId || p.fromResponder) return packet;
    const n = (fromA.get(p.channel) ?? 0) + 1;
    fromA.set(p.channel, n);
    if (n < 3) return packet;
    const out = packet.slice();
    out[out.length - 1]! ^= 1;
    return out;
  };
  return { a, d, e, m, atA, atE, fromA };
}

/** A sends E `count` notes, each on a new channel once the one before has broken (A's error event for it). */
async function breakChannels(a: Playground, e: Playground, atA: string[], count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await a.send("note", { n: i }, { to: e.peerId }).catch(() => {});
    await until(() => atA.length >= i, 10_000, `channel ${i} broken`);
  }
}

describe("a hostile forwarder in the middle of the path", { timeout: 30_000 }, () => {
  /** A - B - M - D - E, with M a hand-driven forwarder joined to B and D. */
  async function withForwarder(dOptions: PlaygroundOptions = {}): Promise<{ a: Playground; b: Playground; d: Playground; e: Playground; m: HostileForwarder }> {
    const [a, b] = await chain(2);
    const d = await tcpNode({ ...FIXED, ...dOptions });
    const e = await tcpNode(FIXED);
    await e.join(`tcp://127.0.0.1:${d.port}`);
    const m = await HostileForwarder.between(b!, d);
    await heard(a!, e);
    await heard(e, a!);
    return { a: a!, b: b!, d: d, e: e, m };
  }

  it("sees only ciphertext: the plaintext of a routed send and of a request is in no packet it carries", async () => {
    const { a, e, m } = await withForwarder();
    const atE = collect<{ secret: string }>(e, "note");
    const secret = "the launch code is 0000-xyzzy";
    await a.send("note", { secret }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the note at E");
    e.handle("echo", (_src, p) => p);
    await expect(a.request("echo", { secret }, { to: e.peerId })).resolves.toEqual({ secret });
    expect(m.packets.length).toBeGreaterThan(3);
    const needle = new TextEncoder().encode("xyzzy");
    for (const packet of m.packets) expect(contains(packet, needle)).toBe(false);
    // The header the forwarder reads names the two ends, and no more.
    expect(m.packets.some((p) => routeHeader(p).destination === e.peerId && routeHeader(p).origin === a.peerId)).toBe(true);
  });

  it("cannot forge: a byte it changes makes the receiver drop the message and the channel; the next send opens a new channel and arrives", async () => {
    const { a, e, m } = await withForwarder();
    const atE = collect<{ n: number }>(e, "note");
    await a.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note");
    m.tamper = (packet) => {
      packet[packet.length - 20]! ^= 0x01;
      m.tamper = undefined;
      return packet;
    };
    await a.send("note", { n: 2 }, { to: e.peerId });
    await until(() => m.tamper === undefined, 5000, "the forwarder changed a packet");
    // A's channel learns of the reset and the next send opens a fresh one.
    await retrySend(a, e, atE, 3);
    expect(atE.map((x) => x.payload.n)).not.toContain(2);
  });

  it("cannot replay: a packet it sends twice is delivered once", async () => {
    const { a, e, m } = await withForwarder();
    const atE = collect<{ n: number }>(e, "note");
    await a.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note");
    m.tamper = (packet) => {
      m.tamper = undefined;
      m.inject(packet.slice(), "toD");
      return packet;
    };
    await a.send("note", { n: 2 }, { to: e.peerId });
    await until(() => m.tamper === undefined && atE.length >= 2, 10_000, "the second note");
    // The copy broke the channel (Noise counts records): a later note goes over a new one, after the copy.
    await retrySend(a, e, atE, 3);
    expect(atE.filter((x) => x.payload.n === 2)).toHaveLength(1);
  });

  it("a path that breaks channel after channel makes at most limits.routedErrorsPerMinute error events naming one node (10 by default; Infinity, no bound), and the nodes carry on", async () => {
    const { a, d, e, m, atA, atE, fromA } = await breakingForwarder({});
    const FLOOD = 25;
    await breakChannels(a, e, atA, FLOOD);
    expect(fromA.size).toBe(FLOOD);
    expect(atA).toHaveLength(FLOOD);
    expect(atE).toEqual(Array.from({ length: 10 }, () => "XPPG_ERR_DECRYPT_FAILED true"));
    // Untouched again: A's next note reaches E over a new channel, E's neighbour D is still there and heard, and no event came of it.
    m.tamper = undefined;
    const notes = collect<{ n: number }>(e, "note");
    await retrySend(a, e, notes, 100);
    const atD = collect<{ n: number }>(d, "note");
    await e.send("note", { n: 1 }, { to: d.peerId });
    await until(() => atD.length === 1, 10_000, "E's note at D");
    expect(e.peers.map((p) => p.peerId)).toEqual([d.peerId]);
    expect(atE).toHaveLength(10);
  });

  it("limits.routedErrorsPerMinute under one (0.5: one event every 2 min) still lets the first event through", async () => {
    const { a, e, atA, atE } = await breakingForwarder({ routedErrorsPerMinute: 0.5 });
    await breakChannels(a, e, atA, 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(atE).toEqual(["XPPG_ERR_DECRYPT_FAILED true"]);
  });

  it("cannot make a node report losses it made up: channels opened and reset in the names of invented origins make no error event", async () => {
    const { a, d, e, m } = await withForwarder();
    const atE = collect<{ n: number }>(e, "note");
    await a.send("note", { n: 1 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note");
    // A genuine first handshake message, as an OPEN carries it: any origin can be written in front of it.
    const open = m.packets.map(routeHeader).find((p) => p.type === PACKET.OPEN)!;
    const errors = errorsOf(d);
    const dropped = d.stats.droppedUnicasts;
    for (let i = 0; i < 20; i++) {
      const origin = generateIdentity().peerId;
      await m.sendRouted("toD", { origin, destination: d.peerId, hopLimit: 32, type: PACKET.OPEN, body: open.body });
      await m.sendRouted("toD", { origin, destination: d.peerId, hopLimit: 32, type: PACKET.RESET });
    }
    // A packet to nobody after them on the same link: once D has dropped it, it has read them all.
    await m.sendRouted("toD", { origin: m.peerId, destination: generateIdentity().peerId, hopLimit: 32 });
    await until(() => d.stats.droppedUnicasts > dropped, 5000, "D read the forged packets");
    expect(errors).toEqual([]);
  });

  it("a forwarder that drops every routed packet makes send and request fail with XPPG_ERR_UNREACHABLE within the channel's open timeout", async () => {
    const { a, e, m } = await withForwarder();
    m.tamper = () => null;
    // UNREACHABLE, not the request's own TIMEOUT: the channel's open timeout (5 s) ends it first.
    await expect(a.request("echo", {}, { to: e.peerId, timeoutMs: 20_000 })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await expect(a.send("note", {}, { to: e.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
  });

  it("packets to unknown ids, in loops, past the hop limit or over a neighbour's rate are dropped and counted; the node and the path carry on", async () => {
    // D passes on at most 100 routed packets a second from each neighbour (200 at once).
    const { a, d, e, m } = await withForwarder({ limits: { routedPerSecond: 100 } });
    const errors = errorsOf(d);
    const t0 = performance.now();
    const before = d.stats.droppedUnicasts;
    // To nobody D knows of: dropped (and reset back).
    await m.sendRouted("toD", { origin: m.peerId, destination: generateIdentity().peerId, hopLimit: 32 });
    // For A, through D: D's route to A is back through M, a loop.
    await m.sendRouted("toD", { origin: m.peerId, destination: a.peerId, hopLimit: 32 });
    // Its hop limit spent.
    await m.sendRouted("toD", { origin: m.peerId, destination: e.peerId, hopLimit: 0 });
    await until(() => d.stats.droppedUnicasts >= before + 3, 5000, "three drops at D");
    // A burst past D's forwarding rate: what passes is bounded by the rate, the rest is counted.
    const burst = 1000;
    const dropsBefore = d.stats.droppedUnicasts;
    await m.sendRouted("toD", { origin: m.peerId, destination: e.peerId, hopLimit: 32, count: burst });
    await until(() => d.stats.forwardedUnicasts + d.stats.droppedUnicasts - dropsBefore >= burst, 10_000, "D handles the whole burst");
    const seconds = (performance.now() - t0) / 1000;
    expect(d.stats.forwardedUnicasts).toBeLessThanOrEqual(200 + Math.ceil(100 * seconds));
    expect(d.stats.droppedUnicasts - dropsBefore).toBeGreaterThanOrEqual(burst - 200 - Math.ceil(100 * seconds));
    expect(errors).toEqual([]);
    // The honest path still works (through M, once D's bucket for M has refilled: a message lost meanwhile is sent again).
    const atE = collect<{ n: number }>(e, "note");
    await retrySend(a, e, atE, 1);
  });
});

describe("the way back", { timeout: 30_000 }, () => {
  it("the end a channel is opened to answers through the neighbour the open came from while it has no route back yet", async () => {
    // A - B - M - D, where M does not pass A's broadcasts on: D never hears of A, A hears of D.
    const [a, b] = await chain(2);
    const d = await tcpNode(FIXED);
    await HostileForwarder.between(b!, d, a!.peerId);
    await heard(a!, d);
    await heard(d, b!);
    expect(d.meshPeers.map((m) => m.peerId)).not.toContain(a!.peerId);
    d.handle("echo", (_src, p) => p);
    await expect(a!.request("echo", { x: 1 }, { to: d.peerId })).resolves.toEqual({ x: 1 });
    // D asks A back over the same channel (A has no "echo" handler: its answer says so).
    await expect(d.request("echo", null, { to: a!.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_NO_HANDLER" });
  });
});

describe("the hop limit", { timeout: 30_000 }, () => {
  it("a forwarder lowers it by one, counts one past 32 as 32, and drops a packet that arrives with none left", async () => {
    // x - M1 - B - M2 - y: B forwards what M1 hands it, and M2 shows what B passed on.
    const [x, b, y] = [await tcpNode(FIXED), await tcpNode(FIXED), await tcpNode(FIXED)];
    const m1 = await HostileForwarder.between(x, b);
    const m2 = await HostileForwarder.between(b, y);
    await heard(b, y);
    const sent = (hopLimit: number): Promise<void> => m1.sendRouted("toD", { origin: m1.peerId, destination: y.peerId, hopLimit });
    const passed = (): number[] => m2.packets.filter((p) => routeHeader(p).origin === m1.peerId).map((p) => routeHeader(p).hopLimit);
    await sent(255);
    await until(() => passed().length === 1, 5000, "B passes the first packet on");
    await sent(5);
    await until(() => passed().length === 2, 5000, "B passes the second packet on");
    const dropped = b.stats.droppedUnicasts;
    await sent(0);
    await until(() => b.stats.droppedUnicasts === dropped + 1, 5000, "B drops the packet with no hops left");
    expect(passed()).toEqual([31, 4]);
    expect(b.stats.forwardedUnicasts).toBe(2);
  });
});

/** Sends note `n` until it arrives (a broken channel is reset and the next send opens a new one). */
async function retrySend(a: Playground, e: Playground, atE: { payload: { n: number } }[], n: number): Promise<void> {
  await vi.waitFor(
    async () => {
      await a.send("note", { n }, { to: e.peerId }).catch(() => {});
      if (!atE.some((x) => x.payload.n === n)) throw new Error(`note ${n} has not arrived`);
    },
    { timeout: 15_000, interval: 100 },
  );
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("back-pressure along the path", { timeout: 60_000 }, () => {
  it("a forwarder whose next hop reads slower than packets come holds the link they come on, instead of queueing until it drops the next hop as slow; every message arrives", async () => {
    // Both per-peer rate limits off (the test floods on purpose); B may queue at most 4 MiB for a neighbour.
    const open = { ...FIXED, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };
    const a = await tcpNode(open);
    // M answers no ping while it does not read: B's silence timeout must outlast the pause (filling the sockets
    // between B and M takes seconds on a loaded machine), or B drops M for that and not for what is under test.
    const b = await tcpNode({ ...open, heartbeat: { timeoutMs: 120_000 }, limits: { ...open.limits, maxQueuedBytesPerPeer: 4 * 1024 * 1024 } });
    const d = await tcpNode(open);
    await a.join(`tcp://127.0.0.1:${b.port}`);
    // A - B - M - D, M a hand-driven forwarder that stops reading B for a while.
    const m = await HostileForwarder.between(b, d);
    await heard(a, d);
    await heard(d, a);
    const left: string[] = [];
    b.events.on("peer:left", (peer) => left.push(peer.peerId));
    const errorsAtB = errorsOf(b);
    let arrived = 0;
    d.on("bulk", () => {
      arrived++;
    });
    // The end-to-end channel opens first (its handshake crosses M).
    const payload = new Uint8Array(64 * 1024).fill(7);
    await a.send("bulk", payload, { to: d.peerId });
    await vi.waitFor(() => expect(arrived).toBe(1), { timeout: 10_000, interval: 20 });
    // A hold lasts 500 ms at most, then B drops what goes to a next hop still congested (the next test): M's pause
    // and its catching up (4 MiB, through this one process) can outlast that on a loaded machine, and what this
    // test proves is the hold, so it gets a bound no run reaches.
    routedHold.ms = 20_000;
    try {
      m.pauseReading("toB", true);
      // 25 MiB more, far past what B may queue for M and what the sockets between them hold.
      const count = 401;
      const sending = (async () => {
        for (let i = 1; i < count; i++) await a.send("bulk", payload, { to: d.peerId });
      })();
      await vi.waitFor(() => expect(b.stats.heldUnicasts).toBeGreaterThan(0), { timeout: 20_000, interval: 20 });
      m.pauseReading("toB", false);
      await sending;
      // Every message arrives, or B dropped some (then the failure says so, not only that the count is short).
      await vi.waitFor(() => expect(arrived === count || b.stats.droppedUnicasts > 0).toBe(true), { timeout: 30_000, interval: 50 });
      expect(b.stats.droppedUnicasts).toBe(0);
      expect(arrived).toBe(count);
    } finally {
      routedHold.ms = ROUTED_HOLD_MS;
    }
    expect(left).toEqual([]);
    expect(b.peers.map((p) => p.peerId)).toContain(m.peerId);
    expect(errorsAtB.map((e) => e.code)).not.toContain("XPPG_ERR_SLOW_PEER");
  });

  it("a next hop that never catches up does not hold the link before it for good: after a bounded hold the forwarder drops packets for it, and reads the link on (its direct messages arrive)", async () => {
    const open = { ...FIXED, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };
    const a = await tcpNode(open);
    // B drops M neither for silence nor for a stalled write: M stands for a next hop that reads a trickle.
    const b = await tcpNode({ ...open, heartbeat: { timeoutMs: 120_000 }, limits: { ...open.limits, maxQueuedBytesPerPeer: 64 * 1024 * 1024, writeStallTimeoutMs: 120_000 } });
    const d = await tcpNode(open);
    await a.join(`tcp://127.0.0.1:${b.port}`);
    const m = await HostileForwarder.between(b, d);
    await heard(a, d);
    const atB = collect<{ n: number }>(b, "direct");
    const payload = new Uint8Array(64 * 1024).fill(7);
    await a.send("bulk", payload, { to: d.peerId });
    m.pauseReading("toB", true);
    // 50 MiB, far past what B may queue for M and what the sockets on the way hold (the old hold stalled A near 25 MiB).
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 800; i++) await a.send("bulk", payload, { to: d.peerId }).then(() => void sent++);
    })();
    sending.catch(() => {});
    await vi.waitFor(() => expect(b.stats.heldUnicasts).toBeGreaterThan(0), { timeout: 20_000, interval: 20 });
    // M still reads nothing: B holds A's link no longer than a hold lasts, then drops what goes to M, so A's sends all go out.
    await vi.waitFor(() => expect(sent).toBe(800), { timeout: 30_000, interval: 50 });
    expect(b.stats.droppedUnicasts).toBeGreaterThan(0);
    // And A's link carries its other traffic: a message to B itself arrives.
    await a.send("direct", { n: 1 }, { to: b.peerId });
    await vi.waitFor(() => expect(atB).toEqual([{ src: a.peerId, payload: { n: 1 } }]), { timeout: 10_000, interval: 20 });
    expect(b.peers.map((p) => p.peerId)).toEqual(expect.arrayContaining([a.peerId, m.peerId]));
    m.pauseReading("toB", false);
  });
});
