// Instructions per send on the sender alone: send-path.mjs's bursts (4000
// sends of 100 B to a neighbour over TCP on loopback, each burst taken by
// the receiver before the next starts) run in a process under
// `valgrind --tool=callgrind`, the receiver in a child process of its own
// that valgrind does not follow. Each contender runs twice, with two counts
// of bursts; the difference of the two runs' totals over the difference of
// their messages is one send's instructions (start-up, the handshake, the
// warm-up and the exit cancel out). What it counts besides `send` itself:
// the tick's flush and its socket writes, and per burst one message from the
// receiver saying it has the burst (over the IPC channel, a 4000th of it per
// send).
//
// Contenders: `raw` (bench/contenders/raw-peer.mjs), `plain` (a Playground
// with `dangerouslyDisableEncryption`), `encrypted` (a Playground with its
// secure channel). With `--tree`, the Playground is that built checkout's
// (run both trees in one invocation each for an A/B: the counts repeat to
// within a few instructions per send).
//
// `--size=<bytes>` sends messages of that size instead of 100 B (65536: the
// encrypted bulk sender's full records). Bursts then hold 256 KiB of
// messages (4 of 64 KiB) unless `--burst=<messages>` says otherwise (with 16
// of 64 KiB a run stalled, its acknowledgement never coming); pass smaller
// `--counts` too (5,20 for 64 KiB: the two runs take about 2 minutes; the
// count then varies by up to a sixth between invocations). Counts
// weigh a large memcpy lightly against its time (a few instructions move
// 64 bytes): a copy saved shows less here than on the clock.
//
//   node bench/send-instructions.mjs [--only=raw,plain,encrypted] [--tree=<built checkout>] [--counts=60,260] [--size=100] [--burst=4000] [--keep]
import { fork, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RawPeer } from "./contenders/raw-peer.mjs";
import { plainOptions, playgroundOf } from "./tree-playground.mjs";

const SELF = fileURLToPath(import.meta.url);
const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const tree = resolve(args.tree ?? repoRoot);
const SIZE = Number(args.size ?? 100);
/** Messages per burst: 4000 of 100 B, or 256 KiB of larger ones. */
const BURST = Number(args.burst ?? (SIZE <= 1000 ? 4000 : Math.max(1, Math.floor((256 * 1024) / SIZE))));
/** Bursts before either count starts: JIT-compiled and steady by then. */
const WARM_UP_BURSTS = 40;
const PAYLOAD = new Uint8Array(SIZE).fill(0x5a);
const CONTENDERS = ["raw", "plain", "encrypted"];

/** Options of a Playground of the contender `name`. */
function playgroundOptions(name, tcpTransport, extra) {
  const options = plainOptions(tcpTransport, extra);
  if (name === "encrypted") delete options.dangerouslyDisableEncryption;
  return options;
}

/** The child: listens, counts what arrives, tells the parent at the end of each burst. */
async function receiver(name) {
  let got = 0;
  const onMessage = () => {
    if (++got % BURST === 0) process.send(got);
  };
  process.on("message", (m) => m === "exit" && process.exit(0));
  if (name === "raw") {
    const server = createServer({ noDelay: true }, (socket) => new RawPeer(socket, onMessage));
    server.listen({ host: "127.0.0.1", port: 0 });
    await once(server, "listening");
    process.send({ port: server.address().port });
    return;
  }
  const { Playground, tcpTransport } = await playgroundOf(tree);
  const pg = new Playground("send-instructions", playgroundOptions(name, tcpTransport));
  pg.on("bench", onMessage);
  await pg.start();
  process.send({ port: pg.port });
}

/** The traced process: `bursts` bursts after the warm-up, each waited for. */
async function sender(name, bursts) {
  const child = fork(SELF, [`--receiver=${name}`, `--tree=${tree}`, `--size=${SIZE}`, `--burst=${BURST}`], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise((done, fail) => {
    child.once("message", (m) => done(m.port));
    child.once("exit", (code) => fail(new Error(`${name}: the receiver exited (${code}) before listening`)));
  });
  let acknowledged = 0;
  let wake = null;
  child.on("message", (n) => {
    acknowledged = n;
    wake?.();
  });
  let send;
  let stop;
  if (name === "raw") {
    const socket = createConnection({ host: "127.0.0.1", port, noDelay: true });
    await once(socket, "connect");
    const peer = new RawPeer(socket, () => {});
    send = (payload) => peer.send(payload);
    stop = async () => socket.destroy();
  } else {
    const { Playground, tcpTransport } = await playgroundOf(tree);
    const pg = new Playground("send-instructions", playgroundOptions(name, tcpTransport, { listen: [] }));
    await pg.start();
    const peer = await pg.join("127.0.0.1", port);
    const to = { to: peer.peerId };
    send = (payload) => pg.send("bench", payload, to);
    stop = () => pg.stop();
  }
  for (let r = 0; r < WARM_UP_BURSTS + bursts; r++) {
    for (let i = 0; i < BURST; i++) send(PAYLOAD);
    const want = (r + 1) * BURST;
    while (acknowledged < want) await new Promise((done) => (wake = done));
  }
  await stop();
  const exited = once(child, "exit");
  child.send("exit");
  await exited;
  process.exit(0);
}

/** All instructions of one callgrind run (the `summary:` line of its output). */
function totalOf(file) {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("summary:") || l.startsWith("totals:"));
  if (line === undefined) throw new Error(`${file}: no summary line`);
  return Number(line.split(/\s+/)[1]);
}

async function traced(name, bursts, dir) {
  const out = join(dir, `cg.${name}.${bursts}`);
  const child = spawn("valgrind", ["--tool=callgrind", "--trace-children=no", `--callgrind-out-file=${out}`, `--log-file=${out}.log`, process.execPath, SELF, `--sender=${name}`, `--bursts=${bursts}`, `--tree=${tree}`, `--size=${SIZE}`, `--burst=${BURST}`], { stdio: "inherit" });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`${name}: the traced sender exited with ${code} (see ${out}.log)`);
  return totalOf(out);
}

if (args.receiver !== undefined) await receiver(args.receiver);
else if (args.sender !== undefined) await sender(args.sender, Number(args.bursts));
else {
  const only = (args.only ?? CONTENDERS.join(",")).split(",");
  const [low, high] = (args.counts ?? "60,260").split(",").map(Number);
  const dir = mkdtempSync(join(tmpdir(), "send-instructions-"));
  console.log(`send instructions: callgrind, messages of ${SIZE} B, ${WARM_UP_BURSTS} bursts of ${BURST} to warm up, then ${low} and ${high}; packages of ${tree}`);
  try {
    for (const name of only) {
      const a = await traced(name, low, dir);
      const b = await traced(name, high, dir);
      console.log(`${name.padEnd(10)} ${((b - a) / ((high - low) * BURST)).toFixed(0).padStart(6)} instructions per send`);
    }
  } finally {
    if (!("keep" in args)) rmSync(dir, { recursive: true, force: true });
    else console.log(`callgrind output kept in ${dir}`);
  }
}
