// What the bulk receiver holds at its peak RSS, by part (issue 15: "peak RSS
// of each side in the bulk test at most 100 MiB"). The bench's bulk phase
// reports only the peak (ru_maxrss); this runs the same flood (a sender that
// awaits every send of a 64 KiB message, each side a process of its own, the
// contender modules of `bench/contenders`) and samples the receiver's memory
// every 2 ms. At the sample of highest RSS it reads /proc/self/smaps and the
// V8 heap's spaces, and prints what the resident set was made of then:
//
//   node     pages of the node binary (its code and read-only data)
//   v8 heap  V8's heap pages (the sum of its spaces' physical sizes), of which new space,
//            and the new space's capacity (V8 doubles it once enough bytes have
//            survived its collections since it last grew, about as many as it holds)
//   anon     other anonymous memory (thread stacks, V8's compiler zones, large mallocs)
//   malloc   the C heap ([heap]: ArrayBuffer backing stores below glibc's mmap threshold)
//   addons   native addons (.node files), and other shared libraries
//
// and, over the run: the largest `external` (ArrayBuffers' memory and the
// like), the young-generation collections, MB/s and CPU per message on each
// side. Contenders run in turns, `--rounds` times, so that all are measured
// in the same minutes (other work on the machine moves these figures: the
// load average is printed with them).
//
//   node bench/rss-peak.mjs [--only=raw-tcp,playground,playground-plain] [--rounds=2] [--seconds=2] [--size=65536]
//                           [--receiver-flags=--max-semi-space-size=1,...]
//
// `--receiver-flags` gives the receivers (only) Node or V8 flags, comma-separated,
// to see what a collector setting does to the peak; the table then is not the bench's.
//
// Linux only (it reads /proc); elsewhere it says so and exits.
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { CONTENDER_NAMES, loadContender } from "./contenders/index.mjs";
import { smapsParts } from "./smaps.mjs";

const HOST = "127.0.0.1";
const SAMPLE_MS = 2;
/** smaps is read again only once RSS has grown this much past the last read (reading it costs a few ms). */
const SMAPS_STEP_BYTES = 256 * 1024;
const MiB = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

const [, , role, ...rest] = process.argv;
if (role === "--receiver") await receiver(JSON.parse(rest[0]));
else if (role === "--sender") await sender(JSON.parse(rest[0]));
else await main(process.argv.slice(2));

async function main(argv) {
  const args = Object.fromEntries(argv.map((a) => /^--([a-z-]+)=(.*)$/.exec(a)?.slice(1) ?? [a, ""]));
  for (const key of Object.keys(args)) {
    if (!["only", "rounds", "seconds", "size", "receiver-flags"].includes(key)) {
      console.error(`unknown flag ${key}\nusage: node bench/rss-peak.mjs [--only=a,b] [--rounds=N] [--seconds=S] [--size=BYTES] [--receiver-flags=F,G]`);
      process.exit(2);
    }
  }
  if (!existsSync("/proc/self/smaps")) {
    console.log("rss-peak: needs /proc/self/smaps (Linux); nothing measured here");
    return;
  }
  const names = (args.only ?? "raw-tcp,playground,playground-plain").split(",");
  for (const name of names) if (!CONTENDER_NAMES.includes(name)) throw new Error(`unknown contender "${name}" (known: ${CONTENDER_NAMES.join(", ")})`);
  const rounds = Number(args.rounds ?? 2);
  const seconds = Number(args.seconds ?? 2);
  const size = Number(args.size ?? 64 * 1024);
  const receiverFlags = (args["receiver-flags"] ?? "").split(",").filter(Boolean);
  console.log(`rss-peak: ${size} B messages, ${seconds} s per flood, ${rounds} round(s), load average ${loadavg()[0].toFixed(2)} at start`);
  if (receiverFlags.length > 0) console.log(`receivers run with ${receiverFlags.join(" ")}`);
  const rows = [];
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      const r = await measure({ name, seconds, size, receiverFlags });
      rows.push({ name, round, ...r });
      console.log(`  round ${round} ${name}: peak ${r.peakRss} MiB (load ${loadavg()[0].toFixed(2)})`);
    }
  }
  printTable(rows);
  console.log(`load average ${loadavg()[0].toFixed(2)} at the end`);
}

async function measure({ name, seconds, size, receiverFlags }) {
  const self = new URL(import.meta.url).pathname;
  const r = fork(self, ["--receiver", JSON.stringify({ name, size })], { execArgv: [...process.execArgv, ...receiverFlags] });
  const port = await nextMessage(r, "listening").then((m) => m.port);
  const s = fork(self, ["--sender", JSON.stringify({ name, size, seconds, port })]);
  const sent = await nextMessage(s, "sent");
  r.send({ type: "stop" });
  const got = await nextMessage(r, "result");
  s.kill();
  r.kill();
  return { ...got, senderCpuUsPerMessage: sent.cpuUsPerMessage, senderPeakRss: sent.peakRss };
}

