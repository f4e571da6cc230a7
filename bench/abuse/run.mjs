// xppg abuse bench: each attack of issue 16 against a victim Playground on
// loopback, with one honest peer echoing every 20 ms, one table row per
// attack and mode. A benchmark-style report, not a test: it never fails the
// process on a FAIL row.
//
//   pnpm bench:abuse                          (builds, then runs this file)
//   node bench/abuse/run.mjs --only slow-reader,replay --quick
//   node bench/abuse/run.mjs --help
//
// Three processes per row: the victim, the honest peer and the attacker.
// Traffic goes only to 127.0.0.1 (attack sockets come from 127.0.0.2, also
// loopback); every attack is bounded in time and count. Only the child
// processes this runner starts are ever stopped, by their pid.
import { fork } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ATTACKS } from "./attacks.mjs";
import { FD_TOLERANCE, RETAINED_TOLERANCE_BYTES, RSS_TOLERANCE_BYTES, RSS_TOLERANCE_SHARE, RTT_P99_TARGET_MS, countFds, fmtMiB, fmtMs, formatTable, judge, parseRssBytes, summarizeRtts } from "./report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = "xppg-abuse-bench";
const USAGE = `usage: node bench/abuse/run.mjs [--only a,b] [--quick]
  --only a,b   attacks to run (default all): ${ATTACKS.map((a) => a.name).join(", ")}
  --quick      encrypted mode only, shorter windows (about a minute)
env: ABUSE_CPU_PROF=<dir>  a V8 .cpuprofile of each victim (summarise: node bench/profile-summary.mjs <file>)
     ABUSE_HEAP_DIR=<dir>  a heap snapshot of each victim after the full GC before and after the attack
`;

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const { only, quick } = parseArgs(argv);
const scale = quick ? 0.5 : 1;
const AFTER_MS = quick ? 1500 : 2000;
const DEFAULT_WINDOW_MS = 2500;

const legend = `xppg abuse bench (issue 16): a victim Playground on 127.0.0.1, one honest peer sending it a ping every 20 ms,
one attacker; each in its own process. One row per attack and mode.
  mode      enc: encrypted (default); plain: dangerouslyDisableEncryption; tcp/ws: below the secure layer (encrypted victim)
  rtt       the honest peer's round trip during the attack, ms: p50 / p99 / max (a ping unanswered at the end counts with its age)
  loop      the victim's longest event-loop delay during the attack, ms (perf_hooks.monitorEventLoopDelay)
  rss, fds  the victim's resident memory and open descriptors (/proc/<pid>): before / peak during / ${AFTER_MS / 1000} s after the attacker
            stopped (a full GC first); MiB
  attacker  what the victim did to the attacker (dropped with a code, banned) or what the attack did
  result    PASS when: honest p99 < ${RTT_P99_TARGET_MS} ms; the honest link survived; memory back: rss after <= before + max(${RSS_TOLERANCE_BYTES / 2 ** 20} MiB,
            ${RSS_TOLERANCE_SHARE * 100}%), or else the victim retains (V8 heap used + external, after a full GC) at most ${RETAINED_TOLERANCE_BYTES / 2 ** 20} MiB more than
            before (freed memory the allocator keeps is no leak); fds after <= before + ${FD_TOLERANCE}; and the attack's own check
            (listed under the table) holds. FAIL otherwise. Timings depend on the machine: compare rows of one run.
`;
const plan = [];
for (const attack of ATTACKS) {
  if (only !== null && !only.includes(attack.name)) continue;
  for (const mode of attack.modes) if (!quick || mode !== "plain") plan.push({ attack, mode });
}
if (plan.length === 0) throw new Error(`--only names no attack; known: ${ATTACKS.map((a) => a.name).join(", ")}`);
const chosen = [...new Set(plan.map((p) => p.attack))];
const nameWidth = Math.max(...chosen.map((a) => a.name.length));
const attackList = chosen.map((a) => `  ${a.name.padEnd(nameWidth)}  ${a.title} [${windowOf(a) / 1000} s]`).join("\n");
process.stdout.write(`${legend}attacks [window]:\n${attackList}\n\n`);
const load0 = loadavg()[0];
if (load0 > 0.5) process.stderr.write(`note: load average is ${load0.toFixed(2)} before the run: other work shares the cores\n`);

const startedAt = Date.now();
const rows = [];
for (const [i, item] of plan.entries()) {
  const label = `[${String(i + 1).padStart(2)}/${plan.length}] ${item.attack.name} (${item.mode})`;
  process.stderr.write(`${label} ...`);
  let row;
  try {
    row = await runOne(item.attack, item.mode);
  } catch (error) {
    row = { attack: item.attack, mode: item.mode, error: String(error?.message ?? error) };
  }
  rows.push(row);
  process.stderr.write(` ${row.error ? `ERROR ${row.error}` : row.verdict.pass ? "PASS" : "FAIL"}\n`);
}

