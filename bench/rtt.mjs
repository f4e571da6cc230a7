// The ping-pong round trip phase, measured so that its verdict holds on a
// shared machine (two cores, other work on them, a VM whose idle cores take
// tens of microseconds to wake).
//
// Timed one contender after the other, a round trip's median moved by a
// factor of four between two runs: a contender measured during a busy second
// lost to one measured during a quiet one. Here every contender's pair of
// processes is connected up front, then the pairs take turns: a block of
// `block` ping-pongs for each, in an order drawn afresh every cycle (a
// seeded random permutation: `--rttseed` repeats one), cycle after cycle, over
// the same seconds. A fixed or rotated order would always put the same pair
// just before a given one, and what a pair leaves behind (GC, pending work,
// caches) would land on the same contender every time. A block's figure is the
// median of its round trips, and a contender's ratio to another is the
// median over cycles of the ratio of their blocks in the same cycle, so a
// slow drift of the machine divides out. A pair's round trips give its
// percentiles (each pair counts as a round).
//
// Pinning (`--pin`): both processes of a pair on one core ("same", the
// default), each on a core of its own ("split") or left to the scheduler
// ("none"). A ping-pong is mostly sequential (one side runs while the other
// waits), but what a side does after replying (flushes, GC, timers) runs on
// the one core before the other side goes on, so one core counts it in the
// round trip where two cores would overlap it with the other side's work.
// Across cores, though, every hand-over wakes an idle core, which on a VM
// costs 10 to 80 us that vary from run to run and are no part of either
// contender's cost. `--pin=split` gives the other figure to read beside it.
import { execFileSync } from "node:child_process";

export const PIN_MODES = ["same", "split", "none"];

/**
 * Whether pairs can be pinned here, and how: `{ mode, cores, reason }`
 * where `cores` is `[receiverCore, senderCore]` or null when not pinned
 * (`reason` then says why).
 */
