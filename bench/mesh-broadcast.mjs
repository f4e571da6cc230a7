// xppg mesh benchmark: one broadcast to a 100-node mesh on loopback.
//
//   pnpm bench                          (runs this file after the transport bench; pnpm bench:mesh alone)
//   node bench/mesh-broadcast.mjs --nodes=100 --processes=4 --broadcasts=200
//   node bench/mesh-broadcast.mjs --spacing=50,250      (one window per interval between broadcasts)
//   BENCH_CPU_PROF=<dir> node bench/mesh-broadcast.mjs  (a .cpuprofile per process of each measured window)
//   BENCH_NODE_ENTRY=<dist/index.js> node bench/mesh-broadcast.mjs   (another build of @xppg/node, e.g. the one
//                                       before a change, run at the same time as this one to compare CPU per delivery)
//
// The nodes live in 4 child processes (25 each) on 127.0.0.1, each first
// joined to one or two others; the connection managers then bring every
// node to its low water mark. Once every node has heard of the 99 others and
// 50 broadcasts have let the broadcast tree form, 200 broadcasts from random
// nodes, 50 ms apart, measure:
// - the time for one broadcast to reach every other node (median, p99): the
//   last handler's arrival minus the send, on the one system clock;
// - whole transmissions per delivered message: each copy a node receives is
//   a delivery or a duplicate, so (deliveries + duplicates) / deliveries,
//   every duplicate of the window counted, those of the presence rounds
//   included (an upper bound; the idle window's duplicates are printed
//   beside it for scale); beside it, flooding's cost over the same links
//   ((2 links - (nodes - 2)) / (nodes - 1)); and where the copies go, from
//   the nodes' pg.stats: duplicates (those that came after a graft: late),
//   copies pulled by grafts, grafts, prunes and ids announced, per delivery;
// - CPU time of all the processes per delivery (the mesh saturates when
//   this times the deliveries per second nears the cores it gets), and the
//   CPU utilisation beside it: the processes' CPU time over the window's
//   wall time, in cores, and how busy the whole machine was. With
//   --spacing=50,250 each interval gets a window of its own (after an idle
//   window as long), so the saturated and the unsaturated figures are read
//   side by side from one run;
// - memory per node: each process's RSS and heap over its nodes.
// It measures; it never fails on a number. The machine is shared: read the
// load average printed with the figures.
import { fork } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The broadcast tree's counters (pg.stats), summed over the nodes for the breakdown. */
const TREE_COUNTERS = ["meshGrafts", "meshPrunes", "pulledBroadcasts", "announcedBroadcasts", "lateBroadcasts"];

