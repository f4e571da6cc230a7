// Instructions per message on the receiver alone: bursts of 4000 messages
// of 100 B (a sender's synchronous sends over TCP on loopback) arrive at a
// receiving process run under `valgrind --tool=callgrind`; the sender runs
// in a child process of its own that valgrind does not follow, and sends
// each burst once the receiver has counted the one before. Each contender
// runs twice, with two counts of bursts; the difference of the two runs'
// totals over the difference of their messages is one message's
// instructions (start-up, the handshake, the warm-up and the exit cancel
// out). What it counts besides reading a message: per burst one message to
// the sender saying the burst is in (over the IPC channel, a 4000th of it
// per message), and the node's timers meanwhile (heartbeats).
//
// Contenders: `raw` (bench/contenders/raw-peer.mjs's frameReader), `plain`
// (a Playground with `dangerouslyDisableEncryption`), `encrypted` (a
// Playground with its secure channel). With `--tree`, both ends are that
// built checkout's (the bytes on the wire are its sender's).
//
// `--functions=N`: the receiver runs with `--perf-basic-prof`, and the
// callgrind output's JIT-compiled code (addresses callgrind cannot name)
// is named from V8's map of its code; then the N functions with the most
// instructions per message, inclusive (callees counted in), each as the
// difference of the two runs over their messages, as above.
//
//   node bench/receive-instructions.mjs [--only=raw,plain,encrypted] [--tree=<built checkout>] [--counts=20,80] [--functions=40] [--keep]
import { execFileSync, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { listenRawReceiver, RawPeer } from "./contenders/raw-peer.mjs";
import { plainOptions, playgroundOf } from "./tree-playground.mjs";

const SELF = fileURLToPath(import.meta.url);
const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const tree = resolve(args.tree ?? repoRoot);
const BURST = 4000;
/** Bursts before either count starts: JIT-compiled and steady by then. */
const WARM_UP_BURSTS = 30;
const PAYLOAD = new Uint8Array(100).fill(0x5a);
const CONTENDERS = ["raw", "plain", "encrypted"];

/** Options of a Playground of the contender `name`. */
function playgroundOptions(name, tcpTransport, extra) {
  // Under callgrind the receiver runs some 50 times slower: its pings may come later than the default timeout allows.
  const options = plainOptions(tcpTransport, { heartbeat: { intervalMs: 2000, timeoutMs: 120_000 }, ...extra });
  if (name === "encrypted") delete options.dangerouslyDisableEncryption;
  return options;
}

/** The traced process: listens, forks the sender, counts what arrives, tells the sender at the end of each burst. */
async function receiver(name, bursts) {
  const total = (WARM_UP_BURSTS + bursts) * BURST;
  let got = 0;
  let child;
  let finished;
  const done = new Promise((resolve) => (finished = resolve));
  const onMessage = () => {
    if (++got % BURST === 0) {
      child.send(got);
      if (got === total) finished();
    }
  };
  let port;
  let stop;
  if (name === "raw") {
    ({ port, stop } = await listenRawReceiver(onMessage));
  } else {
    const { Playground, tcpTransport } = await playgroundOf(tree);
    const pg = new Playground("receive-instructions", playgroundOptions(name, tcpTransport));
    pg.on("bench", onMessage);
    pg.events.on("error", (error) => process.stderr.write(`[receiver] ${error.code}: ${error.message}\n`));
    await pg.start();
    port = pg.port;
    stop = () => pg.stop();
  }
  child = fork(SELF, [`--sender=${name}`, `--port=${port}`, `--bursts=${bursts}`, `--tree=${tree}`], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await done;
  const exited = once(child, "exit");
  child.send("exit");
  await exited;
  await stop();
  process.exit(0);
}

/** The sender (not traced): a burst of synchronous sends each time the receiver has counted the one before. */
async function sender(name, port, bursts) {
  let send;
  if (name === "raw") {
    const socket = createConnection({ host: "127.0.0.1", port, noDelay: true });
    await once(socket, "connect");
    const peer = new RawPeer(socket, () => {});
    send = (payload) => peer.send(payload);
  } else {
    const { Playground, tcpTransport } = await playgroundOf(tree);
    const pg = new Playground("receive-instructions", playgroundOptions(name, tcpTransport, { listen: [] }));
    await pg.start();
    const peer = await pg.join("127.0.0.1", port);
    const to = { to: peer.peerId };
    send = (payload) => pg.send("bench", payload, to);
  }
  const burst = () => {
    for (let i = 0; i < BURST; i++) void send(PAYLOAD);
  };
  process.on("message", (m) => {
    if (m === "exit") process.exit(0);
    else if (m < (WARM_UP_BURSTS + bursts) * BURST) burst();
  });
  burst();
}

/** All instructions of one callgrind run (the `summary:` line of its output). */
function totalOf(file) {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("summary:") || l.startsWith("totals:"));
  if (line === undefined) throw new Error(`${file}: no summary line`);
  return Number(line.split(/\s+/)[1]);
}

/** V8's map of its code (`--perf-basic-prof`): sorted [start, end, name]. */
function perfMap(pid) {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) return [];
  const entries = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m === null) continue;
    const start = Number.parseInt(m[1], 16);
    // Names keep the code's tier (`*` optimized by TurboFan, `+` Maglev, `^` baseline, `~` interpreted), without the path of the file.
    const name = m[3].replace(/^(JS|LazyCompile|Function):/, "JS:").replace(/ (file|node):\S*$/, (s) => ` ${s.trim().split("/").slice(-1)[0].replace(/:\d+$/, "")}`);
    entries.push([start, start + Number.parseInt(m[2], 16), name]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  // A later entry for the same address (code made again there) wins: keep the last of each start.
  return entries.filter((e, i) => i === entries.length - 1 || entries[i + 1][0] !== e[0]);
}

