// Summarises a V8 .cpuprofile (from `BENCH_CPU_PROF=<dir> node bench/run.mjs`):
// the functions with the most self time, and the most inclusive time, as a
// share of the busy (non-idle) samples.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write("usage: node bench/profile-summary.mjs <file.cpuprofile> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfCount = new Map();
for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);

const name = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*\/(packages|node_modules|bench)\//, "$1/").replace(/^node:/, "node:");
  return `${f.functionName || "(anonymous)"} ${url ? `${url}:${f.lineNumber + 1}` : ""}`.trim();
};
const IDLE = new Set(["(idle)", "(program)", "(garbage collector)"]);
let busy = 0;
let gc = 0;
let total = 0;
const self = new Map();
const inclusive = new Map();
for (const [id, count] of selfCount) {
  const n = byId.get(id);
  total += count;
  const fn = n.callFrame.functionName;
  if (fn === "(garbage collector)") gc += count;
  if (fn === "(idle)") continue;
  busy += count;
  const key = name(n);
  self.set(key, (self.get(key) ?? 0) + count);
  // Count each distinct function once per sample on its stack.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const k = name(byId.get(at));
    if (seen.has(k) || IDLE.has(byId.get(at).callFrame.functionName) || k === "(root)") continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + count);
  }
}
const pct = (c) => `${((c / busy) * 100).toFixed(1).padStart(5)}%`;
process.stdout.write(`${file}\n${total} samples, busy ${((busy / total) * 100).toFixed(0)}%, GC ${pct(gc)} of busy\n\nself time (share of busy):\n`);
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(c)}  ${k}\n`);
process.stdout.write("\ninclusive time (share of busy):\n");
for (const [k, c] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(c)}  ${k}\n`);