export function pinPlan(mode) {
  if (mode === "none") return { mode, cores: null, reason: "pinning turned off (--pin=none)" };
  let allowed;
  try {
    // The CPUs this process may run on (a container's cpuset, the user's own taskset), not all of the host's.
    allowed = parseCpuList(execFileSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" }));
  } catch {
    return { mode: "none", cores: null, reason: "taskset (util-linux) is missing, so the pairs are not pinned" };
  }
  if (allowed.length === 0) return { mode: "none", cores: null, reason: "taskset did not say which CPUs are allowed, so the pairs are not pinned" };
  if (mode === "split" && allowed.length < 2) return { mode: "none", cores: null, reason: `one allowed CPU only (${allowed[0]}), so "split" cannot pin` };
  // The last allowed CPU: on a two-core machine the first one takes most interrupts.
  const last = allowed.at(-1);
  return { mode, cores: mode === "same" ? [last, last] : [last, allowed.at(-2)], reason: null };
}

/** The CPUs of `taskset -pc`'s "pid N's current affinity list: 0-2,5", ascending. */
export function parseCpuList(text) {
  const list = text.slice(text.indexOf("list:") + "list:".length).trim();
  const cpus = new Set();
  for (const part of list.split(",")) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (m === null) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let c = from; c <= to; c += step) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The execArgv/execPath that start a child through `taskset -c core` (fork runs `execPath ...execArgv module`). */
export function pinnedFork(core, execArgv) {
  if (core === null || core === undefined) return { execArgv };
  return { execPath: "taskset", execArgv: ["-c", String(core), process.execPath, ...execArgv] };
}

/** The least time a pair may take to answer one block, start or stop before it alone is stopped. */
const PAIR_TIMEOUT_MIN_MS = 5_000;
/** ... and per round trip of a block, on a loaded machine. */
const PAIR_TIMEOUT_PER_ROUND_TRIP_MS = 50;
/** The longest a pair may take to start (its processes spawned, the contender's connection made). */
const START_TIMEOUT_MS = 60_000;

/**
 * One round of the phase for every contender at once.
 * @param {{ contenders: object[], phase: object, startPair: (name: string) => Promise<object>, random: () => number, signal?: AbortSignal, onCycle?: (done: number) => void }} o
 *   `startPair(name)` spawns and connects one contender's receiver and sender: `{ sender, receiver, stop(), kill() }`;
 *   `random` (seeded, see `seededRandom`) draws each cycle's order; `signal` stops the round (the round's
 *   watchdog): nothing here then waits any longer, and the pairs not yet done get an error.
 * @returns {Promise<Map<string, object[]>>} per contender name: each of its pairs' figures at the pair's index (`phase.pairs` of them), or `{ error }`.
 */
export async function measureRttRound({ contenders, phase, startPair, random, signal, onCycle }) {
  const out = new Map();
  /** The pairs still in the rotation. */
  const pairs = [];
  /** Every pair started, stopped at the end whatever happened. */
  const started = [];
  // A pair that stops answering (a lost message, a crash) is stopped alone, with an error for its
  // contender and index; the others go on. The bound grows with the block for slow contenders.
  const waitMs = Math.max(PAIR_TIMEOUT_MIN_MS, phase.block * PAIR_TIMEOUT_PER_ROUND_TRIP_MS);
  const drop = (p, error) => {
    out.get(p.name)[p.index] = { error: `pair ${p.index + 1}: ${error.message} (this pair was stopped; the others went on)` };
    p.kill();
    pairs.splice(pairs.indexOf(p), 1);
  };
  /** Runs one pair's step; a failure drops that pair (undefined is returned), the round's stop ends the round. */
  const step = async (p, what, run) => {
    try {
      return await bounded(run(), waitMs, signal, `${what} took longer than ${waitMs} ms`);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      drop(p, error);
      return undefined;
    }
  };
  const tell = (child, message) => {
    // A child gone already has no channel: sending would only raise an unhandled "error".
    if (!child.connected) throw new Error(`its process is gone (${child.signalCode ?? child.exitCode})`);
    child.send(message);
  };
  const block = (pair, rounds) => {
    tell(pair.sender, { type: "block", rounds });
    return pair.sender.next("block");
  };
  /** The receiver's CPU seconds so far and its forwarders' (`hopSeconds`, empty for a direct contender). */
  const receiverCpu = (pair) => {
    tell(pair.receiver, { type: "cpu" });
    return pair.receiver.next("cpu");
  };
  for (const c of contenders) out.set(c.name, new Array(phase.pairs).fill(null));
  try {
    // Each contender's pairs are apart in the cycle: a pair is judged against the others' pairs of the same index.
    // Each figure goes to out[contender][pair index], so a pair that failed to start leaves a gap
    // (an error) at its own index and pair i is still matched against pair i (blockRatio).
    for (let i = 0; i < phase.pairs; i++) {
      for (const c of contenders) {
        if (signal?.aborted) throw signal.reason;
        try {
          const p = { name: c.name, index: i, ...(await bounded(startPair(c.name), START_TIMEOUT_MS, signal, `starting took longer than ${START_TIMEOUT_MS} ms`)), blocks: [], samples: [] };
          pairs.push(p);
          started.push(p);
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          out.get(c.name)[i] = { error: error.message };
        }
      }
    }
    // Warm-up, interleaved too: the JIT settles and every pair's buffers are made.
    for (let done = 0; done < phase.warmupRounds; done += phase.block) {
      for (const p of [...pairs]) await step(p, "a warm-up block", () => block(p, phase.block));
    }
    for (const p of pairs) {
      p.senderCpu = 0;
      p.receiverCpu = 0;
      p.hopCpu = null;
    }
    const deadline = performance.now() + phase.maxMs;
    for (let cycle = 0; cycle < phase.blocks && performance.now() < deadline && pairs.length > 0; cycle++) {
      for (const p of shuffle([...pairs], random)) {
        // Each side's CPU over this block only (read outside its timing): the other pairs' turns and
        // the idle time between are in neither side's figure.
        const cpu0 = await step(p, "reading the receiver's CPU", () => receiverCpu(p));
        if (cpu0 === undefined) continue;
        const r = await step(p, `a block of ${phase.block} round trips`, () => block(p, phase.block));
        if (r === undefined) continue;
        const cpu1 = await step(p, "reading the receiver's CPU", () => receiverCpu(p));
        if (cpu1 === undefined) continue;
        const { samples: s, cpuSeconds } = r;
        p.senderCpu += cpuSeconds;
        p.receiverCpu += cpu1.seconds - cpu0.seconds;
        p.hopCpu ??= cpu1.hopSeconds.map(() => 0);
        cpu1.hopSeconds.forEach((x, i) => (p.hopCpu[i] += x - cpu0.hopSeconds[i]));
        p.blocks.push(median([...s].sort((a, b) => a - b)));
        for (const x of s) p.samples.push(x);
      }
      onCycle?.(cycle + 1);
    }
    for (const p of [...pairs]) {
      const finals = await step(p, "stopping", () => p.stop());
      if (finals === undefined) continue;
      pairs.splice(pairs.indexOf(p), 1);
      const s = p.samples.sort((a, b) => a - b);
      const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
      out.get(p.name)[p.index] = {
        rounds: s.length,
        blocks: p.blocks.length,
        medianUs: at(0.5),
        p90Us: at(0.9),
        p99Us: at(0.99),
        minUs: s[0],
        maxUs: s.at(-1),
        blockMediansUs: p.blocks,
        // CPU per round trip on each side, over the counted blocks: moved far less than the times by other work.
        senderCpuUsPerRoundTrip: (p.senderCpu / s.length) * 1e6,
        receiverCpuUsPerRoundTrip: (p.receiverCpu / s.length) * 1e6,
        // A routed contender's forwarders, each in its own process, over the same blocks (sender side first).
        ...(p.hopCpu?.length > 0 ? { hopCpuUsPerRoundTrip: p.hopCpu.map((x) => (x / s.length) * 1e6) } : {}),
        ...finals,
      };
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
    // The round was stopped: the pairs not done yet get its reason; the figures of those done stay.
    for (const p of pairs) out.get(p.name)[p.index] = { error: `pair ${p.index + 1}: ${error.message}` };
  } finally {
    for (const p of started) p.kill();
  }
  return out;
}

/** `promise`, or a rejection after `ms` (Error(`what`)) or when `signal` aborts (its reason), whichever comes first. */
function bounded(promise, ms, signal, what) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const settle = (f, v) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      f(v);
    };
    const onAbort = () => settle(reject, signal.reason);
    const timer = setTimeout(() => settle(reject, new Error(what)), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then((v) => settle(resolve, v), (e) => settle(reject, e));
  });
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed gives the same orders. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates, in place. */
function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * The ratio of `a`'s round trip to `b`'s from the rounds where both ran:
 * per round, the median over cycles of (a's block / b's block of the same
 * cycle); then the median over rounds, with their range.
 */
export function blockRatio(runsA, runsB) {
  const perRound = [];
  const all = [];
  for (let r = 0; r < Math.min(runsA.length, runsB.length); r++) {
    const a = runsA[r]?.blockMediansUs;
    const b = runsB[r]?.blockMediansUs;
    if (a === undefined || b === undefined) continue;
    const ratios = [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push(a[i] / b[i]);
    if (ratios.length === 0) continue;
    ratios.sort((x, y) => x - y);
    perRound.push(median(ratios));
    all.push(...ratios);
  }
  if (perRound.length === 0) return null;
  perRound.sort((x, y) => x - y);
  all.sort((x, y) => x - y);
  const q = (p) => all[Math.min(all.length - 1, Math.floor(p * all.length))];
  return { ratio: median(perRound), min: perRound[0], max: perRound.at(-1), blockP25: q(0.25), blockP75: q(0.75), rounds: perRound.length };
}

function median(sorted) {
  if (sorted.length === 0) return NaN;
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
