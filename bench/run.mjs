// xppg loopback benchmark: every contender against RAW node:net, in one run.
//
//   pnpm bench                       (builds, then runs this file)
//   node bench/run.mjs --rounds=1 --duration=2 --only=raw-tcp,playground --phases=msgs,bulk
//   BENCH_CPU_PROF=/tmp/prof node bench/run.mjs ...   (a .cpuprofile per child process)
//
// Each measurement runs in two fresh child processes, the receiver and the
// sender, so each side has its own core and its own peak RSS, and no phase
// inherits another's heap. Progress goes to stderr, results to stdout and to
// bench/.results/latest.json. The bench reports misses; it never fails on one.
import { fork, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTENDER_NAMES, loadContender } from "./contenders/index.mjs";
import { formatReport } from "./report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, "child.mjs");
const RESULTS_DIR = join(HERE, ".results");
const RUN_TIMEOUT_MS = 30_000;

const args = parseArgs(process.argv.slice(2));
const rounds = intArg(args.rounds, 3, 1, 10);
const warmupMs = Math.round(numArg(args.warmup, 0.5, 0, 10) * 1000);
const durationMs = Math.round(numArg(args.duration, 2, 0.2, 30) * 1000);
const only = args.only ? args.only.split(",") : CONTENDER_NAMES;

/** The measures. `target` is the least ratio to the compared contender that passes. */
const PHASES = [
  { id: "msgs", title: "small messages, one way", kind: "flood", size: 100, target: 0.5 },
  { id: "rtt", title: "ping-pong round trip", kind: "pingpong", size: 100, warmupRounds: 1000, rounds: 5000, maxMs: 10_000 },
  { id: "bulk", title: "bulk 64 KiB messages, one way", kind: "flood", size: 64 * 1024, target: 0.7 },
];
const phases = args.phases ? PHASES.filter((p) => args.phases.split(",").includes(p.id)) : PHASES;

const contenders = [];
for (const name of only) contenders.push(await loadContender(name));
for (const c of contenders) {
  if (c.compareTo !== null && !contenders.some((o) => o.name === c.compareTo)) {
    throw new Error(`${c.name} is compared with ${c.compareTo}: include it in --only`);
  }
}

const total = rounds * phases.length * contenders.length;
let done = 0;
/** results[phaseId][contenderName] = array of per-round measurements */
const results = {};
const startedAt = new Date();
const loadAtStart = loadavg()[0];
if (loadAtStart > 0.5) process.stderr.write(`note: load average is ${loadAtStart.toFixed(2)} before the bench: other work shares the cores, expect noise\n`);
for (let round = 1; round <= rounds; round++) {
  for (const phase of phases) {
    // The contenders alternate within a round, so slow drifts of the machine hit them alike.
    for (const c of contenders) {
      done++;
      const label = `[${String(done).padStart(2)}/${total}] round ${round}/${rounds}  ${phase.id.padEnd(4)}  ${c.name.padEnd(14)}`;
      const expectedMs = phase.kind === "flood" ? warmupMs + durationMs + 500 : 1500;
      const bar = progress(label, expectedMs);
      let m;
      try {
        m = await measure(c.name, phase);
      } catch (error) {
        m = { error: error.message };
      }
      bar.done(summary(phase, m));
      ((results[phase.id] ??= {})[c.name] ??= []).push(m);
    }
  }
}

