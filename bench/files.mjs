// The swarm file bench (issue 12): a random file of `sizeBytes` from one
// seeder to one leecher, then to `leechers` leechers at once, each node a
// Playground (encrypted, the default; rate limits off, as in the bulk phase)
// in a process of its own on loopback. Reports MB/s, the share of the
// Playground's own bulk message rate, a ceiling measured in the same run
// (files-ceiling.mjs), what the leechers fetched from each other, and each
// process's peak RSS.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, closeSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chunkHashes, runCeiling } from "./files-ceiling.mjs";

const PEER = join(dirname(fileURLToPath(import.meta.url)), "files-peer.mjs");
const MiB = 1024 * 1024;
/** The bench fails no run, but a transfer that takes longer than this is stopped. */
const TIMEOUT_MS = 600_000;

function peer() {
  // BENCH_CPU_PROF=<dir>: a V8 .cpuprofile per process (summarise: node bench/profile-summary.mjs <file>).
  const prof = process.env.BENCH_CPU_PROF;
  const execArgv = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const child = fork(PEER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
  const inbox = [];
  const waiting = [];
  child.on("message", (m) => {
    if (m.type === "error") {
      for (const w of waiting.splice(0)) w.reject(new Error(`${m.code}: ${m.message}`));
      return;
    }
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.once("exit", (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`a files bench process exited (${signal ?? code})`));
  });
  child.next = (type) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => waiting.push({ type, resolve, reject }));
  };
  child.call = (m, type) => {
    child.send(m);
    return child.next(type);
  };
  return child;
}

/** Writes `size` random bytes, a MiB at a time. */
function randomFile(path, size) {
  const fd = openSync(path, "w");
  for (let at = 0; at < size; at += MiB) writeSync(fd, randomBytes(Math.min(MiB, size - at)));
  closeSync(fd);
}

