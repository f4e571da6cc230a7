// One side of one measurement, in its own process (forked by run.mjs, which
// talks to it over IPC). The receiver listens and counts or echoes; the
// sender dials and floods or ping-pongs. In the setup phase the receiver is a
// server that accepts every connection and the sender connects again and
// again, each time from a fresh client. Both report their peak RSS at the end.
//
// The send policy, identical for every contender: `await peer.send(payload)`
// for every message, which is the backpressure of the Connection contract.
import { readdirSync, readFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { loadContender } from "./contenders/index.mjs";

const HOST = "127.0.0.1";
const SETUP_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 1_000;
/** The collector's time in the window being counted (see gcWindow), declared before the top-level await below runs a role. */
let gc = null;

const config = JSON.parse(process.argv[2]);
const { role, contenderName, phase, options } = config;

process.on("disconnect", () => process.exit(0)); // the parent went away: never outlive it
// Stopped by the parent (a run that failed or took too long): exit() still writes a --cpu-prof profile.
process.on("SIGTERM", () => process.exit(143));

// The first-connection phase times the contender's module load too (wall clock and CPU).
const loadOthers0 = otherThreadsCpu();
const loadStart = performance.now();
const loadCpu0 = process.cpuUsage();
const contender = await loadContender(contenderName);
const loadMs = performance.now() - loadStart;
const loadCpu = process.cpuUsage(loadCpu0);
const loadOthers = otherThreadsCpuMsSince(loadOthers0);
let onMessage = () => {};
const deliver = (payload) => onMessage(payload);

if (phase.kind === "setup" || phase.kind === "first") {
  if (role === "receiver") await setupServer();
  else if (phase.kind === "first") await firstConnection();
  else await setupClients();
} else if (role === "receiver") await receiver();
else await sender();

/**
 * Starts counting the main thread's garbage collection from now; the
 * returned function ends the window now and resolves with its total in ms.
 * Entries come a turn late, so the total is read a turn after the end, and
 * only collections that started inside the window count (a sender still
 * flooding after a receiver's window does not inflate it). With the event
 * loop's utilization over the same window, it tells a side that waited
 * (idle: nothing to read, or a full socket to write to) from one that
 * worked, and how much of the work was the collector's.
 */
function gcWindow() {
  if (gc === null) {
    gc = { from: 0, to: Infinity, ms: 0 };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.startTime >= gc.from && entry.startTime < gc.to) gc.ms += entry.duration;
    }).observe({ entryTypes: ["gc"] });
  }
  gc.from = performance.now();
  gc.to = Infinity;
  gc.ms = 0;
  return async () => {
    gc.to = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    return gc.ms;
  };
}

async function receiver() {
  const server = await contender.listen({ host: HOST, onMessage: deliver, options, phase });
  report({ type: "listening", port: server.port });
  const peer = await withTimeout(server.connected, SETUP_TIMEOUT_MS, "no peer connected");
  if (phase.kind === "flood") countWindow(phase, peer);
  else {
    onMessage = (payload) => void peer.send(payload); // ping-pong: echo
    // The parent reads this side's CPU, and its forwarders' (a routed contender's processes of their
    // own), just before and just after each of this pair's counted blocks: the same span as the sender's.
    process.on("message", async (m) => {
      if (m?.type !== "cpu") return;
      const cpu = process.cpuUsage();
      const hopSeconds = peer.hopCpuSeconds === undefined ? [] : await peer.hopCpuSeconds();
      report({ type: "cpu", seconds: (cpu.user + cpu.system) / 1e6, hopSeconds });
    });
  }
  report({ type: "connected" });
  await finish(async () => {
    await peer.close();
    await server.close();
  });
}

/**
 * Counts messages over a fixed window that starts `warmupMs` after the first
 * message. A routed contender's forwarders (`peer.hopCpuSeconds`, processes
 * of their own) have their CPU read over the same window.
 */
function countWindow({ warmupMs, durationMs }, peer) {
  const hopCpu = () => (peer.hopCpuSeconds === undefined ? Promise.resolve([]) : peer.hopCpuSeconds());
  let count = 0;
  let bytes = 0;
  const arm = (payload) => {
    count = 1;
    bytes = payload.byteLength;
    onMessage = (p) => {
      count++;
      bytes += p.byteLength;
    };
    setTimeout(async () => {
      const hops0 = await hopCpu();
      const c0 = count;
      const b0 = bytes;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const faults0 = process.resourceUsage().minorPageFault;
      const loop0 = performance.eventLoopUtilization();
      const gcEnd = gcWindow();
      setTimeout(async () => {
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const faults = process.resourceUsage().minorPageFault - faults0;
        const loopBusy = performance.eventLoopUtilization(loop0).utilization;
        const messages = count - c0;
        const received = bytes - b0;
        const gcMs = await gcEnd();
        const hopCpuSeconds = (await hopCpu()).map((s, i) => s - hops0[i]);
        const cpuShare = (cpu.user + cpu.system) / 1e6 / seconds;
        const gcShare = gcMs / 1000 / seconds;
        report({ type: "result", messages, bytes: received, seconds, cpuShare, cpuSeconds: (cpu.user + cpu.system) / 1e6, faults, hopCpuSeconds, loopBusy, gcShare });
      }, durationMs);
    }, warmupMs);
  };
  onMessage = arm;
}

