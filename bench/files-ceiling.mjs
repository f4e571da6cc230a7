// The ceiling of the files phase (issue 12): the best a leecher could do on
// this machine. The file's bytes travel as xppg's own bulk does (encrypted
// Playgrounds, rate limits off as in the bulk phase, one raw message per
// chunk, each send awaited), read from disk by the sender a run at a time;
// the receiver hashes every chunk (SHA-256, checked against the chunk's
// hash), writes it at its offset and syncs the file at the end, as a
// leecher must. No manifest, no requests, no bookkeeping: what is left is
// the cost of moving, hashing and writing the bytes. Each side runs in a
// process of its own; this file is also that process
// (`node files-ceiling.mjs --peer`).
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const KIND = "ceiling";
/** As the bulk contender: both rate limits off (the bench floods on purpose). */
const LIMITS = { messagesPerSecond: Infinity, bytesPerSecond: Infinity };
/** Chunks read from disk with one call, as the seeder reads a run. */
const RUN_CHUNKS = 4;
const TIMEOUT_MS = 600_000;

/** CPU seconds of the main thread alone (Linux; null elsewhere). */
function mainThreadCpuSeconds() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function cpuNow() {
  const used = process.cpuUsage();
  return { cpuSeconds: (used.user + used.system) / 1e6, mainCpuSeconds: mainThreadCpuSeconds() };
}

/** The SHA-256 of each `chunkSize` piece of the file at `path`. */
export async function chunkHashes(path, size, chunkSize) {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(chunkSize);
    const hashes = [];
    for (let at = 0; at < size; at += chunkSize) {
      const len = Math.min(chunkSize, size - at);
      await fh.read(buf, 0, len, at);
      hashes.push(createHash("sha256").update(buf.subarray(0, len)).digest("hex"));
    }
    return hashes;
  } finally {
    await fh.close();
  }
}

function child() {
  const c = fork(SELF, ["--peer"], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [] });
  const inbox = [];
  const waiting = [];
  c.on("message", (m) => {
    if (m.type === "error") {
      for (const w of waiting.splice(0)) w.reject(new Error(m.message));
      return;
    }
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  c.once("exit", (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`a ceiling bench process exited (${signal ?? code})`));
  });
  c.next = (type) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => waiting.push({ type, resolve, reject }));
  };
  c.call = (m, type) => {
    c.send(m);
    return c.next(type);
  };
  return c;
}

/**
 * Sends the file at `path` (`size` bytes) in `chunkSize` messages from one
 * process to another, which verifies and writes each at its offset into
 * `out`. Resolves with the rate and each side's CPU.
 */
