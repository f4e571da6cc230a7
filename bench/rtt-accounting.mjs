// Where a round trip's CPU goes, per side: the `rtt` phase's ping-pong (a
// 100 B message and its echo, each side in a process of its own, both pinned
// to one core as the phase pins them) over a fixed count of round trips after
// a warm-up, read from the kernel at the round trip where the count starts and
// at the one where it ends (no IPC in between):
//
//   user, sys    the process's user and system time (getrusage)
//   main, other  the main thread's time on a CPU and the other threads'
//                (/proc/self/task/*/schedstat): V8's background compiler
//                and GC helpers, libuv's pool
//   vol, invol   voluntary and involuntary context switches
//   latency      the sender's median round trip; with `--idle-every=K` the
//                sender pauses 4 ms every K round trips (the `rtt` phase's
//                pairs wait that way while the others take their turn),
//                and "first" is the median of the first round trip after a
//                pause, "2nd" of the second, beside the median of the rest
//
// Every figure is per round trip, in microseconds (switches: a count); each
// contender is measured `--rounds` times, the contenders in turns (the order
// reversed every other round), and a figure is the median over its rounds.
// The machine's other work moves these figures by more than 10% between
// rounds: compare contenders run in the same minutes, several rounds.
//
//   node bench/rtt-accounting.mjs [--only=raw-tcp,secret-stream,playground] [--warmup=3000]
//                                 [--count=15000] [--idle-every=0] [--rounds=3]
import { fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadContender } from "./contenders/index.mjs";
import { pinnedFork, pinPlan } from "./rtt.mjs";

