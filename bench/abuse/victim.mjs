// The victim of the abuse bench: one Playground on 127.0.0.1 in its own
// process. It echoes the honest peer's pings, keeps a few counters the
// attacks are judged on, and answers the runner over IPC.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";
import { Playground } from "@xppg/node";
import { tcpTransport } from "@xppg/transport-tcp";
import { webSocketTransport } from "@xppg/transport-ws";

const config = JSON.parse(process.argv[2]);
// A runner that went away (interrupted, crashed) takes this process with it.
process.on("disconnect", () => process.exit(0));
const downloadDir = mkdtempSync(join(tmpdir(), "xppg-abuse-victim-"));
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();

const options = {
  host: "127.0.0.1",
  port: 0,
  downloadDir,
  dangerouslyDisableEncryption: !config.encrypted,
  ...(config.limits === undefined ? {} : { limits: config.limits }),
};
if (config.ws) {
  options.transports = [tcpTransport(), webSocketTransport()];
  options.listen = ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/xppg"];
}
const pg = new Playground(config.app, options);

/** Why each peer left (peer id to code), and every ban. */
const left = {};
const bans = [];
const deliveries = {};
let replayDeliveries = 0;
pg.events.on("peer:left", (peer, reason) => {
  left[peer.peerId] = reason?.code ?? "left";
});
pg.events.on("peer:banned", (ban) => bans.push(ban.key));
pg.events.on("error", () => {});
pg.events.on("message:unhandled", () => {});
pg.on("abuse/ping", (src, _kind, payload) => {
  pg.send("abuse/pong", payload, { to: src }).catch(() => {});
});
for (const kind of ["abuse/flood", "abuse/replay"]) {
  pg.on(kind, (_src, k, payload) => {
    deliveries[k] = (deliveries[k] ?? 0) + 1;
    if (k === "abuse/replay" && payload?.n === 0) replayDeliveries++;
  });
}

// Setup before the honest peer joins: state the attack needs.
if (config.stateKeys > 0) {
  for (let i = 0; i < config.stateKeys; i++) pg.state.set(`k${i}`, `value number ${i} of the state`);
}
if (config.bigStateBytes > 0) {
  const value = new Uint8Array(60 * 1024).fill(7);
  for (let i = 0; pg.state.size * value.length < config.bigStateBytes; i++) {
    try {
      pg.state.set(`big${i}`, value);
    } catch {
      break;
    }
  }
}
if (config.sharedKey) pg.state.set("shared", "start");

await pg.start();
const wsAddress = pg.addresses.find((a) => a.startsWith("ws://"));
process.send({ type: "ready", port: pg.port, wsPort: wsAddress ? Number(new URL(wsAddress).port) : null, peerId: pg.peerId, stateKeys: pg.state.size });

// Slow-reader attack: the application broadcasts and awaits each send, as the README advises.
let load = null;
async function runLoad() {
  const payload = new Uint8Array(64 * 1024);
  const state = { sent: 0, maxWaitMs: 0, waitingSince: null, stop: false };
  load = state;
  while (!state.stop) {
    const t0 = performance.now();
    state.waitingSince = t0;
    try {
      await pg.send("abuse/load", payload);
    } catch {
      // a peer dropped mid-send: carry on
    }
    state.waitingSince = null;
    state.maxWaitMs = Math.max(state.maxWaitMs, performance.now() - t0);
    state.sent++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

process.on("message", async (m) => {
  switch (m.type) {
    case "eld-reset":
      eld.reset();
      process.send({ type: "eld-reset-done" });
      break;
    case "gc":
      globalThis.gc?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
      globalThis.gc?.();
      {
        const m = process.memoryUsage();
        // ABUSE_HEAP_DIR=<dir>: a heap snapshot after each full GC (before the attack, then after it), to find what is retained.
        if (process.env.ABUSE_HEAP_DIR) writeHeapSnapshot(join(process.env.ABUSE_HEAP_DIR, `victim-${process.pid}-${Date.now()}.heapsnapshot`));
        process.send({ type: "gc-done", retained: m.heapUsed + m.external });
      }
      break;
    case "load-start":
      void runLoad();
      break;
    case "probe-set": {
      let result;
      try {
        pg.state.set(`probe-${m.n}`, 1);
        result = { ok: true };
      } catch (error) {
        result = { ok: false, code: error.code ?? String(error) };
      }
      process.send({ type: "probe-set", ...result });
      break;
    }
    case "has-key":
      process.send({ type: "has-key", has: pg.state.has(m.key) });
      break;
    case "stats": {
      if (load !== null) load.stop = true;
      let parts;
      try {
        parts = readdirSync(downloadDir).filter((f) => f.endsWith(".part")).length;
      } catch {
        parts = -1;
      }
      process.send({
        type: "stats",
        eldMaxMs: eld.max / 1e6,
        peers: pg.peers.map((p) => p.peerId),
        left,
        bans,
        stats: pg.stats,
        deliveries,
        replayDeliveries,
        partFiles: parts,
        sharedVersion: pg.state.versionOf("shared"),
        stateKeys: pg.state.size,
        // A send still waiting counts with its age: an app frozen on one send must not look fine.
        load: load === null ? null : { sent: load.sent, maxWaitMs: Math.max(load.maxWaitMs, load.waitingSince === null ? 0 : performance.now() - load.waitingSince) },
      });
      break;
    }
    case "stop":
      await pg.stop().catch(() => {});
      rmSync(downloadDir, { recursive: true, force: true });
      process.exit(0);
  }
});
