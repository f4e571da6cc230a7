import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { UPDATE_FORMAT } from "@xppg/state";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { collect, RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

/** A started node on TCP, on loopback only. */
async function tcpNode(options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"], ...options }));
  await pg.start();
  return pg;
}

/** Every error code a node emits. */
function errorsOf(pg: Playground): string[] {
  const codes: string[] = [];
  pg.events.on("error", (e) => {
    codes.push(e.code);
  });
  return codes;
}

/** A hostile peer on a real socket: completes both handshakes, then writes what the test says. */
async function attacker(target: Playground): Promise<RawPeer> {
  const raw = await RawPeer.dial(tcpTransport(), target.addresses[0]!);
  await raw.hello();
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "the attacker joined");
  return raw;
}

function write(raw: RawPeer, key: string, version: number, value: unknown, writer = raw.peerId): Promise<void> {
  return raw.send("xppg/state", { update: { format: UPDATE_FORMAT, seq: 1, entries: [[key, version, writer, value]] } });
}

/** Proves `from` and `to` are still connected: a text goes through. */
async function stillLinked(from: Playground, to: Playground): Promise<void> {
  const texts = collect<{ text: string }>(to, "text");
  await from.sendText("still here", { to: to.peerId });
  await until(() => texts.some((t) => t.src === from.peerId), 5000, `${from.peerId} -> ${to.peerId}`);
}

describe("state sync never turns honest peers against each other (issue 16, item 2)", () => {
  it("two accepted writes forwarded as one jump, and in the join snapshot of 3 new nodes: nobody is dropped", async () => {
    const victim = await tcpNode();
    const honest = await tcpNode();
    await honest.join(victim.addresses[0]!);
    const errorLists = [errorsOf(victim), errorsOf(honest)];
    const raw = await attacker(victim);
    // Each accepted by the victim on its own; forwarded, they are one jump of 2^33.
    await write(raw, "k", 2 ** 32, "first");
    await until(() => victim.state.get("k") === "first", 5000, "first write");
    await write(raw, "k", 2 ** 33, "second");
    await until(() => victim.state.get("k") === "second", 5000, "second write");
    await until(() => honest.state.get("k") === "second", 5000, "the write forwarded to the honest peer");
    await stillLinked(victim, honest);

    const joiners = [await tcpNode(), await tcpNode(), await tcpNode()];
    errorLists.push(...joiners.map((j) => errorsOf(j)));
    for (const j of joiners) await j.join(victim.addresses[0]!);
    await until(() => joiners.every((j) => j.state.get("k") === "second"), 5000, "the snapshot on every new node");
    for (const j of joiners) await stillLinked(j, victim);
    for (const pg of [victim, honest, ...joiners]) expect(pg.bans).toEqual([]);
    expect(victim.peers.map((p) => p.peerId)).toEqual(expect.arrayContaining([honest.peerId, ...joiners.map((j) => j.peerId)]));
    expect(errorLists.flat()).toEqual([]);
  });

  it("writes at the edge of the victim's clock are forwarded and accepted; honest writes after them win everywhere", async () => {
    const victim = await tcpNode();
    const honest = await tcpNode();
    await honest.join(victim.addresses[0]!);
    const errorLists = [errorsOf(victim), errorsOf(honest)];
    const raw = await attacker(victim);
    const edge = (): number => (Date.now() + 300_000) * 1024 + 1023;
    for (let i = 0; i < 50; i++) await write(raw, "k", edge(), `pinned ${String(i).padStart(2, "0")}`);
    // Writes in one millisecond share a version: the greatest value of the same writer wins, the last here.
    await until(() => victim.state.get("k") === "pinned 49", 5000, "the edge writes on the victim");
    await until(() => honest.state.get("k") === "pinned 49", 5000, "the edge writes forwarded");
    expect(honest.state.versionOf("k")).toBe(victim.state.versionOf("k"));
    honest.state.set("k", "honest");
    await until(() => victim.state.get("k") === "honest", 5000, "the honest write on the victim");
    // A version far past the victim's clock, that the attacker says it wrote: refused, and the attacker dropped.
    await write(raw, "k", (Date.now() + 3_600_000) * 1024, "pinned forever");
    const closed = await raw.conn.closed;
    expect(closed.initiator).toBe("remote");
    expect(raw.received.find((m) => m.kind === "xppg/bye")?.payload).toMatchObject({ code: "XPPG_ERR_STATE_VERSION_TOO_FAR_AHEAD" });
    expect(victim.state.get("k")).toBe("honest");
    await stillLinked(honest, victim);
    await until(() => errorLists.flat().length > 0, 5000, "the victim's report");
    expect(errorLists.flat()).toEqual(["XPPG_ERR_STATE_VERSION_TOO_FAR_AHEAD"]);
  });
});

