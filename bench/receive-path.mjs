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
// figure moves by ±10% between runs on a shared two-core machine. Here the
// 10th percentile over bursts is taken (a burst the scheduler interrupted,
// or that met a GC, costs more, never less), with the feeder and the
// receiver pinned to one core. Even so, on a shared machine a run's figure
// moves by 10 to 20% with the other work of those seconds; so for an A/B
// (`--against=<another built checkout>`) one receiving process runs both
// trees' Playgrounds side by side, each with its own sender, and the bursts
// go to one and the other in turns: each figure is taken over the same
// seconds, in the same process, and what the machine does meanwhile falls
// on both alike.
//
// The bytes are what the sending tree's Playground writes (so a change of
// the layout on the wire is in them); the sender's other frames (heartbeats)
// go on to the receiver between bursts, never inside one. A receiver runs
// the same tree's packages as its sender. `--profile=<dir>` runs the
// receiving process under `node --cpu-prof` into that directory (read it
// with bench/profile-summary.mjs).
//
//   node bench/receive-path.mjs [--tree=<built checkout>] [--against=<another built checkout>] [--bursts=N] [--rounds=N]
//                               [--every=MS] [--spread] [--pin=same|none] [--only=raw|xppg] [--profile=<dir>] [--message-limit=N]
//
// `--message-limit=N`: the receivers keep a message limit (messagesPerSecond and messageBurst N, taken per message
// as the default limit's is) instead of none, as the bench's other phases run; N well above what the bursts send.
import { execFileSync, fork } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pinPlan } from "./rtt.mjs";
import { plainOptions, playgroundOf } from "./tree-playground.mjs";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const tree = resolve(arg("tree", repoRoot));
const BURSTS = Number(arg("bursts", 600));
const WARM_UP_BURSTS = Math.min(100, Math.floor(BURSTS / 6));
/** Milliseconds between bursts (to one receiver, or to each of an A/B's two): about a third of a core at 300 ns a message. */
const EVERY_MS = Number(arg("every", 4));
const BURST = 4000;
/** Each burst written a frame of about 64 KiB at a time, a turn of the event loop apart (`--spread`), else in one write. */
const SPREAD = process.argv.includes("--spread");
const SIZE = 100;
/** `--message-limit`: each receiver's messagesPerSecond and messageBurst; none (Infinity) unless given. */
const MESSAGE_LIMIT = arg("message-limit", undefined);
const KIND = "bench";
const HEADER = 4;

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---------------------------------------------------------------- the receiving process (the one measured)

/** `trees`: "raw", or one or two built checkouts, each a receiving Playground. */
async function receiver(trees) {
  // CPU µs of each burst: from the end of the burst before it (whichever receiver's) to the end of its own.
  const samples = trees.map(() => []);
  let last = 0;
  const counter = (i) => {
    let got = 0;
    return () => {
      if (++got % BURST === 0) {
        const now = cpu();
        samples[i].push(now - last);
        last = now;
      }
    };
  };
  const ports = [];
  const stops = [];
  for (let i = 0; i < trees.length; i++) {
    const onMessage = counter(i);
    if (trees[i] === "raw") {
      const { listenRawReceiver } = await import("./contenders/raw-peer.mjs");
      const { port, stop } = await listenRawReceiver(onMessage);
      ports.push(port);
      stops.push(stop);
    } else {
      const { Playground, tcpTransport } = await playgroundOf(trees[i]);
      const pg = new Playground("receive-path", plainOptions(tcpTransport, MESSAGE_LIMIT === undefined ? {} : { limits: { messagesPerSecond: Number(MESSAGE_LIMIT), messageBurst: Number(MESSAGE_LIMIT), bytesPerSecond: Infinity } }));
      pg.on(KIND, onMessage);
      pg.events.on("error", (error) => process.stderr.write(`[receiver] ${error.code}: ${error.message}\n`));
      await pg.start();
      ports.push(pg.port);
      stops.push(() => pg.stop());
    }
  }
  process.on("message", async (m) => {
    if (m === "start") {
      for (const s of samples) s.length = 0;
      last = cpu();
      process.send("started");
    } else if (m === "done") {
      for (const stop of stops) await stop();
      process.send({ perMessage: samples.map((s) => s.slice(WARM_UP_BURSTS).map((us) => (us * 1000) / BURST)) });
      process.disconnect();
    }
  });
  process.send({ ports });
}

