// The attacks of issue 16, each bounded in time and count, traffic only to
// 127.0.0.1. `run` executes in the attacker's own process and returns plain
// data; `evaluate` runs in the runner and turns that data, with the victim's
// counters, into the attack's own check and the "attacker" cell.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Playground } from "@xppg/node";
import { generateIdentity } from "@xppg/secure";
import { DEFAULT_MAX_CLOCK_SKEW_MS, MAX_VERSION, UPDATE_FORMAT, versionAtTime } from "@xppg/state";
import { rawPeer, sleep } from "./wire.mjs";

/** The old per-update jump limit (2^32): a replica without a clock bound accepts each such step. */
const JUMP = 2 ** 32 - 16;
/** A version dated 90% of the receiver's allowed clock skew ahead: the furthest a careful attacker gets applied. */
const edgeVersion = () => versionAtTime(Date.now() + 0.9 * DEFAULT_MAX_CLOCK_SKEW_MS);
/** Attack sockets come from a second loopback address, so the victim can tell them from honest joins (127.0.0.1). */
const ATTACK_HOST = "127.0.0.2";
const SECONDS_PER_YEAR = 365 * 24 * 3600;

/** How a raw peer left: the code it was dropped with, or null while connected. */
async function fate(peer) {
  return peer.isClosed ? await peer.closed : null;
}

/** Calls `fn` every `ms` until `deadline` (performance.now() based). */
async function every(ms, deadline, fn) {
  while (performance.now() < deadline) {
    await fn();
    await sleep(ms);
  }
}

/**
 * Sends at an average `perSecond` until `deadline`: every 10 ms, `fn(n)` with
 * the number due since the start (at most `maxPerTick`, so a stalled timer
 * never turns into a burst). Resolves with the total sent.
 */
async function paced(perSecond, deadline, maxPerTick, fn) {
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() < deadline) {
    const due = Math.min(maxPerTick, Math.floor(((performance.now() - t0) / 1000) * perSecond) - sent);
    if (due > 0) {
      sent += due;
      if ((await fn(due)) === false) break;
    }
    await sleep(10);
  }
  return sent;
}

/** Keeps a raw peer visibly alive (a ping a second) without reading anything else. */
function keepAlive(peer) {
  const t = setInterval(() => void peer.send("xppg/ping", null), 1000);
  return () => clearInterval(t);
}

/** Learns the victim's version of `key` from the snapshot it sends on open. */
function versionWatcher() {
  const seen = { version: 0 };
  return {
    seen,
    onMessage(env) {
      if (env.kind !== "xppg/state") return;
      for (const row of env.payload?.update?.entries ?? []) if (row[0] === "shared" && typeof row[1] === "number") seen.version = Math.max(seen.version, row[1]);
    },
  };
}

function stateMessage(peer, entries) {
  return peer.envelope("xppg/state", { update: { format: UPDATE_FORMAT, seq: peer.nextId(), entries } });
}

/**
 * New Playgrounds join the victim, at most 3 at once (under the node's
 * per-host share of pending handshakes: they all come from 127.0.0.1);
 * resolves with how many joined and how many are still joined `settleMs` later.
 */
async function freshJoins(ctx, count, settleMs) {
  const nodes = [];
  const dirs = [];
  let joined = 0;
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const dir = mkdtempSync(join(tmpdir(), "xppg-abuse-join-"));
      dirs.push(dir);
      const pg = new Playground(ctx.app, { host: "127.0.0.1", port: 0, listen: [], downloadDir: dir, dangerouslyDisableEncryption: !ctx.encrypted });
      pg.events.on("error", () => {});
      nodes.push(pg);
      try {
        await pg.start();
        await pg.join("127.0.0.1", ctx.port, { timeoutMs: 3000 });
        joined++;
      } catch {
        // refused or timed out: counted by `joined`
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(3, count) }, worker));
  await sleep(settleMs);
  const stayed = nodes.filter((pg) => pg.peers.some((p) => p.peerId === ctx.victimId)).length;
  await Promise.all(nodes.map((pg) => pg.stop().catch(() => {})));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return { joined, stayed };
}