function nextMessage(child, type) {
  return new Promise((resolve, reject) => {
    child.on("message", (m) => m?.type === type && resolve(m));
    child.once("exit", (code) => reject(new Error(`a child exited (${code}) before "${type}"`)));
  });
}

/** The resident set by part (see the top of this file), in MiB. */
function composition() {
  const parts = smapsParts();
  let heap = 0;
  let young = 0;
  let youngCapacity = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    heap += space.physical_space_size;
    if (space.space_name === "new_space") {
      young = space.physical_space_size;
      youngCapacity = space.space_size;
    }
  }
  // V8's heap pages are anonymous mappings: counted once, under "v8 heap" (its committed size, which can
  // exceed what is resident by a little: the rest is then read as 0).
  return { node: MiB(parts.node), v8Heap: MiB(heap), newSpace: MiB(young), newCapacity: MiB(youngCapacity), anon: MiB(Math.max(0, parts.anon - heap)), malloc: MiB(parts.malloc), addons: MiB(parts.addons) };
}

async function receiver({ name, size }) {
  const contender = await loadContender(name);
  let messages = 0;
  let bytes = 0;
  const server = await contender.listen({ host: HOST, onMessage: (p) => (messages++, (bytes += p.byteLength)), phase: { id: "bulk", kind: "flood", size } });
  process.send({ type: "listening", port: server.port });
  await server.connected;
  const atConnection = { rss: MiB(process.memoryUsage().rss), ...composition() };
  let scavenges = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry.detail?.kind ?? entry.kind) === 1) scavenges++;
  }).observe({ entryTypes: ["gc"] });
  let peak = { rss: 0 };
  let lastRead = 0;
  let maxExternal = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.external > maxExternal) maxExternal = m.external;
    if (m.rss <= peak.rss) return;
    peak = { ...peak, rss: m.rss, external: m.external, messages };
    if (m.rss >= lastRead + SMAPS_STEP_BYTES) {
      lastRead = m.rss;
      peak = { ...peak, ...composition(), readAt: m.rss };
    }
  }, SAMPLE_MS);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((resolve) => process.on("message", (m) => m?.type === "stop" && resolve()));
  clearInterval(timer);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  process.send({
    type: "result",
    peakRss: MiB(process.resourceUsage().maxRSS * 1024),
    atConnection,
    atPeak: { ...peak, rss: MiB(peak.rss), external: MiB(peak.external), readAt: MiB(peak.readAt ?? 0) },
    maxExternal: MiB(maxExternal),
    scavenges,
    messages,
    megabytesPerSecond: Math.round(bytes / elapsed / 1e6),
    cpuUsPerMessage: Math.round(((cpu.user + cpu.system) / Math.max(1, messages)) * 10) / 10,
  });
  await server.close();
}

async function sender({ name, size, seconds, port }) {
  const contender = await loadContender(name);
  const peer = await contender.dial({ host: HOST, port, onMessage: () => {}, phase: { id: "bulk", kind: "flood", size } });
  const payload = new Uint8Array(size).fill(0x5a);
  const deadline = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  let sent = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 256; i++) await peer.send(payload);
    sent += 256;
  }
  const cpu = process.cpuUsage(cpu0);
  process.send({ type: "sent", cpuUsPerMessage: Math.round(((cpu.user + cpu.system) / sent) * 10) / 10, peakRss: MiB(process.resourceUsage().maxRSS * 1024) });
  await new Promise(() => {}); // the parent ends this process
}

function printTable(rows) {
  const head = ["contender", "round", "peak", "at conn.", "node", "v8 heap (new)", "new cap.", "anon", "malloc", "addons", "max external", "scavenges", "MB/s", "CPU us/msg rcv/snd", "sender peak"];
  const body = rows.map((r) => {
    const p = r.atPeak;
    const c = r.atConnection;
    return [
      r.name,
      String(r.round),
      String(r.peakRss),
      String(c.rss),
      `${p.node} (${c.node})`,
      `${p.v8Heap} (${p.newSpace}) (${c.v8Heap})`,
      `${p.newCapacity} (${c.newCapacity})`,
      `${p.anon} (${c.anon})`,
      `${p.malloc} (${c.malloc})`,
      `${p.addons} (${c.addons})`,
      String(r.maxExternal),
      String(r.scavenges),
      String(r.megabytesPerSecond),
      `${r.cpuUsPerMessage} / ${r.senderCpuUsPerMessage}`,
      String(r.senderPeakRss),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(`\nreceiver, MiB: the peak (ru_maxrss), RSS at connection, and by part at the sample of highest RSS (at connection in parentheses)`);
  console.log(line(head));
  for (const b of body) console.log(line(b));
}
