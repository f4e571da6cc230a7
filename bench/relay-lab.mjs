// Relay figures that the loopback bench cannot give (pnpm bench:relay):
//  - memory per circuit: a relay in its own process carries N idle circuits
//    (loopback, no root needed);
//  - in the internet lab (root only; h1 behind r1, h2 behind r2, both
//    port-restricted cone NATs, the relay on wan, each in a process of its own):
//    - throughput and round trip over the secure channel end to end, relayed
//      against punched (the direct path between the same two hosts) in the same
//      run, 3 rounds, median; the relay hop's own round trip (a TCP handshake to
//      the relay); the relay's limits are printed beside the figures;
//    - time to a punched connection from the first relayed message: a circuit
//      is dialled, its first frame sent at once, and the time until the circuit
//      reports the path "punched" is taken, over 20 tries, median and spread;
//    - the same through the facade (20 fresh Playground processes): from the
//      join's start (the relay dial, then the handshake's relayed messages)
//      until pg.peers shows "punched".
// Each Playground in the lab is the facade alone (packages/node/test/fixtures/reach-node.mjs).
import { execFileSync, fork, spawn, spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { relayTransport } from "@xppg/node/relay";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..");
const CIRCUITS = 200;
const TRIES = 20;
const ROUNDS = 3;
const FLOOD_MS = 2000;
const PINGS = 2000;
/** The relay the throughput is measured through: no rate or byte cap, so the figure is the relay's own cost. */
const UNCAPPED = { maxCircuitBytes: Number.MAX_SAFE_INTEGER, maxCircuitBytesPerSecond: Infinity };
/** A relay's default rate per circuit and direction, and its default byte limit per circuit (RelayService). */
const DEFAULT_RATE = 4 * 1024 * 1024;
const DEFAULT_CIRCUIT_BYTES = 64 * 1024 * 1024;
/**
 * What the capped circuit's bulk and msgs each send: a volume, not a time. Flooded
 * for FLOOD_MS, the circuit held what the kernel buffers before the relay took
 * (they grow with the connection, up to tens of MB), so its measures together
 * came near the relay's byte limit per circuit and, over it, the circuit was
 * closed and the dialler waited out its timeout. Five seconds' worth at the rate,
 * the first from the relay's full bucket: each takes about four seconds (the
 * figure reads as the time-bound flood's did, about 5.2 MB/s), and the two with
 * the pings and their framing (about 44 MB) stay some 20 MB under the limit.
 */
const CAPPED_FLOOD_BYTES = 20 * 1024 * 1024;
/** The longest a round trip of the rtt measure may take on a loaded machine (about 100 times what it takes here idle). */
const SLOW_ROUND_TRIP_MS = 20;
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

/**
 * A lab process printing JSON lines. `errorsFail` (the bench's own agent): an
 * `error` event (a failed dial, a circuit closed under a measure) fails the
 * wait at once, with its reason; the facade's agent answers some asks with one.
 */
function agent(prefix, ns, config, script = join(REPO, "packages/node/test/fixtures/reach-node.mjs"), errorsFail = false) {
  const child = spawn("ip", ["netns", "exec", `${prefix}${ns}`, process.execPath, script, JSON.stringify(config)], { stdio: ["pipe", "pipe", "inherit"] });
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
  const next = (pred, timeoutMs = 15_000, from = 0, what = "an answer") =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.slice(from).find((e) => (errorsFail && e.event === "error") || pred(e));
        if (hit === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        if (errorsFail && hit.event === "error") reject(new Error(`${ns}: ${hit.message}`));
        else resolve(hit);
      };
      const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`${ns}: timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    next,
    ask: (command, answer, timeoutMs = 15_000) => {
      const from = events.length;
      child.stdin.write(`${command}\n`);
      return next((e) => e.event === answer || e.event === "error", timeoutMs, from, `${command}'s ${answer}`);
    },
    stdinWrite: (s) => child.stdin.write(s),
    stop: () => new Promise((resolve) => (child.once("close", resolve), child.stdin.end())),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const benchAgent = (prefix, ns, config) => agent(prefix, ns, config, join(HERE, "relay-lab-agent.mjs"), true);

/** Relayed against punched over the secure channel, the relay's limits named; then the punch time at the transport. */
async function throughputAndPunch(prefix) {
  const relay = benchAgent(prefix, "wan", { role: "relay", relays: [{ listen: "tcp://198.18.0.1:4100", limits: UNCAPPED }, { listen: "tcp://198.18.0.1:4101" }] });
  await relay.next((e) => e.event === "ready");
  const listener = benchAgent(prefix, "h1", {
    role: "listener",
    reservations: [
      { relay: "relay://198.18.0.1:4100", peerId: "relayed", punch: false },
      { relay: "relay://198.18.0.1:4100", peerId: "punched", punch: true },
      { relay: "relay://198.18.0.1:4101", peerId: "capped", punch: false },
    ],
  });
  await listener.next((e) => e.event === "ready");
  const runs = { relayed: [], punched: [], capped: [] };
  const relayCpu = async () => relay.ask("cpu", "cpu");
  const dial = async (kind) => {
    const capped = kind === "capped";
    const d = benchAgent(prefix, "h2", {
      role: "dialer",
      target: `relay://198.18.0.1:${capped ? 4101 : 4100}/p/${kind}`,
      punch: kind === "punched",
      durationMs: FLOOD_MS,
      ...(capped ? { floodBytes: CAPPED_FLOOD_BYTES } : {}),
      pings: PINGS,
      relayHost: "198.18.0.1",
      relayPort: 4100,
    });
    await d.next((e) => e.event === "open", 30_000, 0, `the ${kind} circuit`);
    const r = { kind };
    // A measure's wait scales with its work: a flood's time (at the capped rate, its volume's), the rtt's round trips.
    const floodMs = capped ? (1000 * CAPPED_FLOOD_BYTES) / DEFAULT_RATE : FLOOD_MS;
    const timeoutMs = { bulk: 15_000 + floodMs, msgs: 15_000 + floodMs, rtt: 15_000 + (PINGS + 200) * SLOW_ROUND_TRIP_MS, hop: 15_000 };
    for (const measure of ["bulk", "msgs", "rtt", ...(kind === "relayed" ? ["hop"] : [])]) {
      const before = await relayCpu();
      const m = await d.ask(measure, "result", timeoutMs[measure]);
      const after = await relayCpu();
      const relayUs = after.us - before.us;
      const relayUserUs = after.userUs - before.userUs;
      if (measure === "bulk" || measure === "msgs") {
        r[measure] = { mbps: m.mbps, senderUsPerMB: m.senderUsPerMB, receiverUsPerMB: m.receiverUsPerMB, relayUsPerMB: kind === "punched" ? 0 : relayUs / (m.bytes / 1e6), relayUserUsPerMB: kind === "punched" ? 0 : relayUserUs / (m.bytes / 1e6) };
      } else if (measure === "rtt") r.rttUs = m.rttUs;
      else r.relayHopUs = m.relayHopUs;
      r.path = m.path;
    }
    const f = (x) => `${x.mbps.toFixed(1)} MB/s (CPU us/MB: sender ${x.senderUsPerMB.toFixed(0)}, receiver ${x.receiverUsPerMB.toFixed(0)}, relay ${x.relayUsPerMB.toFixed(0)} (user ${x.relayUserUsPerMB.toFixed(0)}))`;
    log(`  ${kind}: bulk ${f(r.bulk)}; msgs ${f(r.msgs)}; rtt ${r.rttUs.toFixed(0)} us${r.relayHopUs === undefined ? "" : `, relay hop ${r.relayHopUs.toFixed(0)} us`} (path ${r.path})`);
    runs[kind].push(r);
    await d.stop();
  };
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS} (load ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
    for (const kind of ["punched", "relayed", "capped"]) await dial(kind);
  }
  const m = (kind, get) => median(runs[kind].map(get));
  /**
   * The rate the CPU alone would allow, from CPU time per MB: each process on a core of its
   * own (a relay is another machine), and all of them sharing this machine's two cores.
   */
  const cpuBound = (kind, phase) => {
    const per = (k) => m(kind, (r) => r[phase][k]);
    const s = per("senderUsPerMB");
    const rc = per("receiverUsPerMB");
    const relayed = per("relayUsPerMB");
    return { ownCores: 1e6 / Math.max(s, rc, relayed), twoCores: Math.min(1e6 / Math.max(s, rc, relayed), 2e6 / (s + rc + relayed)), perMB: { sender: s, receiver: rc, relay: relayed, relayUser: per("relayUserUsPerMB") } };
  };
  const phase = (p) => ({
    relayed: m("relayed", (r) => r[p].mbps),
    direct: m("punched", (r) => r[p].mbps),
    capped: m("capped", (r) => r[p].mbps),
    cpuRelayed: cpuBound("relayed", p),
    cpuDirect: cpuBound("punched", p),
  });
  // Fresh processes per try, as a node punches one address only a few times a minute.
  const pt = { times: [], failed: 0, reasons: [] };
  for (let i = 0; i < TRIES; i++) {
    const l = benchAgent(prefix, "h1", { role: "listener", reservations: [{ relay: "relay://198.18.0.1:4100", peerId: `try${i}`, punch: true }] });
    await l.next((e) => e.event === "ready");
    const d = benchAgent(prefix, "h2", { role: "dialer", measure: "punch-time", target: `relay://198.18.0.1:4100/p/try${i}`, tries: 1 });
    const r = await d.next((e) => e.event === "punch-time", 30_000);
    pt.times.push(...r.times);
    pt.failed += r.failed;
    pt.reasons.push(...r.reasons);
    log(`  punch try ${i + 1}/${TRIES}: ${r.times.length === 1 ? `punched ${r.times[0].toFixed(1)} ms after the first relayed message` : `stayed relayed (${r.reasons.join(", ")})`}`);
    await Promise.all([d.stop(), l.stop()]);
  }
  await Promise.all([listener.stop(), relay.stop()]);
  const sorted = [...pt.times].sort((a, b) => a - b);
  return {
    bulk: phase("bulk"),
    msgs: phase("msgs"),
    rtt: { relayed: m("relayed", (r) => r.rttUs), direct: m("punched", (r) => r.rttUs), hop: m("relayed", (r) => r.relayHopUs) },
    punch: { tries: TRIES, punched: sorted.length, failed: pt.failed, reasons: [...new Set(pt.reasons)], medianMs: median(sorted) ?? null, minMs: sorted[0] ?? null, maxMs: sorted.at(-1) ?? null },
  };
}