export async function runCeiling({ path, size, chunkSize, hashes, out }) {
  const receiver = child();
  const sender = child();
  const timer = setTimeout(() => [receiver, sender].forEach((c) => c.kill("SIGKILL")), TIMEOUT_MS);
  try {
    const [r] = await Promise.all([receiver.next("ready"), sender.next("ready")]);
    await receiver.call({ op: "expect", out, size, chunkSize, hashes }, "expecting");
    await sender.call({ op: "join", port: r.port, peerId: r.peerId }, "joined");
    const started = performance.now();
    const [sent, received] = await Promise.all([sender.call({ op: "send", path, size, chunkSize }, "sent"), receiver.next("received")]);
    const seconds = (performance.now() - started) / 1000;
    const finals = await Promise.all([sender.call({ op: "finish" }, "final"), receiver.call({ op: "finish" }, "final")]);
    const mib = size / 2 ** 20;
    return {
      chunkKiB: chunkSize / 1024,
      seconds,
      megabytesPerSecond: size / seconds / 1e6,
      senderCpuSeconds: sent.cpuSeconds,
      receiverCpuSeconds: received.cpuSeconds,
      senderMainCpuSeconds: sent.mainCpuSeconds,
      receiverMainCpuSeconds: received.mainCpuSeconds,
      senderUsPerMiB: (sent.cpuSeconds * 1e6) / mib,
      receiverUsPerMiB: (received.cpuSeconds * 1e6) / mib,
      cpuBoundMegabytesPerSecond: size / Math.max(sent.cpuSeconds, received.cpuSeconds) / 1e6,
      rssSenderBytes: finals[0].maxRssBytes,
      rssReceiverBytes: finals[1].maxRssBytes,
    };
  } finally {
    clearTimeout(timer);
    for (const c of [receiver, sender]) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

async function peerProcess() {
  const { Playground } = await import("@xppg/node");
  const pg = new Playground("files-ceiling", { host: "127.0.0.1", port: 0, limits: LIMITS });
  pg.events.on("error", (error) => process.stderr.write(`[ceiling] ${error.code}: ${error.message}\n`));
  let receive = () => {};
  pg.on(KIND, (_from, _kind, payload) => receive(payload));
  await pg.start();
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready", port: pg.port, peerId: pg.peerId });
  let to;
  process.on("message", async (m) => {
    try {
      if (m.op === "join") {
        await pg.join(`tcp://127.0.0.1:${m.port}`);
        to = { to: m.peerId };
        process.send({ type: "joined" });
      } else if (m.op === "expect") {
        receive = await receiver(pg, m);
        process.send({ type: "expecting" });
      } else if (m.op === "send") {
        const cpu = cpuNow();
        await sendFile(pg, to, m);
        const end = cpuNow();
        process.send({ type: "sent", cpuSeconds: end.cpuSeconds - cpu.cpuSeconds, mainCpuSeconds: end.mainCpuSeconds === null ? null : end.mainCpuSeconds - cpu.mainCpuSeconds });
      } else if (m.op === "finish") {
        await pg.stop();
        process.send({ type: "final", maxRssBytes: process.resourceUsage().maxRSS * 1024 });
        process.disconnect();
      }
    } catch (error) {
      process.send({ type: "error", message: error.message });
    }
  });
}

/** Reads the file a run of chunks at a time (the next run read while this one is sent) and sends each chunk as one message. */
async function sendFile(pg, to, { path, size, chunkSize }) {
  const fh = await open(path, "r");
  try {
    const runs = [0, 1].map(() => Array.from({ length: RUN_CHUNKS }, () => Buffer.allocUnsafe(chunkSize)));
    const read = async (at, bufs) => {
      const views = [];
      for (let i = 0, pos = at; i < bufs.length && pos < size; i++, pos += chunkSize) views.push(bufs[i].subarray(0, Math.min(chunkSize, size - pos)));
      await readFully(fh, views, at);
      return views;
    };
    const runBytes = chunkSize * RUN_CHUNKS;
    let next = read(0, runs[0]);
    for (let at = 0, turn = 0; at < size; at += runBytes, turn ^= 1) {
      const views = await next;
      next = at + runBytes < size ? read(at + runBytes, runs[turn ^ 1]) : null;
      // Each send awaited (the bulk phase's policy); the Playground has copied the bytes when it resolves.
      for (const v of views) await pg.send(KIND, v, to);
    }
  } finally {
    await fh.close();
  }
}

/** Reads `views` from `at` on with one `readv`, and what a short read left (rare) with more calls. */
async function readFully(fh, views, at) {
  const got = (await fh.readv(views, at)).bytesRead;
  let pos = at;
  for (const v of views) {
    let filled = Math.min(v.length, Math.max(0, at + got - pos));
    while (filled < v.length) {
      const { bytesRead } = await fh.read(v, filled, v.length - filled, pos + filled);
      if (bytesRead === 0) throw new Error("the file is shorter than expected");
      filled += bytesRead;
    }
    pos += v.length;
  }
}

/** The receiving side: each chunk in order, hashed and checked, then written at its offset. */
async function receiver(pg, { out, size, chunkSize, hashes }) {
  const fh = await open(out, "w");
  const expected = hashes.map((h) => Buffer.from(h, "hex"));
  const count = expected.length;
  let index = 0;
  let written = 0;
  let cpu;
  const done = async () => {
    // Durable before it could be named, as a leecher's file is.
    await fh.sync();
    await fh.close();
    const end = cpuNow();
    process.send({ type: "received", cpuSeconds: end.cpuSeconds - cpu.cpuSeconds, mainCpuSeconds: end.mainCpuSeconds === null ? null : end.mainCpuSeconds - cpu.mainCpuSeconds });
  };
  return (payload) => {
    cpu ??= cpuNow();
    const i = index++;
    const len = Math.min(chunkSize, size - i * chunkSize);
    if (payload.length !== len || !createHash("sha256").update(payload).digest().equals(expected[i])) {
      process.send({ type: "error", message: `chunk ${i} arrived wrong` });
      return;
    }
    // The payload is a view of the frame it came in, which is not reused: written from where it lies.
    fh.write(payload, 0, len, i * chunkSize).then(() => {
      if (++written === count) void done();
    }, (error) => process.send({ type: "error", message: error.message }));
  };
}

if (process.argv[2] === "--peer") await peerProcess();
