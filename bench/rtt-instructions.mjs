// Instructions per round trip, per side: the `rtt` phase's ping-pong (a
// 100 B message and its echo, each side in a process of its own) run under
// `valgrind --tool=callgrind`, which counts the instructions every thread of
// each process executes, whatever the machine's load. A pair runs `--warmup`
// round trips, then `--counts` more (two values, one run each); the
// difference between the two runs' totals, over the difference of the
// counts, is one round trip's instructions on that side: the start-up, the
// handshake and the exit cancel out.
//
// Beside the total, the part spent in V8's optimizing compiler (functions of
// `v8::internal::compiler`, on V8's background threads) between the two
// counts: code still being optimized, or optimized again after a
// deoptimization, while the round trips are counted. Under valgrind a round
// trip takes some 50 times longer, so the node's timers (heartbeats, the
// reachability room's 5 s ticks) fire more often per round trip than in the
// `rtt` phase: read the compiler's part as "work that is not the round trip
// itself", and the rest as the round trip's own instructions.
//
// Each contender's two runs take a minute or two each (the runs, not the
// figures, depend on the load).
//
//   node bench/rtt-instructions.mjs [--only=raw-tcp,secret-stream,playground] [--warmup=2000] [--counts=1000,5000]
import { execFileSync, fork, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadContender } from "./contenders/index.mjs";

const HOST = "127.0.0.1";
const SIZE = 100;
const SELF = fileURLToPath(import.meta.url);
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));

/** The receiving side: echoes every message; exits when the sender says so (after its close, so that neither side reports a cut connection). */
async function receiver(name) {
  const contender = await loadContender(name);
  const phase = { kind: "pingpong", size: SIZE };
  let peer = null;
  const early = [];
  const onMessage = (payload) => {
    if (peer === null) return void early.push(payload); // the first one may come before `connected` resolves
    void peer.send(payload);
  };
  process.on("message", (m) => m === "exit" && process.exit(0));
  const server = await contender.listen({ host: HOST, onMessage, options: {}, phase });
  process.send({ port: server.port });
  peer = await server.connected;
  for (const payload of early.splice(0)) onMessage(payload);
}

/** The sending side (forks the receiver): `total` round trips, one at a time. */
async function sender(name, total) {
  const child = fork(SELF, ["--receiver", name], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`${name}: the receiver exited (${code}) before listening`)));
  });
  const contender = await loadContender(name);
  let resolveReply = null;
  const peer = await contender.dial({ host: HOST, port, options: {}, phase: { kind: "pingpong", size: SIZE }, onMessage: () => resolveReply?.() });
  const payload = new Uint8Array(SIZE).fill(0x5a);
  for (let i = 0; i < total; i++) {
    const reply = new Promise((resolve) => (resolveReply = resolve));
    await peer.send(payload);
    await reply;
  }
  await peer.close();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send("exit");
  await exited;
  process.exit(0);
}

/** Instructions of one callgrind output file: all, and those of V8's optimizing compiler. */
function instructions(file) {
  const text = execFileSync("callgrind_annotate", ["--threshold=100", file], { maxBuffer: 1 << 28 }).toString();
  let total = 0;
  let compiler = 0;
  for (const line of text.split("\n")) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const n = Number(m[1].replace(/,/g, ""));
    if (m[2].includes("PROGRAM TOTALS")) total = n;
    else if (m[2].includes("v8::internal::compiler::")) compiler += n;
  }
  return { total, compiler };
}

/** One pair under callgrind, `total` round trips: each side's instructions. */
async function measure(name, total) {
  const dir = mkdtempSync(join(tmpdir(), "rtt-instructions-"));
  try {
    const child = spawn("valgrind", ["--tool=callgrind", "--trace-children=yes", `--callgrind-out-file=${join(dir, "cg.%p")}`, `--log-file=${join(dir, "log.%p")}`, process.execPath, SELF, "--sender", name, String(total)], { stdio: "inherit" });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`${name}: the pair under valgrind exited with ${code}`);
    const sides = {};
    for (const f of readdirSync(dir).filter((f) => f.startsWith("cg."))) {
      const file = join(dir, f);
      // The receiver is the process started with --receiver (callgrind records each process's command line).
      const cmd = /^cmd: (.*)$/m.exec(readFileSync(file, "utf8").slice(0, 4096))?.[1] ?? "";
      sides[cmd.includes("--receiver") ? "receiver" : "sender"] = instructions(file);
    }
    if (sides.sender === undefined || sides.receiver === undefined) throw new Error(`${name}: callgrind left no output for one side`);
    return sides;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    console.log("rtt instructions: valgrind is not installed (apt-get install valgrind); nothing measured");
    process.exit(1);
  }
  const only = (args.only ?? "raw-tcp,secret-stream,playground").split(",").filter(Boolean);
  const warmup = Number(args.warmup ?? 2000);
  const counts = (args.counts ?? "1000,5000").split(",").map(Number);
  if (!Number.isInteger(warmup) || warmup < 0 || counts.length !== 2 || !counts.every((n) => Number.isInteger(n) && n > 0) || counts[0] >= counts[1]) {
    throw new Error("--warmup takes a whole number, --counts two whole numbers, the smaller first");
  }
  const dn = counts[1] - counts[0];
  console.log(`rtt instructions: callgrind, ${warmup} warm-up round trips, then ${counts.join(" and ")}; per round trip = the difference / ${dn}`);
  const rows = [["contender", "side", "instructions", "compiler", "rest"]];
  for (const name of only) {
    const [a, b] = [await measure(name, warmup + counts[0]), await measure(name, warmup + counts[1])];
    for (const side of ["sender", "receiver"]) {
      const all = (b[side].total - a[side].total) / dn;
      const compiler = (b[side].compiler - a[side].compiler) / dn;
      rows.push([name, side, all.toFixed(0), compiler.toFixed(0), (all - compiler).toFixed(0)]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
  console.log("instructions per round trip, every thread of the side's process; compiler: V8's optimizing compiler's part; rest: the round trip's own");
}

if (process.argv[2] === "--receiver") await receiver(process.argv[3]);
else if (process.argv[2] === "--sender") await sender(process.argv[3], Number(process.argv[4]));
else await main();
