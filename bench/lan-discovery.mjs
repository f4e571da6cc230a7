// LAN discovery bench, in the project's namespace lab (tools/netlab lan-up):
//
//   node bench/lan-discovery.mjs [--starts=20] [--idle-nodes=10] [--idle-seconds=60,60]
//
// 1. Time from start() to the first joined peer: one node runs in host 1;
//    a node in host 2 is started and stopped --starts times; each reports the
//    time from its start() call to its first peer:joined (process start-up
//    excluded). Median and p99.
// 2. Idle cost: --idle-nodes LAN discoveries on one bridge, a counter on
//    another host counting every mDNS packet on the group, per window
//    (default: the first minute, then the second). Packets per minute per node.
//
// Needs root and iproute2, and a build (`pnpm run build`). Traffic stays in
// the lab's namespaces. Reports; never fails on a miss.
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const NETLAB = join(HERE, "../tools/netlab/netlab.sh");
const AGENT = join(HERE, "lan-agent.mjs");
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const starts = Number(args.starts ?? 20);
const idleNodes = Number(args["idle-nodes"] ?? 10);
const idleWindows = String(args["idle-seconds"] ?? "60,60").split(",").map(Number);
if (process.getuid?.() !== 0) {
  console.error("lan-discovery bench: needs root (network namespaces); skipped.");
  process.exit(0);
}
const PREFIX = `xppg-bench-${process.pid}-`;
const netlab = (...a) => execFileSync(NETLAB, [`--prefix=${PREFIX}`, ...a], { encoding: "utf8" });
const children = new Set();
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
  try {
    netlab("lan-down");
  } catch {
    // best effort
  }
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

function agent(host, ...argv) {
  const child = spawn("ip", ["netns", "exec", `${PREFIX}l${host}`, process.execPath, AGENT, ...argv]);
  children.add(child);
  const events = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on("line", (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  child.on("close", () => children.delete(child));
  return {
    stop: () => new Promise((r) => (child.on("close", r), child.stdin.write("stop\n"))),
    next: (pred, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(t);
          resolve(hit);
        };
        const t = setTimeout(() => (waiters.delete(check), reject(new Error(`timed out; events ${JSON.stringify(events)}`))), ms);
        waiters.add(check);
        check();
      }),
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

netlab("lan-up", String(Math.max(3, idleNodes + 1)));
const ip = (i) => `198.18.5.${i}`;

// 1. time to first peer
const first = agent(1, "node", "bench-app", ip(1));
await first.next((e) => e.event === "started");
const times = [];
for (let i = 0; i < starts; i++) {
  const a = agent(2, "node", "bench-app", ip(2));
  const e = await a.next((ev) => ev.event === "first-peer");
  times.push(e.ms);
  await a.stop();
}
await first.stop();
times.sort((x, y) => x - y);
if (process.env.BENCH_VERBOSE) console.log(times.map((t) => t.toFixed(0)).join(" "));
console.log(`LAN discovery, start() to first joined peer, ${starts} starts: median ${pct(times, 50).toFixed(0)} ms, p99 ${pct(times, 99).toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)}) · target: median under 1000 ms`);

// 2. idle cost
const counter = agent(idleNodes + 1, "count", ...idleWindows.map(String));
await counter.next((e) => e.event === "counting");
const nodes = [];
for (let i = 1; i <= idleNodes; i++) nodes.push(agent(i, "quiet", "idle-app", ip(i)));
await Promise.all(nodes.map((n) => n.next((e) => e.event === "started")));
let k = 0;
for (const s of idleWindows) {
  const w = await counter.next((e) => e.event === "window" && e.seconds === s && !e.seen && (e.seen = ++k), (s + 20) * 1000);
  console.log(`LAN discovery idle cost, ${idleNodes} nodes, window ${k} (${s} s): ${w.packets} packets, ${((w.packets / s) * 60 / idleNodes).toFixed(1)} packets per minute per node`);
}
await Promise.all(nodes.map((n) => n.stop()));