/** What the attackers saw, with the victim's own reason where it listed the peer as left. */
function droppedCell(r, v) {
  const codes = r.codes.map((c, i) => (c === null ? null : (v.left[r.ids[Math.min(i, r.ids.length - 1)]] ?? c)));
  const dropped = codes.filter((c) => c !== null);
  if (dropped.length === 0) return "kept";
  const uniq = [...new Set(dropped.map((c) => c.replace(/^XPPG_ERR_/, "")))];
  return `${dropped.length < codes.length ? `${dropped.length}/${codes.length} ` : ""}dropped ${uniq.join(",")}`;
}

/**
 * The state attacks speak update format 1 and the current envelope rules; a
 * victim that no longer reads them refuses the attack for that reason
 * alone, which must not pass for a defence.
 */
function stale(r, v) {
  const codes = r.ids.map((id) => v.left[id]).filter(Boolean);
  const gone = codes.find((c) => c === "XPPG_ERR_STATE_UNSUPPORTED_FORMAT" || c === "XPPG_ERR_PROTOCOL_MISMATCH" || c === "XPPG_ERR_UNSUPPORTED_VERSION");
  return gone === undefined ? undefined : { ok: false, text: `the victim refused the attack's wire format (${gone}): the attack needs updating` };
}

function banCell(stats, ids) {
  const banned = ids.filter((id) => stats.bans.includes(`peer:${id}`)).length;
  return banned === 0 ? "" : `, ${banned === ids.length ? "" : `${banned}/${ids.length} `}banned`;
}

/** @typedef {{ port: number, wsPort: number | null, victimId: string, encrypted: boolean, app: string, durationMs: number, release: Promise<void> }} AttackContext */

