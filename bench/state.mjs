// @xppg/state benchmark: persistence and sync, printed as a table.
//
//   pnpm bench:state              (builds, then runs this file)
//   node bench/state.mjs --writes=2000 --keys=100000
//
// Writes per second with the file store under each sync policy, reload time
// of a persisted state, and bytes a rejoining peer is sent after one change.
// It measures; it never fails on a number.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Playground } from "@xppg/node";
import { SharedState } from "@xppg/state";
import { openFileStore } from "@xppg/state/store";
import { tcpTransport } from "@xppg/transport-tcp";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const WRITES = Number(args.writes ?? 2000);
const RELOAD_KEYS = Number(args.keys ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), "xppg-bench-state-"));
const rows = [];
const value = (i) => ({ name: `player-${i}`, score: i, tags: ["a", "b"] });

function writes(label, syncIntervalMs, count) {
  const path = join(dir, `writes-${syncIntervalMs}.log`);
  const state = new SharedState({ replicaId: "bench", maxKeys: count + 10, store: openFileStore(path, { syncIntervalMs }) });
  const started = performance.now();
  for (let i = 0; i < count; i++) state.set(`k${i}`, value(i));
  const ms = performance.now() - started;
  state.close();
  rows.push([label, `${Math.round((count / ms) * 1000).toLocaleString("en")} writes/s`, `${count} set() of ~60-byte values`]);
}

function reload(count) {
  const path = join(dir, "reload.log");
  const state = new SharedState({ replicaId: "bench", maxKeys: count + 10, maxTotalSize: 1 << 30, store: openFileStore(path, { syncIntervalMs: 1000 }) });
  for (let i = 0; i < count; i++) state.set(`k${i}`, value(i));
  state.close();
  const started = performance.now();
  const again = new SharedState({ replicaId: "bench", maxKeys: count + 10, maxTotalSize: 1 << 30, store: openFileStore(path) });
  const ms = performance.now() - started;
  if (again.size !== count) throw new Error(`reloaded ${again.size} keys, not ${count}`);
  again.close();
  rows.push([`reload ${count.toLocaleString("en")} keys`, `${Math.round(ms)} ms`, `log of ${(statSync(path).size / 1e6).toFixed(1)} MB`]);
}

/** A transport whose dialled connections count the bytes of the frames they send and receive. */
function counting(inner) {
  const bytes = { total: 0 };
  const wrap = (conn) =>
    new Proxy(conn, {
      get(target, name) {
        if (name === "send") return (frame) => ((bytes.total += frame.length), target.send(frame));
        if (name === "sendParts") return (parts) => (parts.forEach((p) => (bytes.total += p.length)), target.sendParts(parts));
        if (name === "read") return (sink) => target.read({ frame: (d) => ((bytes.total += d.length), sink.frame(d)), close: (info) => sink.close?.(info) });
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return Object.assign(Object.create(inner), { bytes, dial: async (address, options) => wrap(await inner.dial(address, options)) });
}

async function until(check, what) {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejoin(keys) {
  const stateLimits = { maxKeys: 2 * keys, maxKeysPerPeer: Math.floor(1.5 * keys) };
  const a = new Playground("bench-state", { host: "127.0.0.1", port: 0, stateLimits });
  const counter = counting(tcpTransport());
  const b = new Playground("bench-state", { host: "127.0.0.1", port: 0, stateLimits, transports: [counter] });
  await a.start();
  await b.start();
  try {
    for (let i = 0; i < keys; i++) a.state.set(`key-${i}`, value(i));
    let started = performance.now();
    await b.join(a.addresses[0]);
    await until(() => b.state.size === keys, "the first sync");
    const firstMs = performance.now() - started;
    const first = counter.bytes.total;
    b.disconnect(a.peerId);
    await until(() => a.peers.length === 0 && b.peers.length === 0, "the disconnect");
    const changed = "the one changed value";
    a.state.set(`key-${keys >> 1}`, changed);
    counter.bytes.total = 0;
    started = performance.now();
    await b.join(a.addresses[0]);
    await until(() => b.state.get(`key-${keys >> 1}`) === changed, "the change");
    const againMs = performance.now() - started;
    rows.push([`first join, ${keys.toLocaleString("en")} keys`, `${first.toLocaleString("en")} bytes`, `${Math.round(firstMs)} ms, wire bytes both ways`]);
    rows.push([`rejoin after 1 change in ${keys.toLocaleString("en")} keys`, `${counter.bytes.total.toLocaleString("en")} bytes`, `${Math.round(againMs)} ms; Noise handshake + hellos + 1 row (value ${changed.length} B)`]);
  } finally {
    await b.stop();
    await a.stop();
  }
}

async function emptyJoin() {
  const a = new Playground("bench-state", { host: "127.0.0.1", port: 0 });
  const counter = counting(tcpTransport());
  const b = new Playground("bench-state", { host: "127.0.0.1", port: 0, transports: [counter] });
  await a.start();
  await b.start();
  try {
    await b.join(a.addresses[0]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the hellos and empty answers go out after the join resolves
    rows.push(["join of two empty nodes (baseline)", `${counter.bytes.total.toLocaleString("en")} bytes`, "Noise handshake + hellos + empty answers"]);
  } finally {
    await b.stop();
    await a.stop();
  }
}

try {
  writes("writes, fsync per write (syncIntervalMs 0)", 0, Math.min(WRITES, 2000));
  writes("writes, group commit (syncIntervalMs 100)", 100, WRITES * 25);
  reload(RELOAD_KEYS);
  await emptyJoin();
  await rejoin(10_000);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), ["measure", "result", "note"][c].length));
const line = (r) => `| ${r.map((cell, c) => cell.padEnd(width[c])).join(" | ")} |`;
console.log(line(["measure", "result", "note"]));
console.log(`|${width.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
