// The receiver's own cost of a small message, without the flood around it:
// a receiving Playground (plaintext, over TCP on loopback, in a process of
// its own) is fed the bytes a sending Playground makes for a synchronous
// burst of 4000 `pg.send`s of a 100 B Uint8Array to it (captured once, then
// written again and again), one burst every few milliseconds, well under
// what it can take. The receiver reads its own CPU time (process.cpuUsage:
// every thread of the process, as the msgs phase does) each time its
// handler has counted another burst's messages: CPU ns per message received,
// over each burst. Beside it, the raw contender's reader
// (bench/contenders/raw-peer.mjs) is fed 4000 frames of 100 B the same way.
//
// What it is for: as bench/send-path.mjs for the sender. The msgs phase's
// figure moves by ±10% between runs on a shared two-core machine; the 10th
// percentile over bursts here (a burst the scheduler interrupted, or that
// met a timer or a GC of something else, costs more, never less) moves by a
// few ns between runs of the same code. Run it interleaved with another
// checkout's build (`--tree`), several times, as for any A/B.
//
// The bytes are what the sending tree's Playground writes (so a change of
// the layout on the wire is in them); the sender's other frames (heartbeats)
// go on to the receiver between bursts, never inside one. The receiver runs
// the same tree's packages. `--profile=<dir>` runs the receiver under
// `node --cpu-prof` into that directory (read it with bench/profile-summary.mjs).
//
//   node bench/receive-path.mjs [--tree=<another built checkout>] [--bursts=N] [--every=MS] [--only=raw|xppg] [--profile=<dir>]
import { fork } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const tree = resolve(arg("tree", repoRoot));
const BURSTS = Number(arg("bursts", 600));
const WARM_UP_BURSTS = Math.min(100, Math.floor(BURSTS / 6));
/** Milliseconds between bursts: about a third of a core at 300 ns a message. */
const EVERY_MS = Number(arg("every", 4));
const BURST = 4000;
/** Each burst written a frame of about 64 KiB at a time, a turn of the event loop apart (`--spread`), else in one write. */
const SPREAD = process.argv.includes("--spread");
const SIZE = 100;
const KIND = "bench";
const HEADER = 4;


// ---------------------------------------------------------------- receiver (the measured process)

async function child(kind) {
  // CPU time (µs) each time another burst's messages have all arrived.
  const marks = new Float64Array(BURSTS + 1);
  let got = 0;
  let mark = 0;
  const onMessage = () => {
    if (++got % BURST === 0 && mark <= BURSTS) {
      const u = process.cpuUsage();
      marks[mark++] = u.user + u.system;
    }
  };
  // The first mark is the start of the first burst.
  const start = () => {
    const u = process.cpuUsage();
    marks[mark++] = u.user + u.system;
  };
  let port;
  let stop;
  if (kind === "raw") {
    const { RawPeer } = await import("./contenders/raw-peer.mjs");
    const sockets = new Set();
    const server = createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      new RawPeer(socket, onMessage);
    });
    server.listen({ host: "127.0.0.1", port: 0 });
    await once(server, "listening");
    port = server.address().port;
    stop = () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((done) => server.close(done));
    };
  } else {
    const { Playground } = await import(pathToFileURL(resolve(tree, "packages/node/dist/bundle/index.js")).href);
    const { tcpTransport } = await import(pathToFileURL(resolve(tree, "packages/transport-tcp/dist/bundle/index.js")).href);
    const pg = new Playground("receive-path", {
      host: "127.0.0.1",
      port: 0,
      transports: [tcpTransport()],
      limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity },
      dangerouslyDisableEncryption: true,
    });
    pg.on(KIND, onMessage);
    pg.events.on("error", (error) => process.stderr.write(`[receiver] ${error.code}: ${error.message}\n`));
    await pg.start();
    port = pg.port;
    stop = () => pg.stop();
  }
  process.on("message", async (m) => {
    if (m === "start") {
      got = 0;
      mark = 0;
      start();
      process.send("started");
    } else if (m === "done") {
      const perMessage = [];
      for (let i = WARM_UP_BURSTS + 1; i < mark; i++) perMessage.push(((marks[i] - marks[i - 1]) * 1000) / BURST);
      await stop();
      process.send({ perMessage, got });
      process.disconnect();
    }
  });
  process.send({ port });
}

// ---------------------------------------------------------------- feeder

