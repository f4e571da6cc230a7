// A routed connection's inbox while its reader is paused (a page's record opening behind, a handshake's
// step): what a sender that goes on sending can make this node hold is bounded (`limits.routedInboxBytes`).
import { describe, expect, it, vi } from "vitest";
import type { Playground, PlaygroundOptions } from "../src/index.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

/** Every routed connection made, with the most bytes its inbox held after a packet came: the real connection, watched. */
const made = vi.hoisted(() => [] as { conn: { heldBytes: number; isClosed: boolean; pause(): void; resume(): void; closed: Promise<{ error?: { code?: string } }> }; local: string; remote: string; peak: number }[]);
vi.mock("../src/routed-connection.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/routed-connection.js")>();
  class WatchedRoutedConnection extends real.RoutedConnection {
    readonly #seen: (typeof made)[number];
    constructor(options: ConstructorParameters<typeof real.RoutedConnection>[0]) {
      super(options);
      this.#seen = { conn: this, local: options.localPeerId, remote: options.remotePeerId, peak: 0 };
      made.push(this.#seen);
    }
    override deliver(body: Uint8Array): void {
      super.deliver(body);
      this.#seen.peak = Math.max(this.#seen.peak, this.heldBytes);
    }
  }
  return { ...real, RoutedConnection: WatchedRoutedConnection };
});

const FIXED: PlaygroundOptions = { connections: { lowWater: 0 } };
const BOUND = 1 << 20;

/** A - B - C on TCP on loopback, C holding at most `BOUND` for a paused routed connection; each has heard of the others. */
async function line(): Promise<[Playground, Playground, Playground]> {
  const a = await tcpNode(FIXED);
  const b = await tcpNode(FIXED);
  const c = await tcpNode({ ...FIXED, limits: { routedInboxBytes: BOUND } });
  await b.join(`tcp://127.0.0.1:${a.port}`);
  await c.join(`tcp://127.0.0.1:${b.port}`);
  await until(() => a.meshPeers.some((m) => m.peerId === c.peerId) && c.meshPeers.some((m) => m.peerId === a.peerId), 10_000, "A and C hear of each other");
  return [a, b, c];
}