async function timeToPunch() {
  const prefix = `xppg-b${process.pid}-`;
  const lab = (...args) => execFileSync(join(REPO, "tools/netlab/internet.sh"), [`--prefix=${prefix}`, ...args], { encoding: "utf8" });
  lab("up");
  try {
    const t = await throughputAndPunch(prefix);
    const pct = (a, b) => `${Math.round((100 * a) / b)}%`;
    const f = (x) => x.toFixed(1);
    console.log(`relay limits: throughput through a relay with maxCircuitBytesPerSecond = Infinity, maxCircuitBytes = unlimited (other limits default); "capped" is a relay with every default (${DEFAULT_RATE / 1024 / 1024} MiB/s per circuit and direction, ${DEFAULT_CIRCUIT_BYTES / 1024 / 1024} MiB per circuit), its bulk and msgs ${CAPPED_FLOOD_BYTES / 1024 / 1024} MiB each`);
    for (const [name, x] of [["bulk 64 KiB", t.bulk], ["msgs 100 B", t.msgs]]) {
      console.log(`${name}, secure channel end to end, median of ${ROUNDS}: relayed ${f(x.relayed)} MB/s = ${pct(x.relayed, x.direct)} of direct (punched) ${f(x.direct)} MB/s [target >= 50%]; relay with every default (4 MiB/s cap) ${f(x.capped)} MB/s`);
      const c = x.cpuRelayed.perMB;
      const d = x.cpuDirect.perMB;
      console.log(`  CPU us per MB (user + system; the system part includes the lab's veths and NAT rules): relayed sender ${c.sender.toFixed(0)} / relay ${c.relay.toFixed(0)} (user ${c.relayUser.toFixed(0)}) / receiver ${c.receiver.toFixed(0)}; direct sender ${d.sender.toFixed(0)} / receiver ${d.receiver.toFixed(0)}`);
      console.log(`  CPU-bound estimate: relay on its own machine ${pct(x.cpuRelayed.ownCores, x.cpuDirect.ownCores)} of direct; all three on these two cores ${pct(x.cpuRelayed.twoCores, x.cpuDirect.twoCores)} of direct`);
    }
    const bound = 2 * t.rtt.direct + t.rtt.hop;
    console.log(`round trip 100 B, median of ${ROUNDS}: relayed ${t.rtt.relayed.toFixed(0)} us, direct (punched) ${t.rtt.direct.toFixed(0)} us, relay hop (TCP handshake to the relay) ${t.rtt.hop.toFixed(0)} us; target relayed <= 2 x direct + hop = ${bound.toFixed(0)} us: ${t.rtt.relayed <= bound ? "met" : "MISSED"}`);
    const p = t.punch;
    console.log(`time to a punched connection from the first relayed message (transport, cone <-> cone): median ${p.medianMs?.toFixed(1)} ms (min ${p.minMs?.toFixed(1)}, max ${p.maxMs?.toFixed(1)}) over ${p.punched}/${p.tries} tries (${p.failed} stayed relayed${p.failed > 0 ? `: ${p.reasons.join("; ")}` : ""})`);

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
    return { facade: true, tries: TRIES, punched: times.length, failed, medianMs: times[Math.floor(times.length / 2)] ?? null, minMs: times[0] ?? null, maxMs: times.at(-1) ?? null };
  } finally {
    lab("down");
  }
}

console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
const memory = await memoryPerCircuit();
console.log(`relay memory per circuit (${memory.circuits} idle circuits, relay process): RSS ${memory.rssBytesPerCircuit} B, heap ${memory.heapBytesPerCircuit} B, external ${memory.externalBytesPerCircuit} B`);
const skip = labSkip();
if (skip !== undefined) console.log(`time to a punched connection: SKIPPED (${skip})`);
else {
  const p = await timeToPunch();
  console.log(`time to a punched connection through the facade, cone <-> cone in the lab, from the join's start: median ${p.medianMs} ms (min ${p.minMs}, max ${p.maxMs}) over ${p.punched}/${p.tries} tries (${p.failed} stayed relayed)`);
}
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