const meta = {
  startedAt: startedAt.toISOString(),
  seconds: (Date.now() - startedAt.getTime()) / 1000,
  node: process.version,
  cpu: `${cpus()[0]?.model ?? "?"} x${cpus().length}`,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  git: gitInfo(),
  loadAverage: { start: loadAtStart, end: loadavg()[0] },
  rounds,
  warmupMs,
  durationMs,
  sendPolicy: "await every send (Connection contract backpressure, HWM 1 MiB)",
};
const report = formatReport({ meta, phases, contenders, results });
process.stdout.write(report.text);
mkdirSync(RESULTS_DIR, { recursive: true });
const json = JSON.stringify({ meta, phases, contenders: contenders.map(({ name, label, compareTo, notes }) => ({ name, label, compareTo, notes })), summary: report.summary, raw: results }, null, 2);
writeFileSync(join(RESULTS_DIR, "latest.json"), json);
writeFileSync(join(RESULTS_DIR, `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), json);
process.stderr.write(`results written to ${join("bench", ".results", "latest.json")}\n`);

/** Runs one phase for one contender in a fresh receiver and sender process. */
async function measure(contenderName, phase) {
  const phaseConfig = { ...phase, warmupMs, durationMs, sendMs: warmupMs + durationMs + 700 };
  const kids = [];
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const timer = setTimeout(() => kids.forEach((k) => k.kill("SIGKILL")), RUN_TIMEOUT_MS);
  try {
    const receiver = spawnChild({ role: "receiver", contenderName, phase: phaseConfig }, "receiver", contenderName, phase.id);
    kids.push(receiver);
    const { port } = await receiver.next("listening");
    const sender = spawnChild({ role: "sender", contenderName, phase: phaseConfig, port }, "sender", contenderName, phase.id);
    kids.push(sender);
    await Promise.all([receiver.next("connected"), sender.next("dialled")]);
    sender.send({ type: "go" });
    let result;
    if (phase.kind === "flood") {
      const [counted, sent] = await Promise.all([receiver.next("result"), sender.next("sent")]);
      result = {
        messagesPerSecond: counted.messages / counted.seconds,
        megabytesPerSecond: counted.bytes / counted.seconds / 1e6,
        received: counted.messages,
        windowSeconds: counted.seconds,
        sent: sent.messages,
        receiverCpu: counted.cpuShare,
        senderCpu: sent.cpuShare,
        // CPU time per message: unlike the rates, hardly moved by other work on the machine.
        senderCpuUsPerMessage: (sent.cpuSeconds / sent.messages) * 1e6,
        receiverCpuUsPerMessage: (counted.cpuSeconds / counted.messages) * 1e6,
      };
    } else {
      const { type: _type, ...rtt } = await sender.next("result");
      result = rtt;
    }
    receiver.send({ type: "finish" });
    sender.send({ type: "finish" });
    const [rf, sf] = await Promise.all([receiver.next("final"), sender.next("final")]);
    result.rssReceiverBytes = rf.maxRssBytes;
    result.rssSenderBytes = sf.maxRssBytes;
    await Promise.all(kids.map((k) => k.exited));
    // CPU the rest of the machine used meanwhile: other people's work competing for the two cores.
    const self = process.cpuUsage(self0);
    const ours = rf.cpuSeconds + sf.cpuSeconds + (self.user + self.system) / 1e6;
    const busy = machineBusySeconds();
    if (busy !== null && machine0 !== null) result.foreignCpuShare = Math.max(0, busy.busy - machine0.busy - ours) / ((busy.wall - machine0.wall) / 1000);
    return result;
  } finally {
    clearTimeout(timer);
    for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill("SIGKILL");
  }
}

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat), with the wall time read. */
function machineBusySeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8");
    const v = f.slice(0, f.indexOf("\n")).trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const busy = v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4];
    return { busy: busy / 100, wall: Date.now() }; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function spawnChild(config, role, contenderName, phaseId) {
  const execArgv = [];
  if (process.env.BENCH_CPU_PROF) {
    execArgv.push("--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${contenderName}-${phaseId}-${role}-${process.hrtime.bigint()}.cpuprofile`);
  }
  const child = fork(CHILD, [JSON.stringify(config)], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const inbox = [];
  const waiting = [];
  let failure = null;
  const fail = (error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  child.on("message", (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("exit", (code, signal) => fail(new Error(`${role} of ${contenderName} exited (${signal ?? code})`)));
  child.once("error", fail);
  child.next = (type) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => waiting.push({ type, resolve, reject }));
  };
  return child;
}

function summary(phase, m) {
  if (m.error) return `FAILED: ${m.error}`;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const cpu = m.senderCpu === undefined ? "" : `  (cpu: sender ${pct(m.senderCpu)}, receiver ${pct(m.receiverCpu)})`;
  const other = m.foreignCpuShare === undefined ? "" : `  [other processes: ${pct(m.foreignCpuShare)} of a core]`;
  if (phase.id === "msgs") return `${Math.round(m.messagesPerSecond).toLocaleString("en-US")} msg/s${cpu}${other}`;
  if (phase.id === "bulk") return `${m.megabytesPerSecond.toFixed(0)} MB/s${cpu}${other}`;
  return `median ${m.medianUs.toFixed(1)} us, p99 ${m.p99Us.toFixed(1)} us${other}`;
}

/** A one-line progress bar on stderr (redrawn only on a terminal). */
function progress(label, expectedMs) {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  const draw = () => {
    const f = Math.min(1, (Date.now() - start) / expectedMs);
    const n = Math.round(f * 20);
    process.stderr.write(`\r${label} [${"#".repeat(n)}${"-".repeat(20 - n)}]`);
  };
  const tick = tty ? setInterval(draw, 200) : null;
  if (tty) draw();
  return {
    done(text) {
      if (tick) clearInterval(tick);
      process.stderr.write(`${tty ? "\r" : ""}${label} ${text}${tty ? "\x1b[K" : ""}\n`);
    },
  };
}

function gitInfo() {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: HERE, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "../packages"], { cwd: HERE, encoding: "utf8" }).trim();
    return dirty === "" ? rev : `${rev} (packages/ has uncommitted changes)`;
  } catch {
    return "unknown";
  }
}

function parseArgs(argv) {
  const out = {};
  for (const a of argv) {
    const m = /^--([a-z]+)=(.*)$/.exec(a);
    if (m === null) throw new Error(`unknown argument ${a}; use --rounds=N --warmup=S --duration=S --only=a,b --phases=msgs,rtt,bulk`);
    out[m[1]] = m[2];
  }
  return out;
}

function numArg(value, fallback, min, max) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`expected a number from ${min} to ${max}, got ${value}`);
  return n;
}

function intArg(value, fallback, min, max) {
  const n = numArg(value, fallback, min, max);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${value}`);
  return n;
}
