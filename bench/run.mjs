// xppg loopback benchmark: every contender against RAW node:net, in one run.
//
//   pnpm bench                       (builds, then runs this file)
//   node bench/run.mjs --rounds=1 --duration=2 --only=raw-tcp,playground --phases=msgs,bulk
//   node bench/run.mjs --help        (every flag)
//   BENCH_CPU_PROF=/tmp/prof node bench/run.mjs ...   (a .cpuprofile per child process)
//
// Each measurement runs in two fresh child processes, the receiver and the
// sender, so each side has its own core and its own peak RSS, and no phase
// inherits another's heap. Progress goes to stderr, results to stdout and to
// bench/.results/latest.json. The bench reports misses; it never fails on one.
import { fork, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTENDER_NAMES, loadContender } from "./contenders/index.mjs";
import { formatReport } from "./report.mjs";
import { formatFilesReport, runFilesBench } from "./files.mjs";
import { measureRttRound, PIN_MODES, pinnedFork, pinPlan, seededRandom } from "./rtt.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, "child.mjs");
/** Where results go: bench/.results, or BENCH_RESULTS_DIR (the bench's own tests write to a folder of their own). */
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR || join(HERE, ".results");
const RUN_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 3_000;
const SETUP_MAX_MS = 20_000;
/** The longest one round of the rtt phase may take, every contender's pairs together, before they are stopped. */
const RTT_ROUND_MAX_MS = 180_000;
/** Fresh client processes per contender and round in the first-connection phase (their median is the round's figure). */
const FIRST_PROCESSES = 5;
const KNOWN_FLAGS = ["rounds", "warmup", "duration", "connects", "only", "phases", "tlssuite", "filemib", "pin", "rttblock", "rttblocks", "rttpairs", "rttseed"];
const USAGE = `usage: node bench/run.mjs [--rounds=N] [--warmup=S] [--duration=S] [--connects=N] [--only=a,b] [--phases=msgs,rtt,bulk,setup,first] [--tlssuite=NAME]
  --rounds=N      rounds; each runs every phase for every contender (default 3; 5 for steadier medians)
  --warmup=S      seconds a flood runs before the receiver starts counting (default 0.5)
  --duration=S    seconds a flood is counted (default 1.5)
  --connects=N    counted connects per contender and round in the setup phase (default 200; 10 more warm up)
  --only=a,b      contenders (default all: ${CONTENDER_NAMES.join(", ")})
  --phases=a,b    phases (default all: msgs, rtt, bulk, setup, first, files)
  --filemib=N     the files phase's file size in MiB (default 1024): one seeder to one leecher, then to four
  --pin=MODE      rtt: where each pair's two processes run: same (one core, default), split (a core each), none
  --rttblock=N    rtt: round trips per block (default 100); the contenders take turns block by block
  --rttblocks=N   rtt: counted blocks per pair and round (default 100; 2000 round trips warm up first)
  --rttpairs=N    rtt: pairs of processes per contender and round (default 2), each counted as a round
  --rttseed=N     rtt: the seed of each cycle's random order (default: drawn and printed; give it to repeat the orders)
  --tlssuite=S    raw-tls's TLS 1.3 suite (default TLS_CHACHA20_POLY1305_SHA256, the AEAD of xppg's Noise;
                  TLS_AES_128_GCM_SHA256 or TLS_AES_256_GCM_SHA384 for AES-GCM)
env: BENCH_CPU_PROF=<dir>  a V8 .cpuprofile per child process (summarise: node bench/profile-summary.mjs <file>)
     BENCH_RESULTS_DIR=<dir>  where the results go (default bench/.results)
     BENCH_CPU_PROF_INTERVAL=<us>  their sampling interval (V8 default 1000)
`;

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2));
const rounds = intArg(args.rounds, 3, 1, 10);
const warmupMs = Math.round(numArg(args.warmup, 0.5, 0, 10) * 1000);
const durationMs = Math.round(numArg(args.duration, 1.5, 0.2, 30) * 1000);
const connects = intArg(args.connects, 200, 10, 5000);
const only = args.only ? args.only.split(",") : CONTENDER_NAMES;
if (args.pin !== undefined && !PIN_MODES.includes(args.pin)) throw new Error(`--pin is one of ${PIN_MODES.join(", ")}`);