const header = ["attack", "mode", "rtt p50/p99/max", "loop", "rss before/peak/after", "fds before/peak/after", "attacker", "result"];
const table = [header];
for (const r of rows) {
  if (r.error) {
    table.push([r.attack.name, r.mode, "-", "-", "-", "-", "-", "ERROR"]);
    continue;
  }
  table.push([
    r.attack.name,
    r.mode,
    `${fmtMs(r.rtt.p50)}/${fmtMs(r.rtt.p99)}/${fmtMs(r.rtt.max)}`,
    fmtMs(r.eldMaxMs),
    `${fmtMiB(r.rss.before)}/${fmtMiB(r.rss.peak)}/${fmtMiB(r.rss.after)}`,
    `${r.fds.before}/${r.fds.peak}/${r.fds.after}`,
    r.evaluation.attacker,
    r.verdict.pass ? "PASS" : "FAIL",
  ]);
}
process.stdout.write(formatTable(table));
process.stdout.write("\nchecks and notes:\n");
for (const r of rows) {
  const name = `${r.attack.name} (${r.mode})`;
  if (r.error) {
    process.stdout.write(`  ${name}: ERROR ${r.error}\n`);
    continue;
  }
  const parts = [];
  if (r.evaluation.check) parts.push(`${r.evaluation.check.ok ? "ok" : "NOT MET"}: ${r.evaluation.check.text}`);
  if (r.evaluation.note) parts.push(r.evaluation.note);
  if (!r.honest.stayed) parts.push(`honest link lost (${r.honest.lostReason ?? "not listed"})`);
  if (r.rtt.count < 20) parts.push(`only ${r.rtt.count} honest round trip(s) measured`);
  if (r.honest.unanswered > 2) parts.push(`${r.honest.unanswered} honest ping(s) unanswered at the end`);
  const failures = r.verdict.reasons.filter((x) => x !== r.evaluation.check?.text);
  if (failures.length > 0) parts.push(`FAIL: ${failures.join("; ")}`);
  process.stdout.write(`  ${name}: ${parts.join(" | ") || "-"}\n`);
}
const passed = rows.filter((r) => !r.error && r.verdict.pass).length;
const resultsDir = join(HERE, "..", ".results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, "abuse-latest.json"),
  JSON.stringify(
    {
      startedAt: new Date(startedAt).toISOString(),
      quick,
      loadAverage: { start: load0, end: loadavg()[0] },
      rows: rows.map(({ attack, ...r }) => ({ attack: attack.name, title: attack.title, ...r, honest: r.honest && { ...r.honest, rtts: undefined } })),
    },
    null,
    2,
  ),
);
process.stderr.write("results written to bench/.results/abuse-latest.json\n");
process.stdout.write(`\n${passed}/${rows.length} PASS in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end\n`);