async function sender() {
  const peer = await withTimeout(contender.dial({ host: HOST, port: config.port, onMessage: deliver, options, phase }), SETUP_TIMEOUT_MS, "dial failed");
  const payload = new Uint8Array(phase.size).fill(0x5a);
  // Ping-pong takes no "go": its blocks are listened for before "dialled" is reported, so the
  // first one cannot arrive before its listener (it once did, when the two came in one IPC read).
  if (phase.kind === "pingpong") return await pingPongBlocks(peer, payload, () => report({ type: "dialled" }));
  report({ type: "dialled" });
  await nextMessage("go");
  if (phase.kind === "flood") {
    const r = await flood(peer, payload, performance.now() + phase.sendMs);
    report({ type: "sent", ...r });
    await finish(() => peer.close());
  }
}

/** Sends until the deadline, awaiting every send. The clock is read every 256 sends. */
async function flood(peer, payload, deadline) {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const loop0 = performance.eventLoopUtilization();
  const gcEnd = gcWindow();
  let sent = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 256; i++) await peer.send(payload);
    sent += 256;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  const loopBusy = performance.eventLoopUtilization(loop0).utilization;
  const gcShare = (await gcEnd()) / 1000 / seconds;
  return { messages: sent, seconds, cpuShare: (cpu.user + cpu.system) / 1e6 / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, faults, loopBusy, gcShare };
}

/**
 * Ping-pong in blocks, as the parent asks (rtt.mjs interleaves the
 * contenders' blocks): for each `{ type: "block", rounds }`, that many round
 * trips (one message out, wait for its echo), each timed, reported in
 * microseconds. Ends at the parent's "finish". `ready()` runs once the
 * parent's messages are listened for.
 */
async function pingPongBlocks(peer, payload, ready) {
  let resolveReply = null;
  onMessage = () => {
    const r = resolveReply;
    resolveReply = null;
    r?.();
  };
  const blocks = [];
  let wake = null;
  let finishing = false;
  const onParent = (m) => {
    if (m?.type === "block") blocks.push(m.rounds);
    else if (m?.type === "finish") finishing = true;
    else return;
    wake?.();
  };
  process.on("message", onParent);
  ready();
  while (true) {
    while (blocks.length === 0 && !finishing) await new Promise((resolve) => (wake = resolve));
    if (blocks.length === 0) break;
    const rounds = blocks.shift();
    const samples = new Array(rounds);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      const reply = new Promise((resolve) => (resolveReply = resolve));
      const t0 = performance.now();
      await peer.send(payload);
      await reply;
      samples[i] = (performance.now() - t0) * 1000;
    }
    const cpu = process.cpuUsage(cpu0);
    report({ type: "block", samples, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
  process.off("message", onParent);
  await finish(() => peer.close(), undefined, true);
}

/** The setup phase's server: accepts and completes every connection; its CPU is counted from "go" to "finish". */
async function setupServer() {
  const server = await contender.setupServer({ host: HOST, options });
  report({ type: "listening", port: server.port });
  report({ type: "connected" });
  await nextMessage("go");
  const cpu0 = process.cpuUsage();
  await finish(() => server.close(), cpu0);
}

/**
 * The setup phase's client side: `connects` sequential connections (after
 * `warmupConnects` uncounted ones), each from a fresh client made before the
 * clock starts and closed after it stops; bounded in count and time.
 */
async function setupClients() {
  report({ type: "dialled" });
  await nextMessage("go");
  const { warmupConnects, connects, maxMs } = phase;
  const deadline = performance.now() + maxMs;
  const samples = [];
  let cpuSeconds = 0;
  for (let i = 0; i < warmupConnects + connects && performance.now() < deadline; i++) {
    const client = await withTimeout(contender.setupClient({ options }), SETUP_TIMEOUT_MS, "client setup");
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await withTimeout(client.connect({ host: HOST, port: config.port }), SETUP_TIMEOUT_MS, `connect ${i + 1}`);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await withTimeout(client.close(), SETUP_TIMEOUT_MS, "client close");
    if (i >= warmupConnects) {
      samples.push(ms);
      cpuSeconds += (cpu.user + cpu.system) / 1e6;
    }
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  report({ type: "result", connects: samples.length, medianMs: at(0.5), p99Ms: at(0.99), minMs: samples[0], maxMs: samples.at(-1), clientCpuMsPerConnect: (cpuSeconds / samples.length) * 1000 });
  await finish(async () => {});
}

/**
 * CPU ns run so far by each of this process's threads other than the main
 * one, by thread id, from the kernel's per-thread counters (Linux
 * `/proc/self/task/<tid>/schedstat`: exact for a thread that is not running
 * at the read; the main thread's own is left out, as it lags by up to a
 * scheduler tick while it runs). A thread that exits during the read is
 * skipped. Undefined where they cannot be read.
 */
function otherThreadsCpu() {
  try {
    const byThread = new Map();
    for (const tid of readdirSync("/proc/self/task")) {
      if (tid === String(process.pid)) continue;
      try {
        byThread.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]));
      } catch (error) {
        if (error?.code !== "ENOENT") throw error;
      }
    }
    return byThread;
  } catch {
    return undefined;
  }
}