export const ATTACKS = [
  {
    name: "none",
    title: "no attack: the honest round trip and the victim's figures on this machine right now, to read the other rows against",
    modes: ["enc"],
    async run() {
      return {};
    },
    evaluate() {
      return { attacker: "-" };
    },
  },
  {
    name: "slow-reader",
    title: "a peer stops reading; the victim's app keeps broadcasting 64 KiB every 2 ms, awaiting each send",
    modes: ["enc", "plain"],
    // Longer than the default writeStallTimeoutMs (10 s) plus the seconds the socket buffers take to fill.
    windowMs: 13_000,
    fixedWindow: true,
    victimLoad: true,
    prepare: (ctx) => rawPeer({ ...ctx, identity: generateIdentity() }),
    async run(ctx, peer) {
      peer.conn.pause();
      const stop = keepAlive(peer);
      await sleep(ctx.durationMs);
      stop();
      return { ids: [peer.id], codes: [await fate(peer)] };
    },
    evaluate(r, v) {
      const load = v.load ?? { sent: 0, maxWaitMs: 0 };
      const dropped = r.codes[0] !== null;
      return {
        attacker: droppedCell(r, v) + banCell(v, r.ids),
        check: { ok: dropped && load.maxWaitMs < 2000, text: `slow reader ${dropped ? "dropped" : "never dropped"}; app sent ${load.sent} broadcasts, longest send waited ${Math.round(load.maxWaitMs)} ms (want a drop within the window and < 2000 ms)` },
      };
    },
  },
  {
    name: "version-climb",
    title: "two peers push a shared key's version at 5,000 updates/s each: one by ~2^32 per update, one along the receiver's clock-skew edge",
    modes: ["enc", "plain"],
    victim: { sharedKey: true },
    async prepare(ctx) {
      const w = versionWatcher();
      const jumper = await rawPeer({ ...ctx, identity: generateIdentity(), onMessage: w.onMessage });
      const rider = await rawPeer({ ...ctx, identity: generateIdentity() });
      // A third peer sees what the victim forwards: the version it holds, over time.
      const seen = [];
      const observer = await rawPeer({
        ...ctx,
        identity: generateIdentity(),
        onMessage(env) {
          if (env.kind !== "xppg/state") return;
          for (const row of env.payload?.update?.entries ?? []) if (row[0] === "shared" && typeof row[1] === "number") seen.push([performance.now(), row[1]]);
        },
      });
      await sleep(100);
      // The victim's snapshot may not have come yet: its clock is as good a start.
      return { jumper, rider, observer, seen, start: Math.max(w.seen.version, versionAtTime(Date.now())) };
    },
    async run(ctx, { jumper, rider, observer, seen, start }) {
      const t0 = performance.now();
      const deadline = t0 + ctx.durationMs;
      let v = start;
      let updates = 0;
      let counter = 0;
      await Promise.all([
        paced(5000, deadline, 250, async (due) => {
          if (jumper.isClosed) return false;
          const batch = [];
          for (let i = 0; i < due && v + JUMP < MAX_VERSION; i++) {
            v += JUMP;
            batch.push(stateMessage(jumper, [["shared", v, jumper.id, updates++]]));
          }
          await jumper.sendBundle(batch);
        }),
        paced(5000, deadline, 250, async (due) => {
          if (rider.isClosed) return false;
          const batch = [];
          for (let i = 0; i < due; i++) batch.push(stateMessage(rider, [["shared", edgeVersion() + (counter++ % 1024), rider.id, updates++]]));
          await rider.sendBundle(batch);
        }),
      ]);
      await sleep(200);
      const mid = t0 + ctx.durationMs / 2;
      const first = seen.find(([t]) => t >= mid) ?? null;
      const last = seen.at(-1) ?? null;
      await observer.close();
      return { ids: [jumper.id, rider.id], codes: [await fate(jumper), await fate(rider)], start, updates, first, last };
    },
    evaluate(r, v) {
      const reached = typeof v.sharedVersion === "number" ? v.sharedVersion : 0;
      // The climb rate over the second half of the window, as forwarded by the victim: the
      // first accepted step may leap to the clock-skew edge, what matters is how fast it goes on.
      const rate = r.first === null || r.last === null || r.last[0] <= r.first[0] ? 0 : Math.max(0, r.last[1] - r.first[1]) / ((r.last[0] - r.first[0]) / 1000);
      const years = rate === 0 ? Infinity : (MAX_VERSION - reached) / rate / SECONDS_PER_YEAR;
      const when = years === Infinity ? "never" : years >= 1 ? `in ${years.toFixed(0)} years` : `in ${((MAX_VERSION - reached) / rate).toFixed(0)} s`;
      return {
        attacker: droppedCell(r, v) + banCell(v, r.ids),
        check: stale(r, v) ?? { ok: years >= 100, text: `${r.updates} updates; the key reached ${((reached / MAX_VERSION) * 100).toFixed(2)}% of the largest version; at the second half's rate it freezes ${when} (want >= 100 years)` },
      };
    },
  },
  {
    name: "state-jump",
    title: "two updates per key at the clock-skew edge, sent together in one frame; then 3 new nodes join the victim",
    modes: ["enc", "plain"],
    victim: { sharedKey: true },
    windowMs: 3500,
    async prepare(ctx) {
      const w = versionWatcher();
      const peer = await rawPeer({ ...ctx, identity: generateIdentity(), onMessage: w.onMessage });
      await sleep(100);
      return { peer, w };
    },
    async run(ctx, { peer, w }) {
      const keys = ["shared", "j1", "j2", "j3"];
      const batch = [];
      const edge = Math.max(edgeVersion(), w.seen.version + 2048);
      for (const key of keys) {
        batch.push(stateMessage(peer, [[key, edge - 1024, peer.id, 1]]));
        batch.push(stateMessage(peer, [[key, edge, peer.id, 2]]));
      }
      await peer.sendBundle(batch);
      await sleep(500);
      const joins = await freshJoins(ctx, 3, 1500);
      return { ids: [peer.id], codes: [await fate(peer)], ...joins };
    },
    evaluate(r, v) {
      return { attacker: droppedCell(r, v) + banCell(v, r.ids), check: stale(r, v) ?? { ok: r.stayed === 3, text: `${r.joined}/3 new nodes joined, ${r.stayed}/3 still joined 1.5 s later (want 3/3)` } };
    },
  },
  {
    name: "key-flood",
    title: "25,000 distinct keys in updates of 1,000 (the victim keeps 10,000); then the victim and the honest peer each set a new key",
    modes: ["enc", "plain"],
    probeSet: true,
    prepare: (ctx) => rawPeer({ ...ctx, identity: generateIdentity() }),
    async run(ctx, peer) {
      return floodKeys(ctx, peer, (i, now) => [`f${i}`, now, peer.id, 1]);
    },
    evaluate: evaluateFlood,
  },
  {
    name: "tombstone-flood",
    title: "25,000 deletes of unknown keys in updates of 1,000; then the victim and the honest peer each set a new key",
    modes: ["enc"],
    probeSet: true,
    prepare: (ctx) => rawPeer({ ...ctx, identity: generateIdentity() }),
    async run(ctx, peer) {
      return floodKeys(ctx, peer, (i, now) => [`t${i}`, now, peer.id]);
    },
    evaluate: evaluateFlood,
  },
  {
    name: "pending-flood",
    title: "one host (127.0.0.2) keeps 300 connects in flight, 3,000 at most; 5 honest nodes join meanwhile",
    modes: ["enc", "plain"],
    async run(ctx) {
      const sockets = new Set();
      let opened = 0;
      let closedByVictim = 0;
      let stopping = false;
      const open = () => {
        if (stopping || opened >= 3000) return;
        opened++;
        const s = connect({ host: "127.0.0.1", port: ctx.port, localAddress: ATTACK_HOST });
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          sockets.delete(s);
          if (!stopping) {
            closedByVictim++;
            setImmediate(open);
          }
        });
      };
      for (let i = 0; i < 300; i++) open();
      await sleep(500);
      const joins = await freshJoins(ctx, 5, 200);
      await sleep(Math.max(0, ctx.durationMs - 500 - 3200));
      stopping = true;
      await ctx.release;
      for (const s of sockets) s.destroy();
      return { opened, closedByVictim, ...joins };
    },
    holdUntilRelease: true,
    evaluate(r) {
      return { attacker: `${r.opened} connects, ${r.closedByVictim} cut`, check: { ok: r.joined === 5, text: `${r.joined}/5 honest joins succeeded during the flood (want 5/5)` } };
    },
  },
  {
    name: "sig-flood",
    title: "6 identities, each at 1,800 signed broadcasts/s (below its own 2,000/s limit), signed in advance",
    modes: ["enc"],
    async prepare(ctx) {
      // One at a time: a node lets one host hold only a few handshakes at once.
      const peers = [];
      for (let i = 0; i < 6; i++) peers.push(await rawPeer({ ...ctx, identity: generateIdentity() }));
      const count = Math.ceil((1800 * ctx.durationMs) / 1000);
      const signed = peers.map((p) => Array.from({ length: count }, (_, n) => p.signed("abuse/flood", { n })));
      return { peers, signed };
    },
    async run(ctx, { peers, signed }) {
      let at = 0;
      await paced(1800, performance.now() + ctx.durationMs, 200, (due) => {
        peers.forEach((p, i) => {
          if (!p.isClosed) void p.sendBundle(signed[i].slice(at, at + due));
        });
        at += due;
      });
      const sent = Math.min(at, signed[0].length) * peers.length;
      return { ids: peers.map((p) => p.id), codes: await Promise.all(peers.map(fate)), sent };
    },
    evaluate(r, v) {
      return { attacker: droppedCell(r, v) + banCell(v, r.ids), note: `${r.sent} signed broadcasts sent, ${v.deliveries["abuse/flood"] ?? 0} delivered` };
    },
  },
  {
    name: "sig-repeat",
    title: "one identity delivers 300 signed broadcasts, then repeats those ids at 1,800/s",
    modes: ["enc"],
    async prepare(ctx) {
      const peer = await rawPeer({ ...ctx, identity: generateIdentity() });
      return { peer, originals: Array.from({ length: 300 }, (_, n) => peer.signed("abuse/flood", { n })) };
    },
    async run(ctx, { peer, originals }) {
      await peer.sendBundle(originals);
      let repeats = 0;
      await paced(1800, performance.now() + ctx.durationMs, 200, async (due) => {
        if (peer.isClosed) return false;
        const batch = [];
        for (let i = 0; i < due; i++) batch.push(originals[repeats++ % originals.length]);
        await peer.sendBundle(batch);
      });
      return { ids: [peer.id], codes: [await fate(peer)], repeats };
    },
    evaluate(r, v) {
      const delivered = v.deliveries["abuse/flood"] ?? 0;
      return { attacker: droppedCell(r, v) + banCell(v, r.ids), check: { ok: delivered === 300, text: `${r.repeats} repeats sent; ${delivered} deliveries of 300 distinct ids (want 300)` } };
    },
  },
  {
    name: "request-amp",
    title: "200 state requests/s against a 4,000-key state; the requester reads every reply",
    modes: ["enc", "plain"],
    victim: { stateKeys: 4000 },
    async prepare(ctx) {
      const peer = await rawPeer({ ...ctx, identity: generateIdentity() });
      await sleep(200);
      return peer;
    },
    async run(ctx, peer) {
      const before = peer.bytesIn;
      const t0 = performance.now();
      let requests = 0;
      let bytesOut = 0;
      await paced(200, performance.now() + ctx.durationMs, 20, async (due) => {
        if (peer.isClosed) return false;
        const batch = Array.from({ length: due }, () => peer.envelope("xppg/state-request", { rid: ++requests }));
        for (const e of batch) bytesOut += e.length + 4;
        await peer.sendBundle(batch);
      });
      await sleep(200);
      return { ids: [peer.id], codes: [await fate(peer)], requests, bytesOut, bytesIn: peer.bytesIn - before, seconds: (performance.now() - t0) / 1000 };
    },
    evaluate(r, v) {
      const perSecond = r.bytesIn / r.seconds;
      const ok = r.codes[0] !== null || perSecond <= 8 * 2 ** 20;
      return {
        attacker: droppedCell(r, v) + banCell(v, r.ids),
        check: {
          ok,
          text: `${r.requests} requests (${(r.bytesOut / 1024).toFixed(0)} KB) drew ${(r.bytesIn / 2 ** 20).toFixed(0)} MiB of replies (${(perSecond / 2 ** 20).toFixed(0)} MiB/s, x${Math.round(r.bytesIn / Math.max(1, r.bytesOut))}) (want the requester dropped or <= 8 MiB/s)`,
        },
      };
    },
  },
  {
    name: "big-state-joins",
    title: "24 joins, 8 at a time, against a victim holding ~15 MiB of state; each reads the snapshot and leaves",
    modes: ["enc", "plain"],
    victim: { bigStateBytes: 15 * 2 ** 20 },
    windowMs: 5000,
    async run(ctx) {
      let done = 0;
      let failed = 0;
      let started = 0;
      let bytes = 0;
      const deadline = performance.now() + ctx.durationMs;
      const one = async () => {
        while (started < 24 && performance.now() < deadline) {
          started++;
          try {
            const peer = await rawPeer({ ...ctx, identity: generateIdentity() });
            // A hello without capabilities gets no snapshot on open: ask for one, as requestState does.
            void peer.send("xppg/state-request", { rid: 1 });
            const t0 = performance.now();
            while (peer.bytesIn < 15 * 2 ** 20 && !peer.isClosed && performance.now() - t0 < 4000) await sleep(20);
            if (peer.bytesIn >= 15 * 2 ** 20) done++;
            else failed++;
            bytes += peer.bytesIn;
            await peer.close();
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, one));
      return { done, failed, bytes };
    },
    evaluate(r) {
      return { attacker: "-", note: `${r.done} joins got the whole snapshot within their 4 s, ${r.failed} did not; ${(r.bytes / 2 ** 20).toFixed(0)} MiB of snapshots sent to them in all` };
    },
  },
  {
    name: "half-open",
    title: "232 silent TCP sockets from one host ignore the victim's FIN: 32 fill the pending slots, the victim closes the rest",
    modes: ["tcp"],
    windowMs: 3000,
    fixedWindow: true,
    holdUntilRelease: true,
    async run(ctx) {
      const sockets = await openSockets(232, ctx.port, () => {});
      await sleep(ctx.durationMs);
      await ctx.release;
      for (const s of sockets) s.destroy();
      return { sockets: sockets.length };
    },
    evaluate: evaluateHeld,
  },
  {
    name: "ws-upgrade",
    title: "100 unfinished HTTP upgrade requests and 100 upgraded sockets that never start the handshake, held open",
    modes: ["ws"],
    victim: { ws: true },
    // Longer than the 5 s handshake deadline: upgraded sockets that never start the handshake are cut by then.
    windowMs: 6000,
    fixedWindow: true,
    holdUntilRelease: true,
    async run(ctx) {
      const head = `GET /xppg HTTP/1.1\r\nHost: 127.0.0.1:${ctx.wsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n`;
      const unfinished = await openSockets(100, ctx.wsPort, (s) => s.write(head));
      const upgraded = await openSockets(100, ctx.wsPort, (s) => s.write(`${head}Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n\r\n`));
      const sockets = [...unfinished, ...upgraded];
      await sleep(ctx.durationMs);
      await ctx.release;
      for (const s of sockets) s.destroy();
      return { sockets: sockets.length };
    },
    evaluate: evaluateHeld,
  },
  {
    name: "stalled-file",
    title: "a peer offers an 8 MiB file, sends 256 KiB, then stays connected and silent (victim's fileIdleTimeoutMs set to 4 s)",
    modes: ["enc", "plain"],
    victim: { limits: { fileIdleTimeoutMs: 4000 } },
    windowMs: 8000,
    fixedWindow: true,
    holdUntilRelease: true,
    prepare: (ctx) => rawPeer({ ...ctx, identity: generateIdentity() }),
    async run(ctx, peer) {
      const t = randomBytes(16).toString("hex");
      await peer.send("xppg/file-offer", { t, name: "stalled.bin", size: 8 * 2 ** 20 });
      for (let seq = 0; seq < 4; seq++) await peer.send("xppg/file-chunk", { t, seq, data: new Uint8Array(64 * 1024) });
      const stop = keepAlive(peer);
      await sleep(ctx.durationMs);
      await ctx.release;
      stop();
      return { ids: [peer.id], codes: [await fate(peer)] };
    },
    evaluate(r, v) {
      return {
        attacker: droppedCell(r, v) + banCell(v, r.ids),
        check: { ok: v.partFiles === 0, text: `${v.partFiles} partial file(s) still held at the end of the window (want 0)` },
      };
    },
  },
  {
    name: "replay",
    title: "a signed broadcast replayed after 9,000 newer ones from the same origin (1,900/s, under the 2,000/s limit)",
    modes: ["enc"],
    windowMs: 6500,
    fixedWindow: true,
    async prepare(ctx) {
      const peer = await rawPeer({ ...ctx, identity: generateIdentity() });
      return { peer, signed: Array.from({ length: 9001 }, (_, n) => peer.signed("abuse/replay", { n })) };
    },
    async run(ctx, { peer, signed }) {
      const first = signed[0];
      let n = 0;
      // Paced at 1,900/s, under the 2,000/s broadcast limit.
      await paced(1900, performance.now() + ctx.durationMs - 500, 200, async (due) => {
        if (n >= signed.length || peer.isClosed) return false;
        await peer.sendBundle(signed.slice(n, n + due));
        n += due;
      });
      n = Math.min(n, signed.length);
      await peer.sendBundle([first, first, first]);
      await sleep(300);
      return { ids: [peer.id], codes: [await fate(peer)], newer: n - 1 };
    },
    evaluate(r, v) {
      return {
        attacker: droppedCell(r, v) + banCell(v, r.ids),
        check: { ok: v.replayDeliveries === 1 && r.newer >= 8300, text: `${r.newer} newer broadcasts; the replayed one was delivered ${v.replayDeliveries} time(s) (want 1)` },
      };
    },
  },
  {
    name: "oversize",
    title: "one identity sends a 2 MiB frame inside the encrypted stream (limit 1 MiB), 3 times",
    modes: ["enc"],
    async run(ctx) {
      const identity = generateIdentity();
      const codes = [];
      for (let i = 0; i < 3; i++) {
        try {
          const peer = await rawPeer({ ...ctx, identity, maxFrameSize: 4 * 2 ** 20 });
          void peer.conn.send(new Uint8Array(2 * 2 ** 20)).catch(() => {});
          const t0 = performance.now();
          while (!peer.isClosed && performance.now() - t0 < 1000) await sleep(10);
          codes.push(await fate(peer));
        } catch (error) {
          codes.push(`refused: ${String(error.message).slice(0, 40)}`);
        }
      }
      return { ids: [identity.peerId], codes };
    },
    evaluate(r, v) {
      const banned = v.bans.includes(`peer:${r.ids[0]}`);
      return { attacker: droppedCell(r, v) + banCell(v, r.ids), check: { ok: banned, text: `3 oversize frames: ${banned ? "banned" : "not banned (an oversize frame is no strike)"} (want a ban at the 3rd)` } };
    },
  },
];

