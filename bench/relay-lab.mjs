// Relay figures that the loopback bench cannot give (pnpm bench:relay):
//  - memory per circuit: a relay in its own process carries N idle circuits
//    (loopback, no root needed);
//  - time to a punched connection: in the internet lab (root only), h2 joins
//    h1 through a relay on wan, both behind port-restricted cone NATs, 20 times
//    with fresh processes; the time from the join's start (the first relayed
//    message) until pg.peers shows the path "punched". Median and spread.
// Each Playground in the lab is the facade alone (packages/node/test/fixtures/reach-node.mjs).
import { execFileSync, fork, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { relayTransport } from "@xppg/node/relay";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..");
const CIRCUITS = 200;
const TRIES = 20;
const log = (line) => process.stderr.write(`${line}\n`);

async function memoryPerCircuit() {
  const child = fork(join(HERE, "contenders/relay-process.mjs"), ["127.0.0.1"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const ask = (what) => new Promise((resolve) => child.once("message", resolve) && child.send(what));
  const { port } = await new Promise((resolve) => child.once("message", resolve));
  const accepted = [];
  const listener = await relayTransport({ peerId: "memory-bench", punch: false }).listen(`relay://127.0.0.1:${port}`, (c) => accepted.push(c));
  const dialer = relayTransport({ punch: false });
  await new Promise((r) => setTimeout(r, 300));
  const before = await ask("memory");
  const conns = [];
  for (let i = 0; i < CIRCUITS; i++) conns.push(await dialer.dial(`relay://127.0.0.1:${port}/p/memory-bench`));
  for (const c of conns) await c.send(new Uint8Array(100));
  await new Promise((r) => setTimeout(r, 300));
  const after = await ask("memory");
  const per = (k) => Math.round((after.memory[k] - before.memory[k]) / CIRCUITS);
  const result = { circuits: after.stats.circuits, rssBytesPerCircuit: per("rss"), heapBytesPerCircuit: per("heapUsed"), externalBytesPerCircuit: per("external") };
  await Promise.all([...conns, ...accepted].map((c) => c.close()));
  await listener.close();
  child.disconnect();
  return result;
}

function labSkip() {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  if (["ip", "nft"].some((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status !== 0)) return "missing ip or nft (apt-get install -y iproute2 nftables)";
  return undefined;
}

function agent(prefix, ns, config) {
  const child = spawn("ip", ["netns", "exec", `${prefix}${ns}`, process.execPath, join(REPO, "packages/node/test/fixtures/reach-node.mjs"), JSON.stringify(config)]);
  const events = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  const next = (pred, timeoutMs = 15_000, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.slice(from).find(pred);
        if (hit === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`${ns}: timed out`))), timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    next,
    ask: (command, answer) => {
      const from = events.length;
      child.stdin.write(`${command}\n`);
      return next((e) => e.event === answer || e.event === "error", 15_000, from);
    },
    stop: () => new Promise((resolve) => (child.once("close", resolve), child.stdin.end())),
  };
}

async function timeToPunch() {
  const prefix = `xppg-b${process.pid}-`;
  const lab = (...args) => execFileSync(join(REPO, "tools/netlab/internet.sh"), [`--prefix=${prefix}`, ...args], { encoding: "utf8" });
  lab("up");
  try {
    const relay = agent(prefix, "wan", { listen: ["tcp://198.18.0.1:7000"], reach: { serveRelay: true, relayListen: "tcp://198.18.0.1:4100" } });
    await relay.next((e) => e.event === "ready");
    const times = [];
    let failed = 0;
    for (let i = 0; i < TRIES; i++) {
      const h1 = agent(prefix, "h1", { listen: ["tcp://0.0.0.0:7000"], join: ["tcp://198.18.0.1:7000"] });
      const h2 = agent(prefix, "h2", { listen: ["tcp://0.0.0.0:7000"] });
      try {
        await h1.next((e) => e.event === "ready");
        let address;
        for (let t = 0; t < 200 && address === undefined; t++) {
          address = (await h1.ask("reach", "reach")).advertised?.find((a) => a.startsWith("relay://"));
          if (address === undefined) await new Promise((r) => setTimeout(r, 25));
        }
        await h2.next((e) => e.event === "ready");
        await h2.ask(`join ${address}`, "joined");
        const path = await h2.next((e) => e.event === "path");
        if (path.path === "punched") times.push(path.ms);
        else failed++;
        log(`  try ${i + 1}/${TRIES}: ${path.path} after ${path.ms} ms`);
      } finally {
        await Promise.all([h1.stop(), h2.stop()]);
      }
    }
    await relay.stop();
    times.sort((a, b) => a - b);
    return { tries: TRIES, punched: times.length, failed, medianMs: times[Math.floor(times.length / 2)] ?? null, minMs: times[0] ?? null, maxMs: times.at(-1) ?? null };
  } finally {
    lab("down");
  }
}

const memory = await memoryPerCircuit();
console.log(`relay memory per circuit (${memory.circuits} idle circuits, relay process): RSS ${memory.rssBytesPerCircuit} B, heap ${memory.heapBytesPerCircuit} B, external ${memory.externalBytesPerCircuit} B`);
const skip = labSkip();
if (skip !== undefined) console.log(`time to a punched connection: SKIPPED (${skip})`);
else {
  const p = await timeToPunch();
  console.log(`time to a punched connection, cone <-> cone in the lab, from the join's start: median ${p.medianMs} ms (min ${p.minMs}, max ${p.maxMs}) over ${p.punched}/${p.tries} tries (${p.failed} stayed relayed)`);
}