function spawnReceiver(kind) {
  const profile = arg("profile", undefined);
  const execArgv = profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profile)}`, "--cpu-prof-interval=50"];
  const proc = fork(fileURLToPath(import.meta.url), [`--child=${kind}`, `--tree=${tree}`, `--bursts=${BURSTS}`], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = () => new Promise((done) => proc.once("message", done));
  return { proc, next };
}

/** Writes one burst (`pieces`, a turn of the event loop apart) every EVERY_MS, BURSTS times, then collects the receiver's figures. */
async function feed(receiver, socket, pieces) {
  const flushed = () => (socket.writableLength === 0 ? Promise.resolve() : once(socket, "drain"));
  const write = async () => {
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await new Promise((done) => setImmediate(done));
      socket.write(pieces[i]);
    }
  };
  receiver.proc.send("start");
  await receiver.next();
  for (let r = 0; r < BURSTS; r++) {
    const due = performance.now() + EVERY_MS;
    await write();
    await flushed();
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  }
  // Let the last bursts arrive.
  await new Promise((done) => setTimeout(done, 200));
  const result = receiver.next();
  receiver.proc.send("done");
  const { perMessage, got } = await result;
  if (got < BURST * BURSTS) console.log(`  (the receiver counted ${got} of ${BURST * BURSTS} messages)`);
  return perMessage.sort((a, b) => a - b);
}

/** `bytes` as one write, or (`--spread`) as writes of about one 64 KiB frame each (cut at frame boundaries), as a flood's sender writes. */
function pieces(bytes) {
  if (!SPREAD) return [bytes];
  const out = [];
  let from = 0;
  let pos = 0;
  while (pos < bytes.length) {
    pos += HEADER + bytes.readUInt32BE(pos);
    if (pos - from >= 60 * 1024 || pos === bytes.length) {
      out.push(bytes.subarray(from, pos));
      from = pos;
    }
  }
  return out;
}

async function raw() {
  const receiver = spawnReceiver("raw");
  const { port } = await receiver.next();
  const socket = createConnection({ host: "127.0.0.1", port, noDelay: true });
  await once(socket, "connect");
  const frames = Buffer.alloc(BURST * (HEADER + SIZE), 0x5a);
  for (let i = 0; i < BURST; i++) frames.writeUInt32BE(SIZE, i * (HEADER + SIZE));
  try {
    return await feed(receiver, socket, pieces(frames));
  } finally {
    socket.destroy();
  }
}

/**
 * A sending Playground joins the receiver through a pass-through proxy that
 * forwards its frames whole; the proxy keeps the frames of one burst of
 * sends, then writes them again between the sender's own.
 */
async function xppg() {
  const receiver = spawnReceiver("xppg");
  const { port } = await receiver.next();
  const { Playground } = await import(pathToFileURL(resolve(tree, "packages/node/dist/bundle/index.js")).href);
  const { tcpTransport } = await import(pathToFileURL(resolve(tree, "packages/transport-tcp/dist/bundle/index.js")).href);

  let upstream;
  let capture = null;
  const proxy = createServer({ noDelay: true }, (downstream) => {
    upstream = createConnection({ host: "127.0.0.1", port, noDelay: true });
    upstream.on("error", () => {});
    downstream.on("error", () => {});
    upstream.pipe(downstream);
    let held = Buffer.alloc(0);
    downstream.on("data", (chunk) => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      let pos = 0;
      while (held.length - pos >= HEADER && held.length - pos >= HEADER + held.readUInt32BE(pos)) pos += HEADER + held.readUInt32BE(pos);
      if (pos === 0) return;
      const whole = held.subarray(0, pos);
      held = held.subarray(pos);
      if (capture !== null) capture.push(Buffer.from(whole));
      else upstream.write(whole);
    });
  });
  proxy.listen({ host: "127.0.0.1", port: 0 });
  await once(proxy, "listening");

  const sender = new Playground("receive-path", {
    host: "127.0.0.1",
    port: 0,
    listen: [],
    transports: [tcpTransport()],
    limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity },
    dangerouslyDisableEncryption: true,
  });
  await sender.start();
  const peer = await sender.join("127.0.0.1", proxy.address().port);
  const payload = new Uint8Array(SIZE).fill(0x5a);
  const to = { to: peer.peerId };
  // A first message of the kind goes through (the receiver's first of a kind takes the long way once).
  await sender.send(KIND, payload, to);
  await new Promise((done) => setTimeout(done, 100));
  capture = [];
  for (let i = 0; i < BURST; i++) void sender.send(KIND, payload, to);
  await new Promise((done) => setTimeout(done, 300));
  const burst = Buffer.concat(capture);
  if (process.env.RP_DUMP) (await import("node:fs")).writeFileSync(process.env.RP_DUMP, burst);
  capture = null;
  try {
    return await feed(receiver, upstream, pieces(burst));
  } finally {
    await sender.stop();
    proxy.close();
  }
}

async function main() {
  const show = (name, s) => `${name.padEnd(30)} p10 ${s[Math.floor(s.length * 0.1)].toFixed(1).padStart(6)}   p50 ${s[Math.floor(s.length * 0.5)].toFixed(1).padStart(6)}  CPU ns per message received`;
  const only = arg("only", "raw,xppg").split(",");
  console.log(`receive path: ${BURSTS - WARM_UP_BURSTS} bursts of ${BURST} messages of ${SIZE} B, one every ${EVERY_MS} ms (after ${WARM_UP_BURSTS} to warm up); packages of ${tree}`);
  if (only.includes("raw")) console.log(show("RAW node:net frameReader", await raw()));
  if (only.includes("xppg")) console.log(show("xppg Playground, plaintext", await xppg()));
}

const role = arg("child", undefined);
if (role !== undefined) await child(role);
else await main();