describe("one peer cannot fill the state for everyone (issue 16, item 4)", () => {
  it("20,000 distinct keys and 20,000 deletes of unknown keys from one peer: local writes and an honest peer's keys still land", async () => {
    const victim = await tcpNode();
    const honest = await tcpNode();
    await honest.join(victim.addresses[0]!);
    const raw = await attacker(victim);
    const version = Date.now() * 1024;
    const rows = (prefix: string, value: boolean) =>
      Array.from({ length: 20_000 }, (_, i) => (value ? [`${prefix}-${i}`, version, raw.peerId, 1] : [`${prefix}-${i}`, version, raw.peerId]));
    for (const [prefix, value] of [["spam", true], ["ghost", false]] as const) {
      const all = rows(prefix, value);
      for (let i = 0; i < all.length; i += 500) await raw.send("xppg/state", { update: { format: UPDATE_FORMAT, seq: 1, entries: all.slice(i, i + 500) } });
    }
    await until(() => victim.state.tombstones === victim.state.options.maxTombstones, 10_000, "the deletes arrived");
    expect(victim.state.size).toBe(victim.state.options.maxKeysPerPeer);
    victim.state.set("mine", "local");
    expect(victim.state.get("mine")).toBe("local");
    honest.state.set("theirs", "honest");
    await until(() => victim.state.get("theirs") === "honest", 5000, "the honest peer's new key");
    await stillLinked(honest, victim);
  });

  it("the state limits are set from the Playground's options, and checked", async () => {
    const pg = await tcpNode({ stateLimits: { maxKeys: 123, maxKeysPerPeer: 7, tombstoneTtlMs: 1000, maxClockSkewMs: 2000 } });
    expect(pg.state.options).toMatchObject({ maxKeys: 123, maxKeysPerPeer: 7, tombstoneTtlMs: 1000, maxClockSkewMs: 2000, replicaId: pg.peerId });
    expect(() => new Playground("test-app", { state: pg.state, stateLimits: { maxKeys: 1 } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => new Playground("test-app", { stateLimits: { maxKeys: -1 } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_STATE_INVALID_ARGUMENT" }));
    expect(() => new Playground("test-app", { limits: { maxConcurrentSnapshots: 0 } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });
});

describe("state requests cannot be used to amplify traffic (issue 16, item 8)", () => {
  it("a peer that keeps asking for the state is dropped with RATE_LIMITED; the honest peer carries on", async () => {
    const victim = await tcpNode({ limits: { stateRequestsPerMinute: 5 } });
    for (let i = 0; i < 4000; i++) victim.state.set(`key-${i}`, "v".repeat(20));
    const honest = await tcpNode();
    await honest.join(victim.addresses[0]!);
    await until(() => honest.state.size === 4000, 10_000, "the honest peer's snapshot");
    const errors = errorsOf(victim);
    const raw = await attacker(victim);
    for (let rid = 1; rid <= 200; rid++) void raw.send("xppg/state-request", { rid });
    const closed = await raw.conn.closed;
    expect(closed.initiator).toBe("remote");
    expect(raw.received.find((m) => m.kind === "xppg/bye")?.payload).toMatchObject({ code: "XPPG_ERR_RATE_LIMITED" });
    await until(() => errors.includes("XPPG_ERR_RATE_LIMITED"), 5000, "the victim's report");
    // Its join snapshot and at most the answers it was allowed (folded while one is being sent).
    const answers = raw.received.filter((m) => m.kind === "xppg/state" && (m.payload as { last?: boolean }).last === true).length;
    expect(answers).toBeLessThanOrEqual(5);
    await stillLinked(honest, victim);
    victim.state.set("after", 1);
    await until(() => honest.state.get("after") === 1, 5000, "sync still works");
  });

  it("an answer larger than a peer's byte budget is paced, never cut short", async () => {
    // A burst of 256 KiB: the join snapshot (about 192 KiB) goes at once, the answer must wait for the bucket.
    const victim = await tcpNode({ limits: { stateBytesPerSecond: 128 * 1024 } });
    for (let i = 0; i < 24; i++) victim.state.set(`blob-${i}`, new Uint8Array(8 * 1024));
    const asker = await tcpNode({ autoSyncState: false });
    await asker.join(victim.addresses[0]!);
    await until(() => asker.state.size === 24, 10_000, "the join snapshot");
    victim.state.set("late", 1);
    await asker.requestState({ to: victim.peerId, timeoutMs: 15_000 });
    expect(asker.state.size).toBe(25);
  });
});

describe("joins against a large state do not stall the node (issue 16, item 9)", () => {
  // The nodes other than the victim dial no one they learn of: with automatic dialling (peer exchange) the
  // honest peer and the joiners became each other's neighbours and sent each other the 16 MiB they had, so a
  // joiner's state began to arrive from one of them while the victim was sending two others theirs, and the
  // test saw three at once (under load, when the snapshots take long enough to overlap).
  // Still retried in CI: a snapshot send gives its turn to the next joiner when its joiner takes no piece within
  // a second of the victim's running time (a joiner that stopped reading must not hold everyone back). The
  // joiners share this process with the victim, and on a runner loaded past about 20 they may fall that far
  // behind while reading honestly; the turn then passes on by design. None did at a load of 8 to 14.
  // (A pause of the victim's own event loop is no longer taken for that: `state-turns.test.ts`.)
  it("3 joins at once against 16 MiB of state: sent one at a time (maxConcurrentSnapshots 1) while an honest peer's echo keeps being answered", { retry: process.env.CI ? 2 : 0, timeout: 90_000 }, async () => {
    const victim = await tcpNode({ limits: { maxConcurrentSnapshots: 1 } });
    const value = new Uint8Array(60 * 1024);
    let keys = 0;
    for (; keys < 270; keys++) victim.state.set(`blob-${keys}`, value);
    victim.on("echo", (src, _kind, payload) => {
      void victim.send("echo-reply", payload, { to: src });
    });
    // Only the victim serves the state: the other nodes dial no one they learn of (peer exchange), or the honest
    // peer and the joiners that have the state would send it to the joiners too, and a joiner's snapshot would
    // start arriving from one of them while the victim sends two others theirs (three at once, under load).
    const alone = { connections: { lowWater: 0 } };
    const honest = await tcpNode({ ...alone, stateLimits: { maxTotalSize: 32 * 1024 * 1024 } });
    await honest.join(victim.addresses[0]!);
    await until(() => honest.state.size === keys, 20_000, "the honest peer's snapshot");
    const replies = collect<number>(honest, "echo-reply");

    // Receivers sized for a 16 MiB state from one peer (by default one peer may fill three quarters of 16 MiB).
    const roomy = { ...alone, stateLimits: { maxTotalSize: 32 * 1024 * 1024 } };
    const joiners = [await tcpNode(roomy), await tcpNode(roomy), await tcpNode(roomy)];
    let inProgress = 0;
    let mostAtOnce = 0;
    const finished: boolean[] = joiners.map(() => false);
    joiners.forEach((j, i) => {
      let started = false;
      j.state.on("change", () => {
        if (!started) {
          started = true;
          mostAtOnce = Math.max(mostAtOnce, ++inProgress);
        }
        if (!finished[i] && j.state.size === keys) {
          finished[i] = true;
          inProgress--;
        }
      });
    });

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let echoes = 0;
    let echoing = true;
    const echoLoop = (async () => {
      while (echoing) {
        const n = ++echoes;
        await honest.send("echo", n, { to: victim.peerId });
        await until(() => replies.some((r) => r.payload === n), 20_000, `echo ${n}`);
      }
    })();
    await Promise.all(joiners.map((j) => j.join(victim.addresses[0]!)));
    await until(() => finished.every(Boolean), 60_000, "every joiner's snapshot");
    const answeredDuringJoins = replies.length;
    echoing = false;
    await echoLoop;
    delay.disable();
    console.info(
      `16 MiB snapshot to 3 joiners: ${answeredDuringJoins} echoes answered meanwhile; event loop delay max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
    );
    for (const j of joiners) expect(j.peers.map((p) => p.peerId)).toEqual([victim.peerId]);
    expect(mostAtOnce).toBeLessThanOrEqual(2); // one being sent; the next may start arriving before the last piece of the one before is read
    expect(answeredDuringJoins).toBeGreaterThanOrEqual(3);
    expect(honest.peers.map((p) => p.peerId)).toContain(victim.peerId);
  });

  it("a joiner that never reads does not keep the snapshot turn from an honest one", async () => {
    // The hog is not dropped for silence during the test: only the turn it would keep is tested.
    const victim = await tcpNode({ limits: { maxConcurrentSnapshots: 1 }, heartbeat: { intervalMs: 2000, timeoutMs: 120_000 } });
    const value = new Uint8Array(60 * 1024);
    for (let i = 0; i < 270; i++) victim.state.set(`blob-${i}`, value);
    const hog = await RawPeer.dial(tcpTransport(), victim.addresses[0]!);
    hog.conn.pause();
    await hog.hello();
    await until(() => victim.peers.some((p) => p.peerId === hog.peerId), 5000, "the hog joined");
    const honest = await tcpNode({ stateLimits: { maxTotalSize: 32 * 1024 * 1024 } });
    await honest.join(victim.addresses[0]!);
    await until(() => honest.state.size === 270, 30_000, "the honest joiner's snapshot while the hog holds its own");
    expect(victim.peers.map((p) => p.peerId)).toEqual(expect.arrayContaining([hog.peerId, honest.peerId]));
  }, 60_000);
});