/** The measures. Targets belong to the contenders (contenders/*.mjs), each naming its issue. */
const PHASES = [
  { id: "msgs", title: "small messages, one way", kind: "flood", size: 100 },
  // The contenders take turns in blocks over the same seconds (rtt.mjs says why and how).
  { id: "rtt", title: "ping-pong round trip", kind: "pingpong", size: 100, warmupRounds: 2000, block: intArg(args.rttblock, 100, 10, 10_000), blocks: intArg(args.rttblocks, 100, 5, 10_000), pairs: intArg(args.rttpairs, 2, 1, 8), maxMs: 30_000 },
  { id: "bulk", title: "bulk 64 KiB messages, one way", kind: "flood", size: 64 * 1024 },
  { id: "setup", title: "connection setup, handshakes included", kind: "setup", warmupConnects: 10, connects, maxMs: SETUP_MAX_MS },
  { id: "first", title: "first connection in a fresh process", kind: "first", processes: FIRST_PROCESSES },
];
const rttPin = pinPlan(args.pin ?? "same");
/** The seed of the rtt phase's block orders: printed, so that `--rttseed` repeats them. */
const rttSeed = args.rttseed === undefined ? Math.floor(Math.random() * 2 ** 31) : intArg(args.rttseed, 0, 0, 2 ** 32 - 1);
if (!args.phases || args.phases.split(",").includes("rtt")) {
  if (rttPin.reason !== null) process.stderr.write(`rtt: ${rttPin.reason}\n`);
  process.stderr.write(`rtt: block orders from seed ${rttSeed} (--rttseed=${rttSeed} repeats them)\n`);
}
const phases = args.phases ? PHASES.filter((p) => args.phases.split(",").includes(p.id)) : PHASES;
/** The swarm file phase runs once, after the others, against the Playground's bulk rate of this run. */
const filesPhase = !args.phases || args.phases.split(",").includes("files");
const fileMiB = intArg(args.filemib, 1024, 1, 16384);
if (phases.length === 0 && !filesPhase) throw new Error(`--phases names none of ${[...PHASES.map((p) => p.id), "files"].join(", ")}`);

const cpuProfDir = prepareCpuProfDir(process.env.BENCH_CPU_PROF);
const contenders = [];
/** Contenders that cannot run on this machine, with the reason: printed, never silently dropped. */
const skipped = [];
/** Per contender: the options its `prepare` made, handed to every child. */
const prepared = new Map();
for (const name of only) {
  const c = await loadContender(name);
  if (c.prepare !== undefined) {
    const p = await c.prepare({ args });
    if (p.skip !== undefined) {
      skipped.push({ name: c.name, reason: p.skip });
      process.stderr.write(`${c.name} is skipped: ${p.skip}\n`);
      continue;
    }
    prepared.set(c.name, p.options);
    if (p.notes !== undefined) {
      c.notes = [...c.notes, ...p.notes];
      for (const n of p.notes) process.stderr.write(`${c.name}: ${n}\n`);
    }
  }
  contenders.push(c);
}
for (const c of contenders) {
  if (c.compareTo !== null && !contenders.some((o) => o.name === c.compareTo)) {
    throw new Error(`${c.name} is compared with ${c.compareTo}: include it in --only`);
  }
}