/** Renames the callgrind output's nameless functions (`0x...`) after V8's code map, in place. */
function nameJitCode(file, pid) {
  const map = perfMap(pid);
  if (map.length === 0) return;
  const lookup = (address) => {
    let lo = 0;
    let hi = map.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (map[mid][0] <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && address < map[hi][1] ? map[hi][2] : undefined;
  };
  const text = readFileSync(file, "utf8").replace(/^(c?fn=\(\d+\)) 0x([0-9a-f]+)$/gm, (whole, head, hex) => {
    const name = lookup(Number.parseInt(hex, 16));
    return name === undefined ? whole : `${head} ${name}`;
  });
  writeFileSync(file, text);
}

/** Instructions per function name, its own or (`inclusive`) with its callees' (callgrind_annotate --inclusive=yes). */
function perFunction(file, inclusive) {
  const text = execFileSync("callgrind_annotate", [`--inclusive=${inclusive ? "yes" : "no"}`, "--threshold=100", file], { maxBuffer: 1 << 28 }).toString();
  const out = new Map();
  for (const line of text.split("\n")) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(?:\S+:)?(.*?)(?: \[[^\]]*\])?$/.exec(line);
    if (m === null || m[2].includes("PROGRAM TOTALS")) continue;
    const name = m[2].trim();
    out.set(name, (out.get(name) ?? 0) + Number(m[1].replace(/,/g, "")));
  }
  return out;
}

async function traced(name, bursts, dir, functions) {
  const out = join(dir, `cg.${name}.${bursts}`);
  const node = functions ? ["--perf-basic-prof", "--no-compact-code-space"] : [];
  const child = spawn("valgrind", ["--tool=callgrind", "--trace-children=no", `--callgrind-out-file=${out}`, `--log-file=${out}.log`, process.execPath, ...node, SELF, `--receiver=${name}`, `--bursts=${bursts}`, `--tree=${tree}`], { stdio: "inherit" });
  const pid = child.pid;
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`${name}: the traced receiver exited with ${code} (see ${out}.log)`);
  const total = totalOf(out);
  if (!functions) return { total };
  nameJitCode(out, pid);
  rmSync(`/tmp/perf-${pid}.map`, { force: true });
  return { total, self: perFunction(out, false), inclusive: perFunction(out, true) };
}

if (args.receiver !== undefined) await receiver(args.receiver, Number(args.bursts));
else if (args.sender !== undefined) await sender(args.sender, Number(args.port), Number(args.bursts));
else {
  const only = (args.only ?? CONTENDERS.join(",")).split(",");
  const [low, high] = (args.counts ?? "20,80").split(",").map(Number);
  const top = args.functions === undefined ? 0 : Number(args.functions);
  const dir = mkdtempSync(join(tmpdir(), "receive-instructions-"));
  const messages = (high - low) * BURST;
  console.log(`receive instructions: callgrind, ${WARM_UP_BURSTS} bursts of ${BURST} to warm up, then ${low} and ${high}; packages of ${tree}`);
  try {
    for (const name of only) {
      const a = await traced(name, low, dir, top > 0);
      const b = await traced(name, high, dir, top > 0);
      console.log(`${name.padEnd(10)} ${((b.total - a.total) / messages).toFixed(0).padStart(6)} instructions per message received`);
      if (top === 0) continue;
      const per = (side, fn) => ((b[side].get(fn) ?? 0) - (a[side].get(fn) ?? 0)) / messages;
      for (const side of ["self", "inclusive"]) {
        const rows = [...b[side].keys()].map((fn) => [fn, per(side, fn)]).filter(([, n]) => n >= 0.5);
        rows.sort((x, y) => y[1] - x[1]);
        console.log(`  ${side === "self" ? "own" : "inclusive"} instructions per message, the ${top} highest${side === "self" ? "" : " (a function in a recursion, or called through one, counts more than once)"}:`);
        for (const [fn, n] of rows.slice(0, top)) console.log(`  ${n.toFixed(1).padStart(8)}  ${fn}`);
      }
    }
  } finally {
    if (!("keep" in args)) rmSync(dir, { recursive: true, force: true });
    else console.log(`callgrind output kept in ${dir}`);
  }
}