if (process.argv[2] === "worker") await worker();
else await main();

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
  const NODES = Number(args.nodes ?? 100);
  const PROCESSES = Number(args.processes ?? 4);
  const BROADCASTS = Number(args.broadcasts ?? 200);
  // --spacing=50,250: one measured window per interval between broadcasts, in this order (the default, 50 ms,
  // makes some 2,000 deliveries a second, which saturates two cores; a longer interval shows the mesh unsaturated).
  const SPACINGS = String(args.spacing ?? "50").split(",").map(Number);
  if (SPACINGS.some((x) => !Number.isFinite(x) || x < 1)) throw new Error(`--spacing takes intervals in ms, e.g. --spacing=50,250; got ${args.spacing}`);
  const CORES = availableParallelism();
  const per = Math.ceil(NODES / PROCESSES);
  const load0 = loadavg()[0];
  const started = performance.now();
  // BENCH_CPU_PROF=<dir>: a V8 .cpuprofile per worker process of the measured broadcasts only (summarise: node bench/profile-summary.mjs <file>).
  const prof = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (prof !== undefined) mkdirSync(prof, { recursive: true });
  const kids = Array.from({ length: PROCESSES }, () => child(fork(fileURLToPath(import.meta.url), ["worker", String(per)], { stdio: ["ignore", "inherit", "inherit", "ipc"] })));
  const killAll = () => kids.forEach((k) => k.proc.kill("SIGKILL"));
  const where = (i) => ({ kid: kids[i % PROCESSES], node: Math.floor(i / PROCESSES) });
  const random = mulberry(7);
  const deadline = setTimeout(() => {
    process.stderr.write("mesh bench: no result in time, stopping\n");
    killAll();
    process.exit(1);
  }, 600_000 + SPACINGS.reduce((ms, spacing) => ms + 2 * (BROADCASTS * spacing + 3000), 0));
  try {
    const ready = await Promise.all(kids.map((k) => k.next("ready")));
    const ports = ready.map((r) => r.ports);
    const joins = Array.from({ length: PROCESSES }, () => []);
    for (let i = 1; i < NODES; i++) {
      const targets = new Set([Math.floor(random() * i)]);
      if (i > 2 && random() < 0.5) targets.add(Math.floor(random() * i));
      for (const j of targets) joins[i % PROCESSES].push({ node: Math.floor(i / PROCESSES), port: ports[j % PROCESSES][Math.floor(j / PROCESSES)] });
    }
    progress("joining");
    await Promise.all(kids.map((k, p) => k.ask({ op: "joins", joins: joins[p] })));
    progress("waiting for the low water mark and every presence");
    let polls = 0;
    for (;;) {
      const s = await Promise.all(kids.map((k) => k.ask({ op: "status" })));
      const nodes = s.flatMap((x) => x.nodes);
      if (nodes.every((n) => n.connected >= n.lowWater && n.members >= NODES - 1)) break;
      if (++polls % 20 === 0) progress(`  ${nodes.filter((n) => n.connected < n.lowWater).length} nodes below the low water mark, fewest members heard ${Math.min(...nodes.map((n) => n.members))}`);
      await sleep(500);
    }
    progress("forming the tree (50 broadcasts)");
    for (let b = 0; b < 50; b++) {
      const at = where(Math.floor(random() * NODES));
      at.kid.tell({ op: "send", node: at.node, i: -1 - b });
      await sleep(SPACINGS[0]);
    }
    await sleep(2000);
    // Each window's rows are printed as soon as it is measured: a run stopped later keeps them.
    const print = (rows) => {
      for (const [k, v, note] of rows) process.stdout.write(`  ${k.padEnd(36)}  ${v.padStart(10)}   ${note}\n`);
    };
    // One window per interval, each after an idle window as long: each figure is read beside the CPU it took.
    for (const [w, spacing] of SPACINGS.entries()) {
      const rows = await measure(w, spacing);
      process.stdout.write(`\nmesh broadcast, one every ${spacing} ms (loopback, load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} now, ${((performance.now() - started) / 1000).toFixed(0)} s, ${CORES} cores)\n`);
      print(rows);
    }
    const mem = await Promise.all(kids.map((k) => k.ask({ op: "memory" })));
    const rssPerNode = mem.reduce((n, m) => n + m.rss, 0) / NODES;
    const heapPerNode = mem.reduce((n, m) => n + m.heapUsed, 0) / NODES;
    print([
      ["memory per node, RSS", `${(rssPerNode / 2 ** 20).toFixed(2)} MiB`, "process RSS / its nodes (Node's own ~40 MiB per process included)"],
      ["memory per node, heap", `${(heapPerNode / 2 ** 20).toFixed(2)} MiB`, "V8 heap used / nodes"],
    ]);
  } finally {
    clearTimeout(deadline);
    killAll();
  }

  /** One measured window: `BROADCASTS` broadcasts `spacing` ms apart (ids from `w * BROADCASTS`), after an idle window as long. */
  async function measure(w, spacing) {
    const at = SPACINGS.length > 1 ? ` at ${spacing} ms` : "";
    const windowMs = BROADCASTS * spacing + 3000;
    progress(`idle window (${windowMs} ms, presence rounds only)`);
    const idle0 = await totals(kids);
    await sleep(windowMs);
    const idle1 = await totals(kids);
    progress(`${BROADCASTS} broadcasts, ${spacing} ms apart`);
    const sent = [];
    if (prof !== undefined) await Promise.all(kids.map((k) => k.ask({ op: "profile", start: true })));
    const before = await totals(kids);
    for (let b = 0; b < BROADCASTS; b++) {
      const from = Math.floor(random() * NODES);
      const node = where(from);
      sent.push(await node.kid.ask({ op: "send", node: node.node, i: w * BROADCASTS + b }));
      await sleep(spacing);
    }
    await sleep(3000);
    const after = await totals(kids);
    if (prof !== undefined) await Promise.all(kids.map((k) => k.ask({ op: "profile", start: false, dir: prof, label: `${spacing}ms` })));
    const arrivals = await Promise.all(kids.map((k) => k.ask({ op: "arrivals" })));
    const latencies = [];
    let reachedAll = 0;
    for (let b = 0; b < BROADCASTS; b++) {
      let last = 0;
      let count = 0;
      for (const a of arrivals) {
        for (const node of a.nodes) {
          const t = node[w * BROADCASTS + b];
          if (t !== undefined) {
            count++;
            last = Math.max(last, t);
          }
        }
      }
      if (count === NODES - 1) {
        reachedAll++;
        latencies.push(last - sent[b].at);
      }
    }
    latencies.sort((x, y) => x - y);
    const deliveries = BROADCASTS * (NODES - 1);
    // Every whole copy received during the window counts, the presence rounds' own included: an upper bound.
    // (Taking an idle window's presence duplicates off gave figures under 1, which no broadcast can cost:
    // presence rounds come in bursts, so two windows of equal length hold different numbers of them.)
    const duplicates = after.duplicates - before.duplicates;
    const links = after.links / 2;
    const flood = (2 * links - (NODES - 2)) / (NODES - 1);
    progress(`during the broadcasts: ${after.dials - before.dials} dials, ${after.trimmed - before.trimmed} links trimmed, ${after.forwarded - before.forwarded} forwarded, ${duplicates} duplicates (idle window: ${idle1.duplicates - idle0.duplicates} duplicates, ${idle1.forwarded - idle0.forwarded} forwarded, ${idle1.dials - idle0.dials} dials)`);
    // Where the whole copies go, per delivered message: during the broadcasts, and in the idle window (presences only) for scale.
    const per = (a, b, k, d = deliveries) => ((a[k] - b[k]) / d).toFixed(3);
    const breakdown = (a, b, d) => `duplicates ${per(a, b, "duplicates", d)} (late after a graft ${per(a, b, "lateBroadcasts", d)}), pulled by graft ${per(a, b, "pulledBroadcasts", d)}, grafts ${per(a, b, "meshGrafts", d)}, prunes ${per(a, b, "meshPrunes", d)}, ids announced ${per(a, b, "announcedBroadcasts", d)}`;
    progress(`per delivered message during the broadcasts: ${breakdown(after, before, deliveries)}`);
    progress(`idle window, per broadcast-window delivery: ${breakdown(idle1, idle0, deliveries)}`);
    // How busy the processes were: their CPU time over the window's wall time, in cores, beside the cores the machine has
    // (near or past the cores, or a machine busy with other work, and the figures above are those of a saturated mesh).
    const cores = (after.cpuUs - before.cpuUs) / 1000 / (after.wallMs - before.wallMs);
    const machine = after.machine !== null && before.machine !== null ? (after.machine.busy - before.machine.busy) / ((after.wallMs - before.wallMs) / 1000) : NaN;
    const rate = deliveries / ((after.wallMs - before.wallMs) / 1000);
    return [
      [`broadcast to all, median${at}`, `${pct(latencies, 0.5).toFixed(1)} ms`, `${reachedAll} of ${BROADCASTS} reached all ${NODES - 1} other nodes; one broadcast every ${spacing} ms`],
      [`broadcast to all, p99${at}`, `${pct(latencies, 0.99).toFixed(1)} ms`, `${NODES} nodes, ${PROCESSES} processes, ${links} links (mean degree ${((2 * links) / NODES).toFixed(2)})`],
      [`transmissions per delivery${at}`, `${((deliveries + duplicates) / deliveries).toFixed(3)}`, `tree formed (target <= 1.5); every duplicate in the window counted, presences' included; CPU ${cores.toFixed(2)} of ${CORES} cores (machine ${machine.toFixed(2)} busy)`],
      ["  of which duplicates", `${per(after, before, "duplicates")}`, `late after a graft ${per(after, before, "lateBroadcasts")}, pulled by graft ${per(after, before, "pulledBroadcasts")}`],
      ["  control per delivery", `${((after.meshGrafts - before.meshGrafts + after.meshPrunes - before.meshPrunes) / deliveries).toFixed(3)}`, `grafts ${per(after, before, "meshGrafts")} + prunes ${per(after, before, "meshPrunes")}; ids announced ${per(after, before, "announcedBroadcasts")} (batched)`],
      ["  flooding, same links", `${flood.toFixed(3)}`, "(2 links - (nodes - 2)) / (nodes - 1)"],
      [`CPU per delivery${at}`, `${((after.cpuUs - before.cpuUs) / deliveries).toFixed(0)} us`, `all ${PROCESSES} processes' CPU time during the broadcasts / deliveries (idle window: ${((idle1.cpuUs - idle0.cpuUs) / deliveries).toFixed(0)} us per as many); ${rate.toFixed(0)} deliveries/s`],
      [`  idle CPU taken off${at}`, `${((after.cpuUs - before.cpuUs - ((idle1.cpuUs - idle0.cpuUs) * (after.wallMs - before.wallMs)) / (idle1.wallMs - idle0.wallMs)) / deliveries).toFixed(0)} us`, "CPU per delivery less the idle window's CPU rate over as long (presences, heartbeats, peer exchange)"],
      [`CPU utilisation${at}`, `${cores.toFixed(2)} cores`, `the ${PROCESSES} processes' CPU time / the window's wall time; the machine has ${CORES} cores, ${machine.toFixed(2)} of them busy (all processes); near ${CORES}: saturated`],
    ];
  }
}