/** One attack in one mode: victim, honest peer, attacker, measured. */
async function runOne(attack, mode) {
  const encrypted = mode !== "plain";
  const windowMs = windowOf(attack);
  const kids = [];
  try {
    const victim = spawn("victim.mjs", { app: APP, encrypted, ...(attack.victim ?? {}) }, [
      "--expose-gc",
      ...(process.env.ABUSE_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.ABUSE_CPU_PROF}`] : []),
    ]);
    kids.push(victim);
    const ready = await victim.next("ready", 30_000);
    const honest = spawn("honest.mjs", { app: APP, encrypted, port: ready.port, victimId: ready.peerId });
    kids.push(honest);
    await honest.next("joined", 20_000);
    await sleepMs(300);
    const gcBefore = await victim.ask({ type: "gc" }, "gc-done");
    const before = { ...sample(victim.pid), retained: gcBefore.retained };
    const attacker = spawn("attacker.mjs", {
      attack: attack.name,
      ctx: { port: ready.port, wsPort: ready.wsPort, victimId: ready.peerId, encrypted, app: APP, durationMs: windowMs },
    });
    kids.push(attacker);
    // An attack whose preparation failed sends its result (the error) instead.
    const armed = attacker.next("armed", 120_000);
    const early = attacker.next("result", 120_000 + windowMs + 40_000);
    armed.catch(() => {});
    early.catch(() => {});
    const first = await Promise.race([armed.then(() => null), early]);
    if (first !== null) throw new Error(`the attack could not be prepared: ${String(first.error ?? "no error").split("\n")[0]}`);
    await honest.ask({ type: "mark" }, "marked");
    await victim.ask({ type: "eld-reset" }, "eld-reset-done");
    if (attack.victimLoad) victim.send({ type: "load-start" });
    const peak = { ...before };
    const sampler = setInterval(() => {
      const s = sample(victim.pid);
      peak.rss = Math.max(peak.rss, s.rss);
      peak.fds = Math.max(peak.fds, s.fds);
    }, 100);
    attacker.send({ type: "go" });
    // An attack that holds its sockets says when its window is over, then waits to be released;
    // one that fails early sends its result at once.
    const result = early;
    const windowEnd = attack.holdUntilRelease ? attacker.next("window-end", windowMs + 30_000) : result;
    windowEnd.catch(() => {});
    await Promise.race([windowEnd, result]);
    const fdsAtEnd = sample(victim.pid).fds;
    const honestResult = await honest.ask({ type: "collect" }, "collected");
    const during = await victim.ask({ type: "stats" }, "stats");
    attacker.send({ type: "release" });
    const outcome = await result;
    clearInterval(sampler);
    if (outcome.error) throw new Error(`the attack failed to run: ${outcome.error.split("\n")[0]}`);
    await Promise.race([attacker.exited, sleepMs(2000)]);
    stop(attacker);
    await sleepMs(AFTER_MS);
    const probe = attack.probeSet ? await victim.ask({ type: "probe-set", n: Date.now() }, "probe-set") : undefined;
    let honestProbe;
    if (attack.probeSet) {
      // The honest peer writes a new key too: it must reach the victim, not only its own replica.
      const key = `honest-probe-${Date.now()}`;
      honestProbe = await honest.ask({ type: "probe-set", key }, "probe-set");
      if (honestProbe.ok) {
        const t0 = Date.now();
        honestProbe.arrived = false;
        while (!honestProbe.arrived && Date.now() - t0 < 1500) {
          await sleepMs(50);
          honestProbe.arrived = (await victim.ask({ type: "has-key", key }, "has-key")).has;
        }
      }
    }
    const gcAfter = await victim.ask({ type: "gc" }, "gc-done");
    const after = { ...sample(victim.pid), retained: gcAfter.retained };
    const late = await victim.ask({ type: "stats" }, "stats");
    const victimStats = { ...during, left: late.left, bans: late.bans, stats: late.stats, probe, honestProbe };
    const measured = {
      rtt: summarizeRtts(honestResult.rtts),
      honestStayed: honestResult.stayed,
      rss: { before: before.rss, peak: peak.rss, after: after.rss },
      retained: { before: before.retained, after: after.retained },
      fds: { before: before.fds, peak: peak.fds, after: after.fds },
      fdsAtEnd,
      windowMs,
    };
    const evaluation = attack.evaluate(outcome.result, victimStats, measured);
    const verdict = judge({ ...measured, check: evaluation.check });
    honest.send({ type: "stop" });
    victim.send({ type: "stop" });
    await Promise.race([Promise.all([honest.exited, victim.exited]), sleepMs(3000)]);
    return { attack, mode, ...measured, eldMaxMs: during.eldMaxMs, honest: honestResult, evaluation, verdict };
  } finally {
    for (const k of kids) stop(k);
  }
}

/** How long the attack runs (its own window, or the default; --quick halves those not fixed). */
function windowOf(attack) {
  return Math.round((attack.windowMs ?? DEFAULT_WINDOW_MS) * (attack.fixedWindow ? 1 : scale));
}

/** The victim's RSS and open descriptors, read from /proc. */
function sample(pid) {
  let rss = 0;
  let fds = 0;
  try {
    rss = parseRssBytes(readFileSync(`/proc/${pid}/status`, "utf8")) ?? 0;
    fds = countFds(readdirSync(`/proc/${pid}/fd`));
  } catch {
    // the process is gone; zeros say so
  }
  return { rss, fds };
}

function spawn(file, config, execArgv = []) {
  const child = fork(join(HERE, file), [JSON.stringify(config)], { execArgv, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const inbox = [];
  const waiting = [];
  let failure = null;
  child.on("message", (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("exit", (code, signal) => {
    failure ??= new Error(`${file} exited (${signal ?? code})`);
    for (const w of waiting.splice(0)) w.reject(failure);
  });
  child.next = (type, timeoutMs = 15_000) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const w = { type, resolve, reject };
      waiting.push(w);
      const t = setTimeout(() => {
        const at = waiting.indexOf(w);
        if (at >= 0) waiting.splice(at, 1);
        reject(new Error(`${file} did not send "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const clear = () => clearTimeout(t);
      w.resolve = (m) => (clear(), resolve(m));
      w.reject = (e) => (clear(), reject(e));
    });
  };
  child.ask = (message, reply, timeoutMs) => {
    child.send(message);
    return child.next(reply, timeoutMs);
  };
  return child;
}

/** Stops a child this runner started, by its own handle: SIGTERM, then SIGKILL after a grace period. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 2000);
  child.once("exit", () => clearTimeout(t));
}

function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseArgs(args) {
  let only = null;
  let quick = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") quick = true;
    else if (a === "--only") only = (args[++i] ?? "").split(",").filter(Boolean);
    else if (a.startsWith("--only=")) only = a.slice(7).split(",").filter(Boolean);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (only !== null) {
    const unknown = only.filter((n) => !ATTACKS.some((x) => x.name === n));
    if (unknown.length > 0) throw new Error(`unknown attack(s) ${unknown.join(", ")}\n${USAGE}`);
  }
  return { only, quick };
}
