// The sender's own cost of a small message, without the flood around it:
// `pg.send` of a 100 B Uint8Array to a neighbour (plaintext, over TCP on
// loopback) in synchronous bursts of 4000 (under the 1 MiB high-water mark,
// so every send resolves at once), beside the raw contender's `send`
// (bench/contenders/raw-peer.mjs) measured the same way. A receiving peer
// in the same process takes each burst before the next starts, outside the
// timing.
//
// What it is for: the msgs phase's figure moves by ±10% from run to run on a
// shared two-core machine, so a change of 10 to 20 ns a message on one side
// does not show there. The burst's time per send does: the 10th percentile
// over bursts (a burst the scheduler interrupted is slower, never faster)
// moves by a few ns between runs of the same code. Run it interleaved with
// another checkout's build (`--tree`), several times, as for any A/B.
//
// `--encrypted` times an encrypted Playground's send instead (its secure
// channel on, the same bursts): a change to the plaintext send must not
// slow it.
//
//   node bench/send-path.mjs [--tree=<another built checkout>] [--bursts=N] [--encrypted]
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RawPeer } from "./contenders/raw-peer.mjs";
import { plainOptions, playgroundOf } from "./tree-playground.mjs";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const tree = resolve(arg("tree", repoRoot));
const BURSTS = Number(arg("bursts", 600));
const WARM_UP_BURSTS = Math.min(100, Math.floor(BURSTS / 6));
const BURST = 4000;
const PAYLOAD = new Uint8Array(100).fill(0x5a);
const ENCRYPTED = process.argv.includes("--encrypted");

/** The bench's Playground options: plaintext, or with `--encrypted` the secure channel on. */
function options(tcpTransport, extra) {
  const o = plainOptions(tcpTransport, extra);
  if (ENCRYPTED) delete o.dangerouslyDisableEncryption;
  return o;
}

/** ns per send of each counted burst, sorted. */
async function bursts(send, received) {
  const samples = [];
  for (let r = 0; r < BURSTS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BURST; i++) send(PAYLOAD);
    const ns = Number(process.hrtime.bigint() - t0) / BURST;
    if (r >= WARM_UP_BURSTS) samples.push(ns);
    while (received() < (r + 1) * BURST) await new Promise((done) => setImmediate(done));
  }
  return samples.sort((a, b) => a - b);
}

async function playground() {
  const { Playground, tcpTransport } = await playgroundOf(tree);
  const receiver = new Playground("send-path", options(tcpTransport));
  const sender = new Playground("send-path", options(tcpTransport, { listen: [] }));
  let got = 0;
  receiver.on("bench", () => got++);
  await receiver.start();
  await sender.start();
  const peer = await sender.join("127.0.0.1", receiver.port);
  const to = { to: peer.peerId };
  try {
    return await bursts((payload) => sender.send("bench", payload, to), () => got);
  } finally {
    await sender.stop();
    await receiver.stop();
  }
}

async function raw() {
  let got = 0;
  const server = createServer({ noDelay: true }, (socket) => new RawPeer(socket, () => got++));
  server.listen({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const socket = createConnection({ host: "127.0.0.1", port: server.address().port, noDelay: true });
  await once(socket, "connect");
  const peer = new RawPeer(socket, () => {});
  try {
    return await bursts((payload) => peer.send(payload), () => got);
  } finally {
    socket.destroy();
    server.close();
  }
}

const show = (name, s) => `${name.padEnd(28)} p10 ${s[Math.floor(s.length * 0.1)].toFixed(1).padStart(6)}   p50 ${s[Math.floor(s.length * 0.5)].toFixed(1).padStart(6)}  ns per send`;
console.log(`send path: ${BURSTS - WARM_UP_BURSTS} bursts of ${BURST} sends of 100 B (after ${WARM_UP_BURSTS} to warm up); packages of ${tree}`);
console.log(show("RAW node:net send", await raw()));
console.log(show(`xppg pg.send, ${ENCRYPTED ? "encrypted" : "plaintext"}`, await playground()));