// ---------------------------------------------------------------- the feeder

function spawnReceiver(trees) {
  const profile = arg("profile", undefined);
  const execArgv = profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profile)}`, "--cpu-prof-interval=50"];
  const proc = fork(fileURLToPath(import.meta.url), [`--receiver=${trees.join(",")}`, `--bursts=${BURSTS}`, ...(MESSAGE_LIMIT === undefined ? [] : [`--message-limit=${MESSAGE_LIMIT}`])], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = () => new Promise((done) => proc.once("message", done));
  return { proc, next };
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

const turn = () => new Promise((done) => setImmediate(done));
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * Writes each feed's burst (`{ socket, pieces }`) BURSTS times, one burst
 * every EVERY_MS, the feeds in turns (their order swapped every round);
 * returns each receiver's CPU ns per message over each counted burst, sorted.
 */
async function run(receiver, feeds) {
  receiver.proc.send("start");
  await receiver.next();
  for (let r = 0; r < BURSTS; r++) {
    for (let k = 0; k < feeds.length; k++) {
      const { socket, pieces } = feeds[r % 2 === 0 ? k : feeds.length - 1 - k];
      const due = performance.now() + EVERY_MS;
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await turn();
        socket.write(pieces[i]);
      }
      if (socket.writableLength > 0) await once(socket, "drain");
      const wait = due - performance.now();
      if (wait > 0) await pause(wait);
    }
  }
  // Let the last bursts arrive.
  await pause(200);
  const result = receiver.next();
  receiver.proc.send("done");
  const { perMessage } = await result;
  perMessage.forEach((s, i) => {
    if (s.length < BURSTS - WARM_UP_BURSTS) console.log(`  (receiver ${i + 1} counted ${s.length} of ${BURSTS - WARM_UP_BURSTS} bursts)`);
  });
  return perMessage.map((s) => s.sort((a, b) => a - b));
}

async function raw() {
  const receiver = spawnReceiver(["raw"]);
  const { ports } = await receiver.next();
  const socket = createConnection({ host: "127.0.0.1", port: ports[0], noDelay: true });
  await once(socket, "connect");
  const frames = Buffer.alloc(BURST * (HEADER + SIZE), 0x5a);
  for (let i = 0; i < BURST; i++) frames.writeUInt32BE(SIZE, i * (HEADER + SIZE));
  try {
    return (await run(receiver, [{ socket, pieces: pieces(frames) }]))[0];
  } finally {
    socket.destroy();
  }
}

/**
 * A sending Playground of `dir` joins the receiver at `port` through a
 * pass-through proxy that forwards its frames whole; the proxy keeps the
 * frames of one burst of sends, then (`feed`) writes them again between the
 * sender's own.
 */
async function sender(dir, port) {
  const { Playground, tcpTransport } = await playgroundOf(dir);
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
  const pg = new Playground("receive-path", plainOptions(tcpTransport, { listen: [] }));
  await pg.start();
  const peer = await pg.join("127.0.0.1", proxy.address().port);
  const payload = new Uint8Array(SIZE).fill(0x5a);
  const to = { to: peer.peerId };
  // A first message of the kind goes through (the receiver's first of a kind takes the long way once).
  await pg.send(KIND, payload, to);
  await pause(100);
  // Whole frames, each a bundle: [u32 length][envelope] repeated.
  const envelopes = () => {
    let count = 0;
    for (const frames of capture) {
      for (let at = 0; at < frames.length; at += HEADER + frames.readUInt32BE(at)) {
        const end = at + HEADER + frames.readUInt32BE(at);
        for (let pos = at + HEADER; pos < end; pos += HEADER + frames.readUInt32BE(pos)) count++;
      }
    }
    return count;
  };
  for (let attempt = 1; ; attempt++) {
    capture = [];
    for (let i = 0; i < BURST; i++) void pg.send(KIND, payload, to);
    for (let waited = 0; envelopes() < BURST; waited += 10) {
      if (waited > 10_000) throw new Error(`the sender's burst did not arrive: ${envelopes()} of ${BURST} envelopes`);
      await pause(10);
    }
    if (envelopes() === BURST) break;
    // Another envelope (a heartbeat) came in the burst: it goes on to the receiver, and the burst is taken again.
    if (attempt === 5) throw new Error(`each captured burst held more than ${BURST} envelopes`);
    for (const frames of capture) upstream.write(frames);
  }
  const burst = Buffer.concat(capture);
  capture = null;
  return {
    feed: { socket: upstream, pieces: pieces(burst) },
    close: async () => {
      await pg.stop();
      proxy.close();
    },
  };
}