/** One seeder and `count` leechers, all joined to each other; the time from the downloads' start to the last one's end. */
async function swarm(file, dir, count, label) {
  const nodes = [peer(), ...Array.from({ length: count }, () => peer())];
  const timer = setTimeout(() => nodes.forEach((n) => n.kill("SIGKILL")), TIMEOUT_MS);
  try {
    const ready = await Promise.all(nodes.map((n) => n.next("ready")));
    for (let i = 1; i < nodes.length; i++) for (let j = 0; j < i; j++) await nodes[i].call({ op: "join", port: ready[j].port }, "joined");
    const shared = await nodes[0].call({ op: "share", path: file }, "shared");
    const seederBefore = await nodes[0].call({ op: "cpu" }, "cpu");
    const started = performance.now();
    const done = await Promise.all(nodes.slice(1).map((n, i) => n.call({ op: "download", contentId: shared.contentId, dir: join(dir, `${label}-${i}`) }, "downloaded")));
    const seconds = (performance.now() - started) / 1000;
    const seederAfter = await nodes[0].call({ op: "cpu" }, "cpu");
    const seederCpuSeconds = seederAfter.cpuSeconds - seederBefore.cpuSeconds;
    const finals = await Promise.all(nodes.map((n) => n.call({ op: "finish" }, "final")));
    // Each process exits on its own after "final" (so a --cpu-prof profile gets written); the kill below is for the others.
    await Promise.all(nodes.map((n) => (n.exitCode !== null || n.signalCode !== null ? undefined : Promise.race([new Promise((r) => n.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]))));
    const seeder = ready[0].peerId;
    return {
      seconds,
      megabytesPerSecond: (shared.size * count) / seconds / 1e6,
      perLeecherSeconds: done.map((d) => d.seconds),
      fromOtherLeechers: done.map((d) => Object.entries(d.result.sources).reduce((n, [p, c]) => (p === seeder ? n : n + c), 0)),
      chunks: shared.chunkCount,
      chunkSize: shared.chunkSize,
      // CPU seconds each process spent during the downloads: less moved by other work on the machine than the wall-clock rate.
      seederCpuSeconds,
      leecherCpuSeconds: done.map((d) => d.cpuSeconds),
      // The main thread's share (the rest ran on the thread pool, beside it): null where the OS does not tell.
      seederMainCpuSeconds: seederAfter.mainCpuSeconds === null ? null : seederAfter.mainCpuSeconds - seederBefore.mainCpuSeconds,
      leecherMainCpuSeconds: done.map((d) => d.mainCpuSeconds),
      /** The rate if the busiest process had a core to itself (bytes over its CPU seconds). */
      cpuBoundMegabytesPerSecond: shared.size / Math.max(seederCpuSeconds / count, ...done.map((d) => d.cpuSeconds)) / 1e6,
      rssSeederBytes: finals[0].maxRssBytes,
      rssLeecherBytes: finals.slice(1).map((f) => f.maxRssBytes),
    };
  } finally {
    clearTimeout(timer);
    for (const n of nodes) if (n.exitCode === null && n.signalCode === null) n.kill("SIGKILL");
  }
}

/**
 * Runs both measures and returns them; `bulkMegabytesPerSecond` is the
 * encrypted Playground's bulk rate of the same run (for the 80% target).
 */
export async function runFilesBench({ sizeBytes = 1024 * MiB, leechers = 4, bulkMegabytesPerSecond = null, bulkCpuBoundMegabytesPerSecond = null, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "xppg-files-bench-"));
  try {
    const file = join(dir, "random.bin");
    log(`files: writing a ${Math.round(sizeBytes / MiB)} MiB random file...`);
    randomFile(file, sizeBytes);
    log("files: one seeder to one leecher...");
    const one = await swarm(file, dir, 1, "one");
    log("files: the ceiling (the same bytes as the Playground's bulk messages, hashed and written)...");
    const hashes = await chunkHashes(file, sizeBytes, one.chunkSize);
    const ceiling = await runCeiling({ path: file, size: sizeBytes, chunkSize: one.chunkSize, hashes, out: join(dir, "ceiling.bin") });
    log(`files: one seeder to ${leechers} leechers...`);
    const many = await swarm(file, dir, leechers, "many");
    return {
      sizeBytes,
      one,
      ceiling,
      many,
      leechers,
      bulkMegabytesPerSecond,
      shareOfBulk: bulkMegabytesPerSecond === null ? null : one.megabytesPerSecond / bulkMegabytesPerSecond,
      bulkCpuBoundMegabytesPerSecond,
      cpuShareOfBulk: bulkCpuBoundMegabytesPerSecond === null ? null : one.cpuBoundMegabytesPerSecond / bulkCpuBoundMegabytesPerSecond,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report's lines. */
export function formatFilesReport(r) {
  const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
  const size = `${Math.round(r.sizeBytes / MiB)} MiB`;
  const lines = [`## files, the swarm way (${size}, encrypted Playgrounds, rate limits off as in bulk, one process each)`];
  const share = r.shareOfBulk === null ? "" : `, ${(r.shareOfBulk * 100).toFixed(0)}% of the Playground's bulk rate (${r.bulkMegabytesPerSecond.toFixed(0)} MB/s; target 80%: ${r.shareOfBulk >= 0.8 ? "met" : "MISSED"})`;
  lines.push(`  one seeder -> one leecher: ${r.one.megabytesPerSecond.toFixed(0)} MB/s in ${r.one.seconds.toFixed(1)} s${share}`);
  const cpuShare = r.cpuShareOfBulk === null || r.cpuShareOfBulk === undefined ? "" : `, ${(r.cpuShareOfBulk * 100).toFixed(0)}% of the bulk's (${r.bulkCpuBoundMegabytesPerSecond.toFixed(0)} MB/s)`;
  lines.push(`    CPU: seeder ${r.one.seederCpuSeconds.toFixed(1)} s, leecher ${r.one.leecherCpuSeconds[0].toFixed(1)} s; CPU-bound estimate ${r.one.cpuBoundMegabytesPerSecond.toFixed(0)} MB/s${cpuShare}`);
  if (r.one.seederMainCpuSeconds !== null && r.one.leecherMainCpuSeconds[0] !== null) {
    const perMiB = (s) => `${((s * 1e6) / (r.sizeBytes / MiB)).toFixed(0)} us/MiB`;
    lines.push(`    CPU per MiB: seeder ${perMiB(r.one.seederCpuSeconds)} (main thread ${perMiB(r.one.seederMainCpuSeconds)}), leecher ${perMiB(r.one.leecherCpuSeconds[0])} (main thread ${perMiB(r.one.leecherMainCpuSeconds[0])})`);
  }
  lines.push(`    peak RSS: seeder ${mb(r.one.rssSeederBytes)}, leecher ${mb(r.one.rssLeecherBytes[0])}`);
  if (r.ceiling !== undefined) lines.push(...ceilingLines(r));
  // As shipped, a node asks one peer for 90% of its limits.bytesPerSecond at most (256 MiB/s by default).
  lines.push(`  as shipped (limits.bytesPerSecond 256 MiB/s a peer), a download from one peer is bounded at ${((0.9 * 256 * MiB) / 1e6).toFixed(0)} MB/s${r.bulkMegabytesPerSecond === null ? "" : ` (${((0.9 * 256 * MiB * 100) / 1e6 / r.bulkMegabytesPerSecond).toFixed(0)}% of bulk)`}`);
  lines.push(`  one seeder -> ${r.leechers} leechers: ${r.many.megabytesPerSecond.toFixed(0)} MB/s aggregate in ${r.many.seconds.toFixed(1)} s; chunks fetched from the other leechers: ${r.many.fromOtherLeechers.join(", ")} of ${r.many.chunks} each`);
  lines.push(`    peak RSS: seeder ${mb(r.many.rssSeederBytes)}, leechers ${r.many.rssLeecherBytes.map(mb).join(", ")}`);
  const worst = Math.max(r.one.rssSeederBytes, ...r.one.rssLeecherBytes, r.many.rssSeederBytes, ...r.many.rssLeecherBytes);
  lines.push(`    largest peak RSS of any process: ${mb(worst)} (target under 150 MB: ${worst < 150e6 ? "met" : "MISSED"})`);
  return lines.join("\n") + "\n";
}

/**
 * The ceiling's lines: its rate and CPU, then what stands between xppg and
 * the target: the target, the ceiling's share of bulk (under 80%: the
 * machine's bound, not xppg's), xppg's share of the ceiling.
 */
function ceilingLines(r) {
  const c = r.ceiling;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const perMiB = (s) => `${((s * 1e6) / (r.sizeBytes / MiB)).toFixed(0)} us/MiB`;
  const lines = [`  ceiling, the same bytes as ${c.chunkKiB} KiB Playground messages (rate limits off, as in bulk), each chunk hashed (SHA-256) and written at its offset: ${c.megabytesPerSecond.toFixed(0)} MB/s in ${c.seconds.toFixed(1)} s`];
  const main = c.receiverMainCpuSeconds === null ? "" : ` (main thread ${perMiB(c.receiverMainCpuSeconds)})`;
  lines.push(`    CPU per MiB: sender ${perMiB(c.senderCpuSeconds)}, receiver ${perMiB(c.receiverCpuSeconds)}${main}; CPU-bound estimate ${c.cpuBoundMegabytesPerSecond.toFixed(0)} MB/s; peak RSS: sender ${(c.rssSenderBytes / 1e6).toFixed(0)} MB, receiver ${(c.rssReceiverBytes / 1e6).toFixed(0)} MB`);
  const ofCeiling = `xppg one-to-one is ${pct(r.one.megabytesPerSecond / c.megabytesPerSecond)} of the ceiling (CPU est. ${pct(r.one.cpuBoundMegabytesPerSecond / c.cpuBoundMegabytesPerSecond)}; leecher ${perMiB(r.one.leecherCpuSeconds[0])} against the ceiling receiver's ${perMiB(c.receiverCpuSeconds)})`;
  if (r.bulkMegabytesPerSecond === null) {
    lines.push(`    ${ofCeiling}`);
    return lines;
  }
  const share = c.megabytesPerSecond / r.bulkMegabytesPerSecond;
  const cpuShare = r.bulkCpuBoundMegabytesPerSecond === null ? null : c.cpuBoundMegabytesPerSecond / r.bulkCpuBoundMegabytesPerSecond;
  const cpuText = cpuShare === null ? "" : ` (CPU est. ${pct(cpuShare)})`;
  const bound = Math.max(share, cpuShare ?? 0) < 0.8 ? ": under 80%, a bound of this machine (hashing and writing every byte besides moving it), not of xppg" : "";
  lines.push(`    target ${(0.8 * r.bulkMegabytesPerSecond).toFixed(0)} MB/s (80% of bulk); the ceiling is ${pct(share)} of bulk${cpuText}${bound}; ${ofCeiling}`);
  return lines;
}

// `node bench/files.mjs [MiB] [leechers]`: this bench alone, without the bulk comparison.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runFilesBench({ sizeBytes: Number(process.argv[2] ?? 1024) * MiB, leechers: Number(process.argv[3] ?? 4) });
  process.stdout.write(formatFilesReport(r));
}