async function floodKeys(ctx, peer, row) {
  let i = 0;
  const per = 1000;
  const pause = Math.max(10, ctx.durationMs / 30);
  await every(pause, performance.now() + ctx.durationMs, async () => {
    if (i >= 25_000 || peer.isClosed) return;
    const entries = [];
    // Versions of now: a delete dated in the past would be forgotten at once.
    const now = versionAtTime(Date.now());
    for (let k = 0; k < per; k++) entries.push(row(i++, now));
    await peer.sendBundle([stateMessage(peer, entries)]);
  });
  return { ids: [peer.id], codes: [await fate(peer)], rows: i };
}

function evaluateFlood(r, v) {
  const own = v.probe?.ok === true;
  const honest = v.honestProbe?.ok === true && v.honestProbe?.arrived === true;
  const honestText = v.honestProbe?.ok !== true ? v.honestProbe?.code ?? "?" : v.honestProbe.arrived ? "ok" : "set, but the victim did not take it";
  return {
    attacker: droppedCell(r, v) + banCell(v, r.ids),
    check: stale(r, v) ?? {
      ok: own && honest,
      text: `${r.rows} rows sent, victim holds ${v.stateKeys} live keys; afterwards its own set(newKey): ${own ? "ok" : v.probe?.code ?? "?"}, the honest peer's: ${honestText} (want ok, ok)`,
    },
  };
}

function evaluateHeld(r, v, m) {
  const held = m.fdsAtEnd - m.fds.before;
  // The pending-handshake slots (32 by default) are held legitimately until the handshake deadline.
  const allowed = 32 + 20;
  return {
    attacker: `${r.sockets} sockets`,
    check: { ok: held <= allowed, text: `${held} more descriptors than before still held at the end of the ${m.windowMs / 1000} s window while the attacker kept its ends (want <= ${allowed}: the 32 pending slots and 20)` },
  };
}

/** Opens `n` sockets from the attack host that ignore the victim's FIN (allowHalfOpen), calling `first` on each once connected. */
async function openSockets(n, port, first) {
  const sockets = [];
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const s = connect({ host: "127.0.0.1", port, localAddress: ATTACK_HOST, allowHalfOpen: true });
          s.on("error", () => resolve());
          s.on("connect", () => {
            sockets.push(s);
            first(s);
            resolve();
          });
        }),
    ),
  );
  return sockets;
}