const total = rounds * phases.reduce((n, p) => n + (p.kind === "pingpong" ? 1 : contenders.length), 0);
let done = 0;
/** results[phaseId][contenderName] = array of per-round measurements */
const results = {};
const startedAt = new Date();
const loadAtStart = loadavg()[0];
if (loadAtStart > 0.5) process.stderr.write(`note: load average is ${loadAtStart.toFixed(2)} before the bench: other work shares the cores, expect noise\n`);
for (let round = 1; round <= rounds; round++) {
  for (const phase of phases) {
    if (phase.kind === "pingpong") {
      done++;
      await rttRound(phase, round);
      continue;
    }
    // The contenders take turns within a round, so slow drifts of the machine hit them alike; every other
    // round in the reverse order, so that none is always the one measured later in its round.
    for (const c of round % 2 === 1 ? contenders : [...contenders].reverse()) {
      done++;
      const label = `[${String(done).padStart(2)}/${total}] round ${round}/${rounds}  ${phase.id.padEnd(5)}  ${c.name.padEnd(16)}`;
      const expectedMs = phase.kind === "flood" ? warmupMs + durationMs + 1000 : phase.kind === "setup" ? 2500 : phase.kind === "first" ? 2000 : 1500;
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
  connects,
  sendPolicy: "await every send (Connection contract backpressure, HWM 1 MiB)",
  rtt: phases.some((p) => p.kind === "pingpong") ? rttMethod() : null,
};
const report = formatReport({ meta, phases, contenders, results, skipped });
process.stdout.write(report.text);
let files = null;
if (filesPhase) {
  // The Playground's own bulk rate in this run is the yardstick (measured now if the bulk phase did not run).
  const bulkRuns = results.bulk?.playground ?? [(await measure("playground", PHASES.find((p) => p.id === "bulk")))];
  const rates = bulkRuns.filter((m) => m.megabytesPerSecond !== undefined).map((m) => m.megabytesPerSecond).sort((a, b) => a - b);
  const bulk = rates.length === 0 ? null : rates[rates.length >> 1];
  // The same from CPU per message on the busier side (moved less by other work on the machine).
  const cpuRates = bulkRuns.filter((m) => m.receiverCpuUsPerMessage > 0).map((m) => (64 * 1024) / Math.max(m.senderCpuUsPerMessage, m.receiverCpuUsPerMessage)).sort((a, b) => a - b);
  const bulkCpu = cpuRates.length === 0 ? null : cpuRates[cpuRates.length >> 1];
  try {
    files = await runFilesBench({ sizeBytes: fileMiB * 1024 * 1024, leechers: 4, bulkMegabytesPerSecond: bulk, bulkCpuBoundMegabytesPerSecond: bulkCpu });
    process.stdout.write(formatFilesReport(files));
  } catch (error) {
    files = { error: error.message };
    process.stdout.write(`files phase FAILED: ${error.message}\n`);
  }
}
mkdirSync(RESULTS_DIR, { recursive: true });
const json = JSON.stringify(
  { meta, phases, contenders: contenders.map(({ name, label, compareTo, alsoCompareTo, targets, notes }) => ({ name, label, compareTo, alsoCompareTo, targets, notes })), skipped, summary: report.summary, raw: results, files },
  null,
  2,
);
writeFileSync(join(RESULTS_DIR, "latest.json"), json);
writeFileSync(join(RESULTS_DIR, `results-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), json);
process.stderr.write(`results written to ${process.env.BENCH_RESULTS_DIR ? join(RESULTS_DIR, "latest.json") : join("bench", ".results", "latest.json")}\n`);
if (cpuProfDir !== null) reportCpuProfiles(cpuProfDir);

/** Runs one phase for one contender in a fresh receiver and sender process. */
async function measure(contenderName, phase) {
  const phaseConfig = { ...phase, warmupMs, durationMs, sendMs: warmupMs + durationMs + 700 };
  const options = prepared.get(contenderName);
  const kids = [];
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const reaped0 = reapedCpuSeconds();
  const timer = setTimeout(() => kids.forEach(stopChild), RUN_TIMEOUT_MS);
  try {
    const receiver = spawnChild({ role: "receiver", contenderName, phase: phaseConfig, options }, "receiver", contenderName, phase.id);
    kids.push(receiver);
    const { port } = await receiver.next("listening");
    if (phase.kind === "first") return await firstConnections(contenderName, phaseConfig, options, port, receiver, kids);
    const sender = spawnChild({ role: "sender", contenderName, phase: phaseConfig, options, port }, "sender", contenderName, phase.id);
    kids.push(sender);
    await Promise.all([receiver.next("connected"), sender.next("dialled")]);
    if (phase.kind === "setup") receiver.send({ type: "go" });
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
        // The event loop's busy share (not idle waiting for I/O) and the collector's share of the window, each side.
        receiverLoopBusy: counted.loopBusy,
        senderLoopBusy: sent.loopBusy,
        receiverGc: counted.gcShare,
        senderGc: sent.gcShare,
        // CPU time per message: unlike the rates, hardly moved by other work on the machine.
        senderCpuUsPerMessage: (sent.cpuSeconds / sent.messages) * 1e6,
        receiverCpuUsPerMessage: (counted.cpuSeconds / counted.messages) * 1e6,
        // Minor page faults per message (first touches of memory new to the process: a heap that grew, or was trimmed and grew again).
        senderFaultsPerMessage: sent.faults / sent.messages,
        receiverFaultsPerMessage: counted.faults / counted.messages,
        // A routed contender's forwarders, each in its own process, over the receiver's window (sender side first).
        ...(counted.hopCpuSeconds?.length > 0 ? { hopCpuUsPerMessage: counted.hopCpuSeconds.map((s) => (s / counted.messages) * 1e6) } : {}),
      };
    } else {
      // The setup phase: the sender's sequential connects, timed in the sender; the server is told to finish after them.
      const { type: _type, ...setup } = await sender.next("result");
      result = setup;
    }
    receiver.send({ type: "finish" });
    sender.send({ type: "finish" });
    const [rf, sf] = await Promise.all([receiver.next("final"), sender.next("final")]);
    if (phase.kind === "setup") result.serverCpuMsPerConnect = (rf.cpuSecondsSinceGo / (phase.warmupConnects + result.connects)) * 1000;
    result.rssReceiverBytes = rf.maxRssBytes;
    result.rssSenderBytes = sf.maxRssBytes;
    await Promise.all(kids.map((k) => k.exited));
    // CPU the rest of the machine used meanwhile: other people's work competing for the two cores.
    const self = process.cpuUsage(self0);
    const reaped = reapedCpuSeconds();
    const children = reaped !== null && reaped0 !== null ? reaped - reaped0 : rf.cpuSeconds + sf.cpuSeconds;
    const ours = children + (self.user + self.system) / 1e6;
    const busy = machineBusySeconds();
    if (busy !== null && machine0 !== null) result.foreignCpuShare = Math.max(0, busy.busy - machine0.busy - ours) / ((busy.wall - machine0.wall) / 1000);
    return result;
  } finally {
    clearTimeout(timer);
    for (const k of kids) stopChild(k);
  }
}

/**
 * One round of the rtt phase: every contender's pair connected up front,
 * then blocks of ping-pongs in turn (rtt.mjs).
 */
async function rttRound(phase, round) {
  const label = `[${String(done).padStart(2)}/${total}] round ${round}/${rounds}  ${phase.id.padEnd(5)}  ${"all, in turns".padEnd(16)}`;
  const bar = progress(label, 3000 * contenders.length);
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const reaped0 = reapedCpuSeconds();
  const phaseConfig = { ...phase, warmupMs, durationMs };
  const [receiverCore, senderCore] = rttPin.cores ?? [null, null];
  let childCpu = 0;
  const allKids = [];
  // Each pair's every step is bounded (rtt.mjs stops a pair that does not answer); the round as a whole is
  // bounded too: its watchdog stops the round (nothing in it waits any longer) and every process left.
  const stopRound = new AbortController();
  const watchdog = setTimeout(() => {
    stopRound.abort(new Error(`the round took longer than ${RTT_ROUND_MAX_MS / 1000} s and was stopped`));
    allKids.forEach(stopChild);
  }, RTT_ROUND_MAX_MS);
  const startPair = async (name) => {
    const options = prepared.get(name);
    const kids = [];
    const kill = () => kids.forEach(stopChild);
    const timer = setTimeout(kill, RUN_TIMEOUT_MS);
    try {
      const receiver = spawnChild({ role: "receiver", contenderName: name, phase: phaseConfig, options }, "receiver", name, phase.id, receiverCore);
      kids.push(receiver);
      allKids.push(receiver);
      const { port } = await receiver.next("listening");
      const sender = spawnChild({ role: "sender", contenderName: name, phase: phaseConfig, options, port }, "sender", name, phase.id, senderCore);
      kids.push(sender);
      allKids.push(sender);
      await Promise.all([receiver.next("connected"), sender.next("dialled")]);
      const stop = async () => {
        receiver.send({ type: "finish" });
        sender.send({ type: "finish" });
        const [rf, sf] = await Promise.all([receiver.next("final"), sender.next("final")]);
        await Promise.all(kids.map((k) => k.exited));
        childCpu += rf.cpuSeconds + sf.cpuSeconds;
        return { rssReceiverBytes: rf.maxRssBytes, rssSenderBytes: sf.maxRssBytes };
      };
      return { sender, receiver, stop, kill };
    } catch (error) {
      kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  let byName;
  try {
    // One generator per round, from the run's seed and the round's number: a round's orders repeat on their own.
    byName = await measureRttRound({ contenders, phase, startPair, random: seededRandom(rttSeed ^ Math.imul(round, 0x9e3779b9)), signal: stopRound.signal });
  } catch (error) {
    byName = new Map(contenders.map((c) => [c.name, [{ error: error.message }]]));
  } finally {
    clearTimeout(watchdog);
  }
  // Every process of the round gone (stopped ones too), so that the reaped children's CPU is all in.
  allKids.forEach(stopChild);
  await Promise.all(allKids.map((k) => k.exited));
  const self = process.cpuUsage(self0);
  const reaped = reapedCpuSeconds();
  // Ours: the pairs and what they started (forwarders, relays), as the kernel adds up reaped children.
  const children = reaped !== null && reaped0 !== null ? reaped - reaped0 : childCpu;
  const busy = machineBusySeconds();
  const foreign = busy !== null && machine0 !== null ? Math.max(0, busy.busy - machine0.busy - children - (self.user + self.system) / 1e6) / ((busy.wall - machine0.wall) / 1000) : undefined;
  const lines = [];
  for (const c of contenders) {
    for (const slot of byName.get(c.name) ?? [null]) {
      const m = slot ?? { error: "not measured" };
      if (m.error === undefined && foreign !== undefined) m.foreignCpuShare = foreign;
      ((results[phase.id] ??= {})[c.name] ??= []).push(m);
      lines.push(`    ${c.name.padEnd(22)} ${summary(phase, m)}`);
    }
  }
  bar.done(`${[...byName.values()].flat().find((m) => m?.blocks !== undefined)?.blocks ?? 0} blocks of ${phase.block} per pair`);
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** How the rtt phase measured, printed with the results. */
function rttMethod() {
  const rtt = phases.find((p) => p.kind === "pingpong");
  const pin =
    rttPin.cores === null
      ? `not pinned (${rttPin.reason})`
      : rttPin.mode === "same"
        ? `both processes of a pair pinned to core ${rttPin.cores[0]} (taskset): work a side does after replying is in the round trip, not overlapped (run again with --pin=split for the figure with a core each)`
        : `receiver on core ${rttPin.cores[0]}, sender on core ${rttPin.cores[1]} (taskset)`;
  return {
    block: rtt.block,
    pairs: rtt.pairs,
    blocks: rtt.blocks,
    warmupRounds: rtt.warmupRounds,
    pin: rttPin.mode,
    seed: rttSeed,
    text:
      `rtt: ${rtt.pairs} pair(s) of processes per contender connected up front, then ${rtt.warmupRounds} warm-up round trips each, then blocks of ${rtt.block} round trips in turn ` +
      `(a random order each cycle, seed ${rttSeed} (--rttseed=${rttSeed} repeats it), up to ${rtt.blocks} cycles a round); each pair counts as a round; percentiles over a pair's round trips; a ratio is the median over cycles of the ratio of ` +
      `the two contenders' block medians in the same cycle (pair i against pair i), then the median over pairs and rounds; ${pin}`,
  };
}

/**
 * The first-connection phase: one server process, then `processes` fresh
 * client processes one after the other, each timing its first connection.
 * The round's figures are the medians over those processes.
 */
async function firstConnections(contenderName, phaseConfig, options, port, receiver, kids) {
  await receiver.next("connected");
  receiver.send({ type: "go" });
  const samples = [];
  let rssClient = 0;
  for (let i = 0; i < phaseConfig.processes; i++) {
    const client = spawnChild({ role: "sender", contenderName, phase: phaseConfig, options, port }, "sender", contenderName, phaseConfig.id);
    kids.push(client);
    await client.next("dialled");
    client.send({ type: "go" });
    samples.push(await client.next("result"));
    client.send({ type: "finish" });
    rssClient = Math.max(rssClient, (await client.next("final")).maxRssBytes);
    await client.exited;
  }
  receiver.send({ type: "finish" });
  const rf = await receiver.next("final");
  await receiver.exited;
  const med = (key) => {
    // A figure a sample could not read (null: NaN does not cross IPC) is left out, not sorted in as 0.
    const v = samples.map((s) => s[key]).filter(Number.isFinite).sort((a, b) => a - b);
    if (v.length === 0) return NaN;
    return v.length % 2 === 1 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  return {
    medianMs: med("totalMs"),
    minMs: Math.min(...samples.map((s) => s.totalMs)),
    maxMs: Math.max(...samples.map((s) => s.totalMs)),
    loadMs: med("loadMs"),
    clientMs: med("clientMs"),
    connectMs: med("connectMs"),
    cpuConnectMs: med("cpuConnectMs"),
    cpuClientMs: med("cpuClientMs"),
    cpuModuleLoadMs: med("cpuModuleLoadMs"),
    cpuMainMs: med("cpuMainMs"),
    processes: samples.length,
    rssSenderBytes: rssClient,
    rssReceiverBytes: rf.maxRssBytes,
  };
}

/**
 * Stops a child that is still running: SIGTERM first, which it turns into an
 * exit that still writes its CPU profile (SIGKILL writes none), then SIGKILL
 * if it is still there after a grace period.
 */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
  child.once("exit", () => clearTimeout(kill));
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

/**
 * CPU seconds of this process's children that have ended and been reaped, with theirs in turn
 * (Linux /proc/self/stat cutime + cstime): the bench's children and what they started, such as a
 * routed contender's forwarders or a relay, when their parent waited for them. Null off Linux.
 */
function reapedCpuSeconds() {
  try {
    const f = readFileSync("/proc/self/stat", "utf8");
    // After the command name's ")": state is field 3, cutime and cstime fields 16 and 17.
    const v = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(v[13]) + Number(v[14])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function spawnChild(config, role, contenderName, phaseId, core = null) {
  const execArgv = [];
  if (cpuProfDir !== null) {
    execArgv.push("--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${contenderName}-${phaseId}-${role}-${process.hrtime.bigint()}.cpuprofile`);
    // BENCH_CPU_PROF_INTERVAL=<us>: finer samples than V8's 1 ms, for a first connection's few milliseconds.
    if (process.env.BENCH_CPU_PROF_INTERVAL) execArgv.push(`--cpu-prof-interval=${Number(process.env.BENCH_CPU_PROF_INTERVAL)}`);
  }
  const child = fork(CHILD, [JSON.stringify(config)], { ...pinnedFork(core, execArgv), stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
  if (phase.kind === "first") {
    return `median ${m.medianMs.toFixed(1)} ms over ${m.processes} fresh processes (module load ${m.loadMs.toFixed(1)}, client ${m.clientMs.toFixed(1)}, connect ${m.connectMs.toFixed(1)} ms)${other}`;
  }
  if (phase.kind === "setup") {
    return `median ${m.medianMs.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms over ${m.connects} connects  (cpu per connect: client ${m.clientCpuMsPerConnect.toFixed(2)} ms, server ${m.serverCpuMsPerConnect.toFixed(2)} ms)${other}`;
  }
  const hops = m.hopCpuUsPerRoundTrip === undefined ? "" : `, forwarders ${m.hopCpuUsPerRoundTrip.map((x) => x.toFixed(1)).join(" / ")} us`;
  return `median ${m.medianUs.toFixed(1)} us, p90 ${m.p90Us.toFixed(1)} us, p99 ${m.p99Us.toFixed(1)} us  (cpu per round trip: sender ${m.senderCpuUsPerRoundTrip.toFixed(1)} us${hops}, receiver ${m.receiverCpuUsPerRoundTrip.toFixed(1)} us)${other}`;
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

/** The profile directory as an absolute path, made if missing (V8 writes nothing into a missing one); null when not profiling. */
function prepareCpuProfDir(dir) {
  if (dir === undefined || dir === "") return null;
  const abs = resolvePath(dir);
  mkdirSync(abs, { recursive: true });
  process.stderr.write(`CPU profiles go to ${abs} (one per child process; profiling slows the contenders: do not compare these figures)\n`);
  return abs;
}

/** Says how many profiles the children wrote, so a run that wrote none does not go unnoticed. */
function reportCpuProfiles(dir) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : [];
  if (files.length === 0) process.stderr.write(`warning: no .cpuprofile was written to ${dir}\n`);
  else process.stderr.write(`${files.length} .cpuprofile file(s) in ${dir}; summarise one with: node bench/profile-summary.mjs <file>\n`);
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
    if (m === null || !KNOWN_FLAGS.includes(m[1])) throw new Error(`unknown argument ${a}\n${USAGE}`);
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