/**
 * CPU ms the other threads ran since `before` (an `otherThreadsCpu()`): of
 * the threads alive now, what they ran since then (all of it for a thread
 * started since). A thread that exited meanwhile is not counted: its CPU
 * in the window stays in the main thread's figure. NaN where unreadable.
 */
function otherThreadsCpuMsSince(before) {
  const now = otherThreadsCpu();
  if (before === undefined || now === undefined) return NaN;
  let ns = 0;
  for (const [tid, at] of now) ns += at - (before.get(tid) ?? 0);
  return ns / 1e6;
}

/**
 * The first-connection phase's client: this process is fresh, and its first
 * connection is timed from the start of the contender's module load (Node's
 * own start-up, the same for every contender, is left out) to the moment
 * messages can flow, in three parts: module load, the client's creation
 * (keys, node start) and the connect with its handshakes.
 */
async function firstConnection() {
  const cpuAtLoad = process.cpuUsage();
  report({ type: "dialled" });
  await nextMessage("go");
  const others0 = otherThreadsCpu();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const client = await withTimeout(contender.setupClient({ options }), SETUP_TIMEOUT_MS, "client setup");
  const t1 = performance.now();
  const cpuClient = process.cpuUsage(cpu0);
  await withTimeout(client.connect({ host: HOST, port: config.port }), SETUP_TIMEOUT_MS, "first connect");
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const others = otherThreadsCpuMsSince(others0);
  report({
    type: "result",
    loadMs,
    clientMs: t1 - t0,
    connectMs: t2 - t1,
    totalMs: loadMs + (t2 - t0),
    // CPU of the load (with Node's start-up before it), of the module load alone, and of client + connect:
    // moved far less than the wall clock by other work on the machine.
    cpuLoadMs: (cpuAtLoad.user + cpuAtLoad.system) / 1000,
    cpuModuleLoadMs: (loadCpu.user + loadCpu.system) / 1000,
    cpuConnectMs: (cpu.user + cpu.system) / 1000,
    // Of which the client's creation alone (keys, node start).
    cpuClientMs: (cpuClient.user + cpuClient.system) / 1000,
    // The same CPU (module load, client and connect) less what the process's other threads ran meanwhile (V8's
    // background compiler and GC helpers, libuv's pool): the main thread's, whose steps follow one another, so the
    // wall clock follows it, while the other threads' work may run beside it on another core. null off Linux
    // (sent as such: NaN would become null over IPC anyway).
    cpuMainMs: Number.isFinite(loadOthers + others) ? (loadCpu.user + loadCpu.system + cpu.user + cpu.system) / 1000 - loadOthers - others : null,
    processStartToConnectedMs: t2,
  });
  await withTimeout(client.close(), SETUP_TIMEOUT_MS, "client close").catch(() => {});
  await finish(async () => {});
}

/**
 * Waits for the parent's "finish" (unless `finishHeard`), reports the peak RSS and CPU (all of it,
 * and since `cpu0` when given), closes (bounded) and exits.
 */
async function finish(close, cpu0, finishHeard = false) {
  if (!finishHeard) await nextMessage("finish");
  // ru_maxrss: the kernel's high-water mark of this process's resident set, in KiB.
  const cpu = process.cpuUsage();
  const since = cpu0 === undefined ? undefined : process.cpuUsage(cpu0);
  report({
    type: "final",
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(since === undefined ? {} : { cpuSecondsSinceGo: (since.user + since.system) / 1e6 }),
  });
  await withTimeout(Promise.resolve().then(close), EXIT_TIMEOUT_MS, "close").catch(() => {});
  process.exit(0);
}

function report(message) {
  process.send(message);
}

function nextMessage(type) {
  return new Promise((resolve) => {
    const onMsg = (m) => {
      if (m?.type !== type) return;
      process.off("message", onMsg);
      resolve(m);
    };
    process.on("message", onMsg);
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