describe("a routed connection whose reader is paused", { timeout: 30_000 }, () => {
  it("holds at most limits.routedInboxBytes: past it the channel is closed (XPPG_ERR_RATE_LIMITED, counted), the sender's next send opens another, and every link carries on", async () => {
    const [a, b, c] = await line();
    const atC = collect<{ n: number }>(c, "note");
    const errors: { code: string; message: string; peer: string | undefined }[] = [];
    c.events.on("error", (e, peer) => void errors.push({ code: e.code, message: e.message, peer }));
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const watched = made.find((m) => m.local === c.peerId)!;
    expect(watched).toBeDefined();
    // C's end stops reading, as a page's does while its record opening is behind; A goes on sending, 3.2 MiB in all.
    watched.conn.pause();
    const closed = watched.conn.closed;
    const blob = "x".repeat(16 * 1024);
    const sends = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => a.send("note", { n: i + 1, blob }, { to: c.peerId })));
    await until(() => c.stats.overfullRoutedChannels === 1 || watched.peak > 4 * BOUND, 10_000, "C's paused inbox passes its bound");
    expect(watched.peak).toBeLessThanOrEqual(BOUND);
    expect(c.stats.overfullRoutedChannels).toBe(1);
    await expect(closed).resolves.toMatchObject({ error: { code: "XPPG_ERR_RATE_LIMITED", message: expect.stringContaining("limits.routedInboxBytes") as unknown } });
    // C's application is told, once, naming the peer and what to do.
    expect(errors.filter((e) => e.code === "XPPG_ERR_RATE_LIMITED")).toEqual([{ code: "XPPG_ERR_RATE_LIMITED", message: expect.stringMatching(/Raise limits\.routedInboxBytes/) as unknown, peer: a.peerId }]);
    // What A saw: sends handed over before the reset came resolved; any after it failed with a typed code.
    for (const s of sends) if (s.status === "rejected") expect(s.reason).toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) as unknown });
    // The reset reaches A: its next send opens a new channel, and C reads it.
    const before = atC.length;
    // (Sent again until it arrives: one sent before the reset reaches A goes on the closed channel, and is lost.)
    await vi.waitFor(
      async () => {
        await a.send("note", { n: -1 }, { to: c.peerId }).catch(() => {});
        if (!atC.slice(before).some((m) => m.payload.n === -1)) throw new Error("no note over a new channel at C yet");
      },
      { timeout: 10_000, interval: 50 },
    );
    // The node and its links carried on: B and C still neighbours, and a direct message goes through.
    expect(c.peers.map((p) => p.peerId)).toContain(b.peerId);
    expect(a.peers.map((p) => p.peerId)).toContain(b.peerId);
    const atB = collect<{ hi: boolean }>(b, "hi");
    await c.send("hi", { hi: true }, b.peerId);
    await until(() => atB.length === 1, 10_000, "C's direct message at B");
  });

  it("under the bound, a paused channel loses nothing: once its reading resumes, every message arrives in order and nothing is counted", async () => {
    const [a, , c] = await line();
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const watched = made.find((m) => m.local === c.peerId)!;
    watched.conn.pause();
    // 20 notes of 4 KiB: about 80 KiB, under the bound of 1 MiB.
    const blob = "x".repeat(4 * 1024);
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.send("note", { n: i + 1, blob }, { to: c.peerId })));
    await until(() => watched.conn.heldBytes >= 20 * 4 * 1024, 10_000, "the notes held at C");
    expect(atC).toHaveLength(1);
    watched.conn.resume();
    await until(() => atC.length === 21, 10_000, "every note at C");
    expect(atC.map((m) => m.payload.n)).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(c.stats.overfullRoutedChannels).toBe(0);
    expect(watched.peak).toBeLessThanOrEqual(BOUND);
  });

  it("holds at most limits.routedInboxTotalBytes for all its paused channels: past it the channel holding the most is closed (counted, reported), and the others carry on", async () => {
    const TOTAL = 2 << 20;
    const b = await tcpNode(FIXED);
    const c = await tcpNode({ ...FIXED, limits: { routedInboxTotalBytes: TOTAL } });
    const senders = [await tcpNode(FIXED), await tcpNode(FIXED), await tcpNode(FIXED)];
    await c.join(`tcp://127.0.0.1:${b.port}`);
    for (const s of senders) await s.join(`tcp://127.0.0.1:${b.port}`);
    await until(() => senders.every((s) => s.meshPeers.some((m) => m.peerId === c.peerId) && c.meshPeers.some((m) => m.peerId === s.peerId)), 10_000, "the senders and C hear of each other");
    const atC = collect<{ n: number }>(c, "note");
    const errors: { code: string; peer: string | undefined }[] = [];
    c.events.on("error", (e, peer) => void errors.push({ code: e.code, peer }));
    // A channel from each sender, then all three paused at C.
    for (const s of senders) await s.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 3, 10_000, "a first note from each sender at C");
    const ends = senders.map((s) => made.find((m) => m.local === c.peerId && m.remote === s.peerId)!);
    for (const end of ends) end.conn.pause();
    const closed = ends.map((end) => end.conn.closed);
    const blob = "x".repeat(16 * 1024);
    const burst = (from: Playground, count: number): Promise<unknown> => Promise.all(Array.from({ length: count }, (_, i) => from.send("note", { n: i + 1, blob }, { to: c.peerId })));
    // 1 MiB, then 512 KiB, each held (under the per-channel bound of 4 MiB), then 640 KiB: 2.1 MiB in all, past the node's 2 MiB.
    await burst(senders[0]!, 64);
    await until(() => ends[0]!.conn.heldBytes >= 64 * 16 * 1024, 10_000, "the first burst held at C");
    await burst(senders[1]!, 32);
    await until(() => ends[1]!.conn.heldBytes >= 32 * 16 * 1024, 10_000, "the second burst held at C");
    await burst(senders[2]!, 40);
    await until(() => c.stats.overfullRoutedChannels === 1 || ends[2]!.conn.heldBytes >= 40 * 16 * 1024, 10_000, "the third burst at C");
    expect(c.stats.overfullRoutedChannels).toBe(1);
    // The one holding the most, the first, was closed, and reported naming its peer.
    await expect(closed[0]).resolves.toMatchObject({ error: { code: "XPPG_ERR_RATE_LIMITED", message: expect.stringContaining("limits.routedInboxTotalBytes") as unknown } });
    expect(errors).toEqual([{ code: "XPPG_ERR_RATE_LIMITED", peer: senders[0]!.peerId }]);
    expect(ends[1]!.conn.isClosed || ends[2]!.conn.isClosed).toBe(false);
    // The others carry on: read again, everything they sent arrives.
    const before = atC.length;
    ends[1]!.conn.resume();
    ends[2]!.conn.resume();
    await until(() => atC.length === before + 72, 10_000, "the other two bursts at C");
    expect(atC.slice(before).filter((m) => m.src === senders[1]!.peerId)).toHaveLength(32);
    expect(atC.slice(before).filter((m) => m.src === senders[2]!.peerId)).toHaveLength(40);
    expect(c.stats.overfullRoutedChannels).toBe(1);
  });
});