const HOST = "127.0.0.1";
const SIZE = 100;
const IDLE_MS = 4;
const SELF = fileURLToPath(import.meta.url);
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const intArg = (name, fallback, min) => {
  const n = args[name] === undefined ? fallback : Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number of at least ${min}`);
  return n;
};

/** This process's CPU, by thread and in all, at one instant. */
function snapshot() {
  let mainNs = 0;
  let otherNs = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    let ns;
    try {
      ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      continue; // a thread that ended while being read
    }
    if (tid === String(process.pid)) mainNs += ns;
    else otherNs += ns;
  }
  const ru = process.resourceUsage();
  return { mainNs, otherNs, userUs: ru.userCPUTime, sysUs: ru.systemCPUTime, vol: ru.voluntaryContextSwitches, invol: ru.involuntaryContextSwitches };
}

/** The CPU between two snapshots, per round trip. */
function perRoundTrip(a, b, count) {
  const per = (x) => x / count;
  return {
    user: per(b.userUs - a.userUs),
    sys: per(b.sysUs - a.sysUs),
    main: per((b.mainNs - a.mainNs) / 1000),
    other: per((b.otherNs - a.otherNs) / 1000),
    vol: per(b.vol - a.vol),
    invol: per(b.invol - a.invol),
  };
}

const median = (values) => {
  const s = values.filter((v) => v !== null && Number.isFinite(v)).sort((x, y) => x - y);
  return s.length === 0 ? null : s[s.length >> 1];
};

async function child(role, name, warmup, count, idleEvery, port) {
  const contender = await loadContender(name);
  const phase = { kind: "pingpong", size: SIZE };
  if (role === "receiver") {
    let peer = null;
    const early = [];
    let seen = 0;
    let start = null;
    const onMessage = (payload) => {
      if (peer === null) return void early.push(payload); // the first one may come before `connected` resolves
      seen++;
      if (seen === warmup + 1) start = snapshot();
      void peer.send(payload);
      if (seen === warmup + count) process.send({ side: "receiver", ...perRoundTrip(start, snapshot(), count) });
    };
    const server = await contender.listen({ host: HOST, onMessage, options: {}, phase });
    process.send({ port: server.port });
    peer = await server.connected;
    for (const payload of early.splice(0)) onMessage(payload);
    return;
  }
  let resolveReply = null;
  const peer = await contender.dial({ host: HOST, port, options: {}, phase, onMessage: () => resolveReply?.() });
  const payload = new Uint8Array(SIZE).fill(0x5a);
  const afterIdle = [[], []];
  const rest = [];
  let start = null;
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) start = snapshot();
    const sinceIdle = idleEvery > 0 ? (i - warmup) % idleEvery : -1;
    if (i > warmup && sinceIdle === 0) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const reply = new Promise((resolve) => (resolveReply = resolve));
    const t0 = performance.now();
    await peer.send(payload);
    await reply;
    if (i < warmup) continue;
    const us = (performance.now() - t0) * 1000;
    if (sinceIdle === 0 || sinceIdle === 1) afterIdle[sinceIdle].push(us);
    else rest.push(us);
  }
  const cpu = perRoundTrip(start, snapshot(), count);
  process.send({ side: "sender", ...cpu, latency: median(rest), first: median(afterIdle[0]), second: median(afterIdle[1]) });
}

/** One pair, one measurement: `{ sender, receiver }`. */
async function measure(name, warmup, count, idleEvery, core) {
  const spawn = (role, port) => fork(SELF, ["--child", role, name, String(warmup), String(count), String(idleEvery), String(port)], { ...pinnedFork(core, []), stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const receiver = spawn("receiver", 0);
  const result = {};
  try {
    const port = await new Promise((resolve, reject) => {
      receiver.once("message", (m) => resolve(m.port));
      receiver.once("exit", (code) => reject(new Error(`${name}: the receiver exited (${code}) before listening`)));
    });
    const sender = spawn("sender", port);
    try {
      await Promise.all(
        [receiver, sender].map(
          (p) =>
            new Promise((resolve, reject) => {
              p.on("message", (m) => {
                if (m.side === undefined) return;
                result[m.side] = m;
                resolve();
              });
              p.once("exit", (code) => reject(new Error(`${name}: a side exited (${code}) before its figures`)));
            }),
        ),
      );
    } finally {
      sender.kill();
    }
  } finally {
    receiver.kill();
  }
  return result;
}

async function main() {
  const only = (args.only ?? "raw-tcp,secret-stream,playground").split(",").filter(Boolean);
  const warmup = intArg("warmup", 3000, 0);
  const count = intArg("count", 15000, 100);
  const idleEvery = intArg("idle-every", 0, 0);
  const rounds = intArg("rounds", 3, 1);
  const plan = pinPlan("same");
  const core = plan.cores === null ? null : plan.cores[0];
  console.log(`rtt accounting: ${warmup} warm-up round trips, then ${count} counted; ${idleEvery > 0 ? `a ${IDLE_MS} ms pause every ${idleEvery}` : "no pauses"}; ${rounds} round(s), contenders in turns; ${core === null ? plan.reason : `both sides pinned to core ${core}`}`);
  const results = new Map(only.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? only : [...only].reverse();
    for (const name of order) results.get(name).push(await measure(name, warmup, count, idleEvery, core));
  }
  const fields = ["user", "sys", "main", "other", "vol", "invol"];
  const header = ["contender", "side", ...fields, "latency", "first", "2nd"];
  const rows = [header];
  for (const [name, runs] of results) {
    for (const side of ["sender", "receiver"]) {
      const m = (field) => median(runs.map((r) => r[side][field] ?? null));
      const fmt = (v, digits = 1) => (v === null ? "-" : v.toFixed(digits));
      rows.push([name, side, ...fields.map((f) => fmt(m(f), f === "vol" || f === "invol" ? 2 : 1)), fmt(m("latency")), fmt(m("first")), fmt(m("second"))]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
  console.log("us per round trip (vol, invol: context switches per round trip); median over rounds; latency: the sender's median round trip in us");
}

if (process.argv[2] === "--child") {
  const [, , , role, name, warmup, count, idleEvery, port] = process.argv;
  await child(role, name, Number(warmup), Number(count), Number(idleEvery), Number(port));
} else {
  await main();
}
