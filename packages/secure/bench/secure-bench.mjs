// Micro-benchmark of @xppg/secure over real TCP on loopback, against a raw
// node:net socket (unencrypted) and the plain tcpTransport, in the same run.
// Not a test: it prints figures. Build first (`pnpm build`), then:
//
//   node packages/secure/bench/secure-bench.mjs            (sender and receiver in two processes)
//   SAME_PROCESS=1 node packages/secure/bench/secure-bench.mjs   (both in this one process)
//
// As in bench/run.mjs, the receiver runs in a child process by default, so
// encryption and decryption each get a core. The sender awaits every send.
import { fork } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { tcpTransport } from "@xppg/transport-tcp";
import { cryptoProvider, generateIdentity, identityFromSecretKey, secureConnection } from "../dist/index.js";

const CASES = [
  { name: "small (100 B)", size: 100, count: 400_000 },
  { name: "bulk (64 KiB)", size: 64 * 1024, count: 8_000 },
].filter((c) => process.env.ONLY === undefined || c.name.startsWith(process.env.ONLY));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SERVER_SEED = new Uint8Array(32).fill(42);
// Optional: the tcpTransport high-water mark of the sender (bytes).
const HWM = process.env.HWM === undefined ? undefined : Number(process.env.HWM);

if (process.argv[2] === "receiver") await receiver();
else await main();

/** The receiving side: a raw server, a tcpTransport server and a secure one; counts and reports to the parent. */
async function receiver() {
  const server = identityFromSecretKey(SERVER_SEED);
  let goal = Infinity;
  let got = 0;
  const count = (n) => {
    got += n;
    if (got >= goal) {
      goal = Infinity;
      process.send({ type: "done" });
    }
  };
  const rawServer = createServer((s) => s.on("data", (c) => count(c.byteLength)));
  rawServer.listen(0, "127.0.0.1");
  await once(rawServer, "listening");
  const t = tcpTransport();
  const sink = { frame: () => count(1) };
  const plain = await t.listen("tcp://127.0.0.1:0", (c) => c.read(sink));
  const secure = await t.listen("tcp://127.0.0.1:0", (c) => {
    secureConnection(c, { identity: server }).then((sc) => sc.read(sink), () => {});
  });
  process.on("message", (m) => {
    if (m.type === "expect") {
      got = 0;
      goal = m.goal;
      process.send({ type: "ready" });
    } else if (m.type === "exit") process.exit(0);
  });
  process.send({ type: "ports", raw: rawServer.address().port, plain: plain.address, secure: secure.address });
}

function inProcessReceiver() {
  // The same protocol as the child, through a fake IPC channel.
  const parent = { handlers: [], send: (m) => queueMicrotask(() => parent.handlers.forEach((h) => h(m))) };
  const child = { handlers: [], send: (m) => queueMicrotask(() => child.handlers.forEach((h) => h(m))) };
  process.send = (m) => parent.send(m);
  const on = process.on.bind(process);
  process.on = (ev, h) => (ev === "message" ? child.handlers.push(h) : on(ev, h));
  void receiver();
  return { on: (_ev, h) => parent.handlers.push(h), send: (m) => (m.type === "exit" ? process.exit(0) : child.send(m)) };
}

async function main() {
  const same = process.env.SAME_PROCESS === "1";
  const child = same ? inProcessReceiver() : fork(fileURLToPath(import.meta.url), ["receiver"], { stdio: "inherit" });
  let waiter = null;
  let portsMsg;
  const ports = new Promise((r) => (portsMsg = r));
  child.on("message", (m) => {
    if (m.type === "ports") portsMsg(m);
    else waiter?.(m);
  });
  const next = () => new Promise((r) => (waiter = r));
  const { raw: rawPort, plain, secure } = await ports;
  const client = generateIdentity();
  const serverId = identityFromSecretKey(SERVER_SEED).peerId;
  async function runRaw(size, count) {
    const socket = createConnection({ port: rawPort, host: "127.0.0.1", noDelay: true });
    await once(socket, "connect");
    const finished = await armed(size * count);
    const buf = Buffer.alloc(size, 7);
    const start = performance.now();
    for (let i = 0; i < count; i++) if (!socket.write(buf)) await once(socket, "drain");
    await finished.done;
    const ms = performance.now() - start;
    socket.destroy();
    return ms;
  }

  async function runTransport(size, count, withSecurity) {
    const t = tcpTransport(HWM === undefined ? {} : { highWaterMark: HWM });
    let conn = await t.dial(withSecurity ? secure : plain);
    if (withSecurity) conn = await secureConnection(conn, { identity: client, expectedPeerId: serverId });
    const finished = await armed(count);
    const buf = new Uint8Array(size).fill(7);
    const start = performance.now();
    for (let i = 0; i < count; i++) await conn.send(buf);
    await finished.done;
    const ms = performance.now() - start;
    await conn.close();
    return ms;
  }

  /** Tells the receiver what to count; resolves (once it is ready) with a promise of "done". */
  async function armed(goal) {
    const ready = next();
    child.send({ type: "expect", goal });
    await ready;
    return { done: next() };
  }

  console.log(`@xppg/secure bench: provider ${cryptoProvider.name}, node ${process.version}, ${same ? "one process" : "receiver in a child process"}, best of ${ROUNDS}`);
  for (const { name, size, count } of CASES) {
    await runRaw(size, Math.ceil(count / 10));
    await runTransport(size, Math.ceil(count / 10), false);
    await runTransport(size, Math.ceil(count / 10), true);
    const r = [];
    const p = [];
    const s = [];
    for (let i = 0; i < ROUNDS; i++) {
      r.push(await runRaw(size, count));
      p.push(await runTransport(size, count, false));
      s.push(await runTransport(size, count, true));
    }
    const best = (a) => Math.min(...a);
    const rate = (ms) => Math.round((count / ms) * 1000);
    const mbps = (ms) => ((size * count) / ms / 1000).toFixed(0);
    const pct = (ms) => `${((best(r) / ms) * 100).toFixed(0)}% of raw`;
    console.log(`${name}:`);
    console.log(`  raw node:net   ${rate(best(r))} msg/s  ${mbps(best(r))} MB/s`);
    console.log(`  tcpTransport   ${rate(best(p))} msg/s  ${mbps(best(p))} MB/s  (${pct(best(p))})`);
    console.log(`  secure         ${rate(best(s))} msg/s  ${mbps(best(s))} MB/s  (${pct(best(s))})`);
  }

  const t = tcpTransport();
  const setup = [];
  const handshake = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const conn = await t.dial(secure);
    const t1 = performance.now();
    const sc = await secureConnection(conn, { identity: client, expectedPeerId: serverId });
    const t2 = performance.now();
    if (i >= 10) {
      setup.push(t2 - t0);
      handshake.push(t2 - t1);
    }
    await sc.close();
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(2);
  console.log(`connection setup, median of ${setup.length}: ${median(setup)} ms (TCP dial + handshake); handshake alone ${median(handshake)} ms`);
  // The child exits on this message (so a --cpu-prof of it gets written).
  child.send({ type: "exit" });
}