async function totals(kids) {
  const s = await Promise.all(kids.map((k) => k.ask({ op: "status" })));
  const nodes = s.flatMap((x) => x.nodes);
  const sum = (k) => nodes.reduce((n, x) => n + x[k], 0);
  const counts = Object.fromEntries(["duplicates", "connected", "dials", "trimmed", "forwarded", ...TREE_COUNTERS].map((k) => [k === "connected" ? "links" : k, sum(k)]));
  return { ...counts, cpuUs: s.reduce((n, x) => n + x.cpuUs, 0), wallMs: performance.now(), machine: machineBusy() };
}

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat: all but idle and iowait); null elsewhere. */
function machineBusy() {
  try {
    const f = readFileSync("/proc/stat", "utf8");
    const v = f.slice(0, f.indexOf("\n")).trim().split(/\s+/).slice(1).map(Number);
    return { busy: (v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4]) / 100 }; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function progress(what) {
  process.stderr.write(`mesh bench: ${what}\n`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function mulberry(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A child process with request/answer over IPC. */
function child(proc) {
  const waiting = [];
  const inbox = [];
  let nextId = 0;
  proc.on("message", (m) => {
    const i = waiting.findIndex((w) => w.match(m));
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  const wait = (match) =>
    new Promise((resolve) => {
      const i = inbox.findIndex(match);
      if (i >= 0) resolve(inbox.splice(i, 1)[0]);
      else waiting.push({ match, resolve });
    });
  return {
    proc,
    next: (type) => wait((m) => m.type === type),
    tell: (cmd) => proc.send(cmd),
    ask: (cmd) => {
      const id = ++nextId;
      proc.send({ ...cmd, id });
      return wait((m) => m.id === id);
    },
  };
}

/** A process of `argv[3]` nodes on 127.0.0.1, driven over IPC. */
async function worker() {
  process.on("disconnect", () => process.exit(0));
  // BENCH_NODE_ENTRY=<file>: another build of @xppg/node (its dist/index.js), to measure a change beside the build before it.
  const { Playground } = await import(process.env.BENCH_NODE_ENTRY ? pathToFileURL(resolve(process.env.BENCH_NODE_ENTRY)).href : "@xppg/node");
  const count = Number(process.argv[3]);
  const nodes = [];
  const arrivals = [];
  let profiler;
  const post = (session, method, params = {}) => new Promise((done, fail) => session.post(method, params, (error, result) => (error ? fail(error) : done(result))));
  const now = () => performance.timeOrigin + performance.now();
  for (let n = 0; n < count; n++) {
    // All nodes share one host here: the per-host share of pending handshakes is the whole.
    const pg = new Playground("mesh-bench", { host: "127.0.0.1", port: 0, limits: { handshakeTimeoutMs: 30_000, maxPendingHandshakesPerHost: 32 } });
    const got = [];
    pg.on("bench", (_src, _kind, payload) => {
      if (payload.i >= 0) got[payload.i] = now();
    });
    await pg.start();
    nodes.push(pg);
    arrivals.push(got);
  }
  process.send({ type: "ready", ports: nodes.map((pg) => pg.port) });
  process.on("message", async (cmd) => {
    if (cmd.op === "joins") {
      const queue = [...cmd.joins];
      const work = async () => {
        for (let j = queue.shift(); j !== undefined; j = queue.shift()) {
          // Under a heavy load a handshake can time out: a node whose joins all failed would stay alone for the whole run.
          for (let attempt = 0; attempt < 10; attempt++) {
            try {
              await nodes[j.node].join(`tcp://127.0.0.1:${j.port}`);
              break;
            } catch {
              await sleep(200 * (attempt + 1));
            }
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, work));
      process.send({ id: cmd.id });
    } else if (cmd.op === "status") {
      const cpu = process.cpuUsage();
      process.send({ id: cmd.id, cpuUs: cpu.user + cpu.system, nodes: nodes.map((pg) => ({ ...pg.connections, members: pg.meshPeers.length, duplicates: pg.stats.duplicateBroadcasts, forwarded: pg.stats.forwardedBroadcasts, ...Object.fromEntries(TREE_COUNTERS.map((k) => [k, pg.stats[k]])) })) });
    } else if (cmd.op === "send") {
      const at = now();
      await nodes[cmd.node].send("bench", { i: cmd.i });
      if (cmd.id !== undefined) process.send({ id: cmd.id, at });
    } else if (cmd.op === "arrivals") {
      process.send({ id: cmd.id, nodes: arrivals.map((got) => Object.fromEntries(got.map((t, i) => [i, t]).filter(([, t]) => t !== undefined))) });
    } else if (cmd.op === "profile") {
      // The measured window only: the joins and the tree's forming are left out.
      if (cmd.start) {
        profiler = new (await import("node:inspector")).Session();
        profiler.connect();
        await post(profiler, "Profiler.enable");
        await post(profiler, "Profiler.setSamplingInterval", { interval: 500 });
        await post(profiler, "Profiler.start");
      } else if (profiler !== undefined) {
        const { profile } = await post(profiler, "Profiler.stop");
        (await import("node:fs")).writeFileSync(`${cmd.dir}/mesh-${cmd.label}-${process.pid}.cpuprofile`, JSON.stringify(profile));
        profiler.disconnect();
        profiler = undefined;
      }
      process.send({ id: cmd.id });
    } else if (cmd.op === "memory") {
      globalThis.gc?.();
      const m = process.memoryUsage();
      process.send({ id: cmd.id, rss: m.rss, heapUsed: m.heapUsed });
    }
  });
}
