// The honest peer of the abuse bench: a Playground in its own process,
// joined to the victim, sending it a ping every 20 ms and timing the echo.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Playground } from "@xppg/node";

const config = JSON.parse(process.argv[2]);
// A runner that went away (interrupted, crashed) takes this process with it.
process.on("disconnect", () => process.exit(0));
const PING_EVERY_MS = 20;
const downloadDir = mkdtempSync(join(tmpdir(), "xppg-abuse-honest-"));
const pg = new Playground(config.app, { host: "127.0.0.1", port: 0, listen: [], downloadDir, dangerouslyDisableEncryption: !config.encrypted });
pg.events.on("error", () => {});
let lostReason = null;
pg.events.on("peer:left", (peer, reason) => {
  if (peer.peerId === config.victimId) lostReason = reason?.code ?? "left";
});

/** seq to send time, for pings still waiting for their echo. */
const outstanding = new Map();
/** Round trips (ms) of pings sent since the last "mark". */
let rtts = [];
let markSeq = 0;
let seq = 0;
pg.on("abuse/pong", (_src, _kind, payload) => {
  const sent = outstanding.get(payload.seq);
  if (sent === undefined) return;
  outstanding.delete(payload.seq);
  if (payload.seq >= markSeq) rtts.push(performance.now() - sent);
});

await pg.start();
await pg.join("127.0.0.1", config.port, { timeoutMs: 10_000 });
const timer = setInterval(() => {
  if (lostReason !== null) return;
  seq++;
  outstanding.set(seq, performance.now());
  pg.send("abuse/ping", { seq }, { to: config.victimId }).catch(() => {});
}, PING_EVERY_MS);
process.send({ type: "joined", peerId: pg.peerId });

process.on("message", async (m) => {
  if (m.type === "mark") {
    rtts = [];
    markSeq = seq + 1;
    process.send({ type: "marked" });
  } else if (m.type === "collect") {
    // A ping still unanswered counts with its age so far: a stalled victim must not look fast.
    const now = performance.now();
    const waiting = [...outstanding].filter(([s]) => s >= markSeq).map(([, t]) => now - t);
    const stayed = lostReason === null && pg.peers.some((p) => p.peerId === config.victimId);
    process.send({ type: "collected", rtts: [...rtts, ...waiting], unanswered: waiting.length, stayed, lostReason });
  } else if (m.type === "probe-set") {
    try {
      pg.state.set(m.key, 1);
      process.send({ type: "probe-set", ok: true });
    } catch (error) {
      process.send({ type: "probe-set", ok: false, code: error.code ?? String(error) });
    }
  } else if (m.type === "stop") {
    clearInterval(timer);
    await pg.stop().catch(() => {});
    rmSync(downloadDir, { recursive: true, force: true });
    process.exit(0);
  }
});