async function xppg(trees) {
  const receiver = spawnReceiver(trees);
  const { ports } = await receiver.next();
  const senders = [];
  for (let i = 0; i < trees.length; i++) senders.push(await sender(trees[i], ports[i]));
  try {
    return await run(
      receiver,
      senders.map((s) => s.feed),
    );
  } finally {
    for (const s of senders) await s.close();
  }
}

const p10 = (s) => s[Math.floor(s.length * 0.1)];
const p50 = (s) => s[Math.floor(s.length * 0.5)];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const show = (name, s) => `${name.padEnd(34)} p10 ${p10(s).toFixed(1).padStart(6)}   p50 ${p50(s).toFixed(1).padStart(6)}  CPU ns per message received`;
  // Feeder and receiver on one core (`--pin=same`, the default, as the rtt phase's): across two cores every burst
  // wakes an idle one, and the figure moved by tens of ns more between runs of the same code.
  const plan = pinPlan(arg("pin", "same") === "none" ? "none" : "same");
  if (plan.cores !== null) execFileSync("taskset", ["-pc", String(plan.cores[0]), String(process.pid)], { stdio: "ignore" });
  const pinned = plan.cores !== null ? `feeder and receiver pinned to CPU ${plan.cores[0]}` : `not pinned: ${plan.reason}`;
  const how = `${BURSTS - WARM_UP_BURSTS} bursts of ${BURST} messages of ${SIZE} B, one every ${EVERY_MS} ms${SPREAD ? ", a frame at a time" : ""} (after ${WARM_UP_BURSTS} to warm up); ${pinned}`;
  const against = arg("against", undefined);
  if (against === undefined) {
    console.log(`receive path: ${how}; packages of ${tree}`);
    const only = arg("only", "raw,xppg").split(",");
    if (only.includes("raw")) console.log(show("RAW node:net frameReader", await raw()));
    if (only.includes("xppg")) console.log(show("xppg Playground, plaintext", (await xppg([tree]))[0]));
    return;
  }
  // A/B: both trees' receivers in one process, their bursts in turns; each round a fresh process.
  const other = resolve(against);
  const rounds = Number(arg("rounds", 3));
  console.log(`receive path, A/B in one receiving process, ${rounds} rounds: ${how}, to A and B in turns; A ${tree}, B ${other}`);
  const figures = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    const [a, b] = await xppg([tree, other]);
    figures.A.push(p10(a));
    figures.B.push(p10(b));
    console.log(show(`round ${r + 1}: A`, a));
    console.log(show(`round ${r + 1}: B`, b));
  }
  const ratios = figures.A.map((a, i) => a - figures.B[i]);
  console.log(`A: median p10 ${median(figures.A).toFixed(1)} ns; B: ${median(figures.B).toFixed(1)} ns; A - B per round: ${ratios.map((d) => d.toFixed(1)).join(", ")} ns`);
}

const role = arg("receiver", undefined);
if (role !== undefined) await receiver(role === "raw" ? ["raw"] : role.split(","));
else await main();
