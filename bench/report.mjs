// Turns the per-round measurements into the printed tables and the JSON summary.
// Throughput and latency figures are the median over rounds (the spread is
// shown beside them); peak RSS is the highest seen over rounds. A ratio of two
// contenders' rates or times is the median over rounds of the ratio within each
// round (they take turns within one), not the ratio of their two medians.

import { blockRatio } from "./rtt.mjs";

const MB = 1e6;

/** What each issue's targets stand for, in plain words (printed with the verdicts). */
const ISSUES = {
  9: "mesh issue: routed unicast over 3 hops (2 forwarders, end to end encrypted) against the direct encrypted Playground in the same run",
  foundation:
    "foundation issue: the Playground's own cost (envelopes, dispatch, limits) with encryption turned off, against a raw node:net socket",
  security:
    "security issue: the Playground encrypted and authenticated (the default), with a borrowing handler (playground) and a default one (playground-keep), against the UNENCRYPTED raw node:net socket, and the connection setup time of the encrypted paths",
  encrypted:
    "encrypted issue: the Playground against @hyperswarm/secret-stream, the encrypted anchor, on every figure, with a borrowing handler (playground) and a default one (playground-keep); the bulk test's peak RSS of each side, plaintext included (a default handler's receiver shown beside raw node:net's, not judged: bench/README.md); plaintext within 10% of raw",
};

/** @returns {{ text: string, summary: object }} */
export function formatReport({ meta, phases, contenders, results, skipped = [] }) {
  const summary = {};
  for (const phase of phases) {
    summary[phase.id] = {};
    for (const c of contenders) summary[phase.id][c.name] = aggregate(phase, results[phase.id]?.[c.name] ?? []);
  }
  const has = (id) => phases.some((p) => p.id === id);
  const byName = new Map(contenders.map((c) => [c.name, c]));
  const lines = [];
  lines.push("");
  lines.push(`xppg bench · loopback 127.0.0.1 · node ${meta.node} · ${meta.cpu} · ${meta.memoryGiB} GiB · git ${meta.git}`);
  lines.push(
    `${meta.rounds} round(s); floods: ${meta.warmupMs / 1000} s warm-up + ${meta.durationMs / 1000} s counted at the receiver; ` +
      `receiver and sender in separate processes; send policy: ${meta.sendPolicy}` +
      (has("setup") ? `; setup: ${meta.connects} sequential connects per round (after 10 warm-up ones), each from a fresh client` : ""),
  );
  if (meta.rtt) lines.push(meta.rtt.text);
  lines.push("");

  const header = ["measure", ...contenders.map((c) => c.label)];
  const rows = [];
  const cell = (id, fn) => contenders.map((c) => fn(summary[id][c.name]));
  if (has("msgs")) {
    rows.push(["small messages/s (100 B payload)", ...cell("msgs", (s) => withSpread(s, "messagesPerSecond", kilo))]);
  }
  if (has("rtt")) {
    rows.push(["ping-pong RTT median, us", ...cell("rtt", (s) => withSpread(s, "medianUs", fixed1))]);
    rows.push(["ping-pong RTT p90, us", ...cell("rtt", (s) => withSpread(s, "p90Us", fixed1))]);
    rows.push(["ping-pong RTT p99, us", ...cell("rtt", (s) => withSpread(s, "p99Us", fixed1))]);
    rows.push(["CPU us per round trip, sender / (forwarders /) receiver", ...cell("rtt", (s) => (Number.isFinite(s.senderCpuUsPerRoundTrip) ? [s.senderCpuUsPerRoundTrip, ...(s.hopCpuUsPerRoundTrip ?? []), s.receiverCpuUsPerRoundTrip].map(fmtUs).join(" / ") : "-"))]);
  }
  if (has("bulk")) {
    rows.push(["bulk MB/s (64 KiB payload)", ...cell("bulk", (s) => withSpread(s, "megabytesPerSecond", fixed0))]);
  }
  if (has("setup")) {
    rows.push(["setup median, ms (connect + handshakes)", ...cell("setup", (s) => withSpread(s, "medianMs", fixed2))]);
    rows.push(["setup p99, ms", ...cell("setup", (s) => withSpread(s, "p99Ms", fixed2))]);
    rows.push(["setup CPU per connect, client / server, ms", ...cell("setup", (s) => (Number.isFinite(s.clientCpuMsPerConnect) ? `${fixed2(s.clientCpuMsPerConnect)} / ${fixed2(s.serverCpuMsPerConnect)}` : "-"))]);
  }
  if (has("first")) {
    rows.push(["first connection in a fresh process, median ms", ...cell("first", (s) => withSpread(s, "medianMs", fixed1))]);
    rows.push(["  of which module load / client / connect, ms", ...cell("first", (s) => (Number.isFinite(s.loadMs) ? `${fixed1(s.loadMs)} / ${fixed1(s.clientMs)} / ${fixed1(s.connectMs)}` : "-"))]);
    // CPU (all the process's threads) is moved far less than the wall clock by other work on the machine.
    rows.push(["  CPU ms, module load / client + connect", ...cell("first", (s) => (Number.isFinite(s.cpuModuleLoadMs) ? `${fixed1(s.cpuModuleLoadMs)} / ${fixed1(s.cpuConnectMs)}` : "-"))]);
    rows.push(["  of which CPU ms, client / connect", ...cell("first", (s) => (Number.isFinite(s.cpuClientMs) ? `${fixed1(s.cpuClientMs)} / ${fixed1(s.cpuConnectMs - s.cpuClientMs)}` : "-"))]);
    // The main thread's share of that CPU: the wall clock follows it; the other threads' may run beside it on another core.
    rows.push(["  CPU ms on the main thread, load + client + connect", ...cell("first", (s) => (Number.isFinite(s.cpuMainMs) ? fixed1(s.cpuMainMs) : "-"))]);
  }
  for (const p of phases.filter((ph) => ph.kind === "flood")) {
    rows.push([`CPU us per message, sender / receiver, ${p.id}`, ...cell(p.id, (s) => (Number.isFinite(s.senderCpuUsPerMessage) ? `${fmtUs(s.senderCpuUsPerMessage)} / ${fmtUs(s.receiverCpuUsPerMessage)}` : "-"))]);
    rows.push([`page faults per message, sender / receiver, ${p.id}`, ...cell(p.id, (s) => (Number.isFinite(s.senderFaultsPerMessage) ? `${fixed1(s.senderFaultsPerMessage)} / ${fixed1(s.receiverFaultsPerMessage)}` : "-"))]);
    rows.push([`CPU sender / receiver, ${p.id}`, ...cell(p.id, (s) => (Number.isFinite(s.senderCpu) ? `${pct(s.senderCpu)} / ${pct(s.receiverCpu)}` : "-"))]);
    // A side whose loop is far from busy waited (nothing to read, or a full socket) while its CPU per message was low.
    rows.push([`loop busy (of it GC), sender / receiver, ${p.id}`, ...cell(p.id, (s) => ([s.senderLoopBusy, s.receiverLoopBusy, s.senderGc, s.receiverGc].every(Number.isFinite) ? `${pct(s.senderLoopBusy)} (${pct(s.senderGc)}) / ${pct(s.receiverLoopBusy)} (${pct(s.receiverGc)})` : "-"))]);
    // Routed contenders: every process along the path, so the per-hop cost shows.
    if (contenders.some((c) => summary[p.id][c.name].hopCpuUsPerMessage !== undefined)) {
      rows.push([`CPU us per message along the path, ${p.id}`, ...cell(p.id, (s) => (s.hopCpuUsPerMessage === undefined ? "-" : [s.senderCpuUsPerMessage, ...s.hopCpuUsPerMessage, s.receiverCpuUsPerMessage].map(fmtUs).join(" / ")))]);
    }
  }
  const ids = phases.map((p) => p.id).join("/");
  rows.push([`peak RSS sender, MB (${ids})`, ...contenders.map((c) => phases.map((p) => mb(summary[p.id][c.name].rssSenderBytes)).join(" / "))]);
  rows.push([`peak RSS receiver, MB (${ids})`, ...contenders.map((c) => phases.map((p) => mb(summary[p.id][c.name].rssReceiverBytes)).join(" / "))]);
  lines.push(...table(header, rows));
  lines.push("");

  // Ratios: each contender against its baseline, then (informational) against its encrypted raw twin.
  // RTT: the median of the per-cycle ratios of block medians (rtt.mjs), not the ratio of two medians.
  const rttRatio = (c, base) => blockRatio(results.rtt?.[c.name] ?? [], results.rtt?.[base] ?? []);
  const roundRatio = (c, base, phase, key) => pairedRatio(results[phase]?.[c.name] ?? [], results[phase]?.[base] ?? [], key);
  const ratio = (c, base, phase, key) => {
    if (phase === "rtt" && key === "medianUs") return rttRatio(c, base)?.ratio ?? NaN;
    if (PAIRED_KEYS.has(key) && phase !== "rtt") return roundRatio(c, base, phase, key)?.ratio ?? NaN;
    if (phase === "rtt" && key === "cpuPerRoundTrip") {
      // Every process along the path: both ends and a routed contender's forwarders.
      const cpu = (s) => (s === undefined ? NaN : s.senderCpuUsPerRoundTrip + s.receiverCpuUsPerRoundTrip + (s.hopCpuUsPerRoundTrip ?? []).reduce((a, b) => a + b, 0));
      return cpu(summary.rtt?.[c.name]) / cpu(summary.rtt?.[base]);
    }
    const mine = summary[phase]?.[c.name]?.[key];
    const theirs = summary[phase]?.[base]?.[key];
    return Number.isFinite(mine) && Number.isFinite(theirs) && theirs !== 0 ? mine / theirs : NaN;
  };
  const ratioTable = (title, pairs) => {
    if (pairs.length === 0) return;
    const rheader = [title, ...pairs.map(([c, base]) => `${c.label} / ${byName.get(base).label}`)];
    const rrows = [];
    const row = (label, phase, key, lowerIsBetter) => {
      if (!has(phase)) return;
      rrows.push([label, ...pairs.map(([c, base]) => {
        const r = ratio(c, base, phase, key);
        if (!Number.isFinite(r)) return "n/a";
        return lowerIsBetter ? `${r.toFixed(2)}x` : `${(r * 100).toFixed(0)}%`;
      })]);
    };
    // The lowest and highest of the rounds' own ratios: a verdict whose line lies inside them could go either way.
    const rangeRow = (phase, key, lowerIsBetter) => {
      if (!has(phase) || meta.rounds < 2) return;
      rrows.push(["  per-round range", ...pairs.map(([c, base]) => {
        const r = roundRatio(c, base, phase, key);
        if (r === null) return "n/a";
        return lowerIsBetter ? `${r.min.toFixed(2)}-${r.max.toFixed(2)}x` : `${(r.min * 100).toFixed(0)}-${(r.max * 100).toFixed(0)}%`;
      })]);
    };
    row("small messages/s", "msgs", "messagesPerSecond", false);
    rangeRow("msgs", "messagesPerSecond", false);
    row("  same, CPU-bound estimate", "msgs", "cpuBoundRate", false);
    row("bulk MB/s", "bulk", "megabytesPerSecond", false);
    rangeRow("bulk", "megabytesPerSecond", false);
    row("  same, CPU-bound estimate", "bulk", "cpuBoundRate", false);
    row("RTT median (x, lower is better)", "rtt", "medianUs", true);
    if (has("rtt")) {
      rrows.push(["  per-round range; blocks p25-p75", ...pairs.map(([c, base]) => {
        const r = rttRatio(c, base);
        return r === null ? "n/a" : `${r.min.toFixed(2)}-${r.max.toFixed(2)}; ${r.blockP25.toFixed(2)}-${r.blockP75.toFixed(2)}`;
      })]);
    }
    row("  same, CPU per round trip (both sides, and forwarders)", "rtt", "cpuPerRoundTrip", true);
    row("RTT p99 (x, lower is better)", "rtt", "p99Us", true);
    row("setup median (x, lower is better)", "setup", "medianMs", true);
    row("setup p99 (x, lower is better)", "setup", "p99Ms", true);
    row("first connection (x, lower is better)", "first", "medianMs", true);
    rangeRow("first", "medianMs", true);
    row("  same, CPU of load + client + connect", "first", "cpuTotalMs", true);
    row("  same, main thread's CPU of it", "first", "cpuMainMs", true);
    for (const p of phases.filter((ph) => ph.kind === "flood")) {
      row(`CPU per message sender, ${p.id} (x)`, p.id, "senderCpuUsPerMessage", true);
      row(`CPU per message receiver, ${p.id} (x)`, p.id, "receiverCpuUsPerMessage", true);
    }
    for (const p of phases) {
      row(`peak RSS sender, ${p.id} (x)`, p.id, "rssSenderBytes", true);
      row(`peak RSS receiver, ${p.id} (x)`, p.id, "rssReceiverBytes", true);
    }
    lines.push(...table(rheader, rrows), "");
  };
  ratioTable("ratio to its baseline", contenders.filter((c) => c.compareTo !== null).map((c) => [c, c.compareTo]));
  ratioTable(
    "other ratios (informational)",
    contenders.flatMap((c) => (c.alsoCompareTo ?? []).filter((b) => byName.has(b)).map((b) => [c, b])),
  );

  // Targets: every one names its issue; PASS/FAIL on the medians over rounds.
  const verdicts = {};
  const trows = [];
  for (const c of contenders) {
    for (const t of c.targets ?? []) {
      if (!has(t.phase)) continue;
      let measured;
      let wanted;
      let pass;
      const base = t.against ?? c.compareTo;
      if (t.minRatio !== undefined || t.maxRatio !== undefined) {
        // Higher is better for rates; lower for times (rtt, setup, first).
        const key = { msgs: "messagesPerSecond", bulk: "megabytesPerSecond", rtt: "medianUs" }[t.phase] ?? "medianMs";
        const r = ratio(c, base, t.phase, key);
        const est = t.minRatio !== undefined ? ratio(c, base, t.phase, "cpuBoundRate") : t.phase === "first" ? ratio(c, base, t.phase, "cpuTotalMs") : t.phase === "rtt" ? ratio(c, base, t.phase, "cpuPerRoundTrip") : NaN;
        measured = !Number.isFinite(r) ? "n/a" : t.minRatio !== undefined ? `${(r * 100).toFixed(0)}%` : `${r.toFixed(2)}x`;
        // A first connection's wall clock follows the main thread's CPU (other threads may run beside it): shown too.
        const main = t.phase === "first" ? ratio(c, base, t.phase, "cpuMainMs") : NaN;
        if (Number.isFinite(est)) measured += t.minRatio !== undefined ? ` (CPU est. ${(est * 100).toFixed(0)}%)` : ` (CPU ${est.toFixed(2)}x${Number.isFinite(main) ? `, main thread ${main.toFixed(2)}x` : ""})`;
        if (!byName.has(base)) measured = `n/a (run it with ${base})`;
        wanted = t.minRatio !== undefined ? `>= ${(t.minRatio * 100).toFixed(0)}% of ${byName.get(base)?.label ?? base}` : `<= ${t.maxRatio}x ${byName.get(base)?.label ?? base}`;
        pass = Number.isFinite(r) && (t.minRatio !== undefined ? r >= t.minRatio : r <= t.maxRatio);
        ((verdicts[c.name] ??= {})[t.phase] = { issue: t.issue, against: base, ratio: r, cpuBoundRatio: est, target: t.minRatio ?? t.maxRatio, pass });
      } else if (t.maxRssMiB !== undefined) {
        // Each side's peak, or the sender's alone (`side: "sender"`: a default handler's receiver is shown by the next kind).
        const s = summary[t.phase][c.name];
        const peak = (t.side === "sender" ? s.rssSenderBytes : Math.max(s.rssSenderBytes, s.rssReceiverBytes)) / 2 ** 20;
        measured = Number.isFinite(peak) ? `${peak.toFixed(0)} MiB` : "n/a";
        wanted = `peak RSS of ${t.side === "sender" ? "the sender" : "each side"} <= ${t.maxRssMiB} MiB`;
        pass = Number.isFinite(peak) && peak <= t.maxRssMiB;
        ((verdicts[c.name] ??= {})[`${t.phase}-rss${t.side === "sender" ? "-sender" : ""}`] = { issue: t.issue, peakMiB: peak, targetMiB: t.maxRssMiB, pass });
      } else if (t.receiverRssAgainst !== undefined) {
        // Shown, not judged: the receiver's peak beside another contender's receiver in the same run.
        const peak = summary[t.phase][c.name].rssReceiverBytes / 2 ** 20;
        const other = summary[t.phase][t.receiverRssAgainst]?.rssReceiverBytes / 2 ** 20;
        const otherLabel = byName.get(t.receiverRssAgainst)?.label ?? t.receiverRssAgainst;
        measured = `${Number.isFinite(peak) ? `${peak.toFixed(0)} MiB` : "n/a"} (${otherLabel}: ${Number.isFinite(other) ? `${other.toFixed(0)} MiB` : `n/a, run it with ${t.receiverRssAgainst}`})`;
        wanted = "receiver's peak RSS, shown (a default handler may keep every payload: bench/README.md)";
        pass = undefined;
        ((verdicts[c.name] ??= {})[`${t.phase}-rss-receiver`] = { issue: t.issue, peakMiB: peak, againstMiB: other, informational: true });
      } else {
        const ms = summary[t.phase][c.name].medianMs;
        measured = Number.isFinite(ms) ? `${fixed2(ms)} ms` : "n/a";
        wanted = `< ${t.maxMedianMs} ms median`;
        pass = Number.isFinite(ms) && ms < t.maxMedianMs;
        ((verdicts[c.name] ??= {})[t.phase] = { issue: t.issue, medianMs: ms, targetMs: t.maxMedianMs, pass });
      }
      trows.push([t.issue, c.label, MEASURE_NAMES[t.phase] ?? t.phase, wanted, measured, pass === undefined ? "info" : pass ? "PASS" : "FAIL"]);
    }
  }
  if (trows.length > 0) {
    trows.sort((a, b) => a[0].localeCompare(b[0])); // grouped by issue; stable within one
    lines.push(...table(["issue", "contender", "measure", "target", "measured", "verdict"], trows));
    for (const issue of [...new Set(trows.map((r) => r[0]))]) lines.push(`  ${ISSUES[issue] ?? issue}`);
    lines.push("  verdicts use the measured rates and times: the median over rounds of the two contenders' ratio within each round; \"CPU est.\" is the same ratio from CPU per message on the busier side, less moved by other work on the machine; \"CPU\" beside a first connection is the ratio of its CPU (module load, client and connect; all threads, then the main thread's alone, which the wall clock follows), beside an RTT the ratio of CPU per round trip (both sides, and forwarders); an RTT ratio is the median of per-cycle block ratios (the rtt line above)");
    lines.push("");
  }

  lines.push(...pathLines(phases, contenders, summary, byName));
  for (const c of contenders) for (const n of c.notes) lines.push(`${c.label}: ${n}`);
  for (const s of skipped) lines.push(`${s.name}: SKIPPED, ${s.reason}`);
  const foreign = phases.flatMap((p) => contenders.map((c) => summary[p.id][c.name].foreignCpuShareMax)).filter(Number.isFinite);
  if (foreign.length > 0) {
    lines.push(`noise: other processes used up to ${pct(Math.max(...foreign))} of a core during a measurement (load average ${meta.loadAverage.start.toFixed(2)} at start); CPU per message moves least with it`);
  }
  const failures = [];
  for (const p of phases) for (const c of contenders) for (const e of summary[p.id][c.name].errors) failures.push(`${c.name} ${p.id}: ${e}`);
  if (failures.length > 0) lines.push("", "runs that failed:", ...failures.map((f) => `  ${f}`));
  lines.push("");
  return { text: lines.join("\n"), summary: { figures: summary, verdicts } };
}

/**
 * For each contender whose forwarders run in processes of their own: the
 * slowest process along the path against its baseline's slower side, in CPU
 * per message. That is the rate it would reach with a core per process (the
 * machine the 3-hop target is meant for), whatever the cores shared here.
 */
function pathLines(phases, contenders, summary, byName) {
  const out = [];
  for (const p of phases.filter((ph) => ph.kind === "flood")) {
    for (const c of contenders) {
      const s = summary[p.id][c.name];
      const base = c.compareTo === null ? undefined : summary[p.id][c.compareTo];
      if (s.hopCpuUsPerMessage === undefined || base === undefined) continue;
      const path = [s.senderCpuUsPerMessage, ...s.hopCpuUsPerMessage, s.receiverCpuUsPerMessage];
      const slowest = Math.max(...path);
      const direct = Math.max(base.senderCpuUsPerMessage, base.receiverCpuUsPerMessage);
      const total = path.reduce((a, b) => a + b, 0);
      const directTotal = base.senderCpuUsPerMessage + base.receiverCpuUsPerMessage;
      out.push(
        `${c.label}, ${p.id}: CPU us per message ${path.map(fmtUs).join(" / ")} (first end, forwarders, last end); ` +
          `slowest ${fmtUs(slowest)} against ${fmtUs(direct)} on ${byName.get(c.compareTo).label}'s slower side: ` +
          `${pct(direct / slowest)} of its rate with a core per process; all ${path.length} together ${fmtUs(total)} against ${fmtUs(directTotal)} ` +
          `(${pct(directTotal / total)}, the bound when all share the same cores)`,
      );
    }
  }
  if (out.length > 0) out.push("");
  return out;
}

const MEASURE_NAMES = { msgs: "small messages/s", rtt: "RTT median", bulk: "bulk MB/s", setup: "setup (connect + handshakes)", first: "first connection, fresh process" };

function aggregate(phase, runs) {
  const ok = runs.filter((r) => r.error === undefined);
  const out = { rounds: ok.length, errors: runs.filter((r) => r.error !== undefined).map((r) => r.error) };
  const keys = { flood: ["messagesPerSecond", "megabytesPerSecond"], pingpong: ["medianUs", "p90Us", "p99Us", "senderCpuUsPerRoundTrip", "receiverCpuUsPerRoundTrip"], setup: ["medianMs", "p99Ms"], first: ["medianMs", "loadMs", "clientMs", "connectMs", "cpuModuleLoadMs", "cpuConnectMs", "cpuClientMs", "cpuMainMs"] }[phase.kind];
  for (const k of keys) {
    // Rounds that could not read a figure (null once a NaN crossed IPC or JSON) are left out, not sorted in as 0.
    const v = ok.map((r) => r[k]).filter(Number.isFinite).sort((a, b) => a - b);
    out[k] = median(v);
    out[`${k}Min`] = v[0];
    out[`${k}Max`] = v.at(-1);
  }
  if (phase.kind === "first") {
    // The CPU the first connection costs, load included: its ratio is less moved by other work than the wall clock's.
    out.cpuTotalMs = median(ok.map((r) => r.cpuModuleLoadMs + r.cpuConnectMs).sort((a, b) => a - b));
  }
  if (phase.kind === "flood") {
    out.senderCpuUsPerMessage = median(ok.map((r) => r.senderCpuUsPerMessage).sort((a, b) => a - b));
    out.receiverCpuUsPerMessage = median(ok.map((r) => r.receiverCpuUsPerMessage).sort((a, b) => a - b));
    out.senderCpu = median(ok.map((r) => r.senderCpu).sort((a, b) => a - b));
    out.receiverCpu = median(ok.map((r) => r.receiverCpu).sort((a, b) => a - b));
    for (const k of ["senderLoopBusy", "receiverLoopBusy", "senderGc", "receiverGc", "senderFaultsPerMessage", "receiverFaultsPerMessage"]) {
      const v = ok.map((r) => r[k]).filter(Number.isFinite);
      out[k] = v.length === 0 ? NaN : median(v.sort((a, b) => a - b));
    }
    // The rate the busier side's CPU per message allows on a core of its own: moved far less
    // than the rates by other work on the machine. An estimate; the verdict uses the measured rate.
    // With forwarders in processes of their own, the slowest process along the path bounds the rate.
    const hops = ok.filter((r) => r.hopCpuUsPerMessage !== undefined);
    if (hops.length > 0) out.hopCpuUsPerMessage = hops[0].hopCpuUsPerMessage.map((_, i) => median(hops.map((r) => r.hopCpuUsPerMessage[i]).sort((a, b) => a - b)));
    out.cpuBoundRate = 1e6 / Math.max(out.senderCpuUsPerMessage, out.receiverCpuUsPerMessage, ...(out.hopCpuUsPerMessage ?? []));
  }
  if (phase.kind === "pingpong") {
    const hops = ok.filter((r) => r.hopCpuUsPerRoundTrip !== undefined);
    if (hops.length > 0) out.hopCpuUsPerRoundTrip = hops[0].hopCpuUsPerRoundTrip.map((_, i) => median(hops.map((r) => r.hopCpuUsPerRoundTrip[i]).sort((a, b) => a - b)));
  }
  if (phase.kind === "setup") {
    out.clientCpuMsPerConnect = median(ok.map((r) => r.clientCpuMsPerConnect).sort((a, b) => a - b));
    out.serverCpuMsPerConnect = median(ok.map((r) => r.serverCpuMsPerConnect).sort((a, b) => a - b));
  }
  const foreign = ok.map((r) => r.foreignCpuShare).filter(Number.isFinite);
  out.foreignCpuShareMax = foreign.length === 0 ? NaN : Math.max(...foreign);
  out.rssSenderBytes = ok.length === 0 ? NaN : Math.max(...ok.map((r) => r.rssSenderBytes));
  out.rssReceiverBytes = ok.length === 0 ? NaN : Math.max(...ok.map((r) => r.rssReceiverBytes));
  return out;
}

/** The figures a ratio takes round by round (the two contenders ran in turns within each round). */
const PAIRED_KEYS = new Set(["messagesPerSecond", "megabytesPerSecond", "medianMs", "p99Ms"]);

/**
 * The median over rounds of `mine[i][key] / theirs[i][key]`, with the lowest and highest of them; rounds where
 * either run failed are left out. Two contenders measured in the same round share that round's state of the
 * machine, so a drift between rounds divides out, where a ratio of two medians over rounds would carry it.
 * @returns {{ ratio: number, min: number, max: number, rounds: number } | null}
 */
export function pairedRatio(mine, theirs, key) {
  const ratios = [];
  for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
    const a = mine[i];
    const b = theirs[i];
    if (a === undefined || b === undefined || a.error !== undefined || b.error !== undefined) continue;
    const x = a[key];
    const y = b[key];
    if (Number.isFinite(x) && Number.isFinite(y) && y > 0) ratios.push(x / y);
  }
  if (ratios.length === 0) return null;
  ratios.sort((p, q) => p - q);
  return { ratio: median(ratios), min: ratios[0], max: ratios.at(-1), rounds: ratios.length };
}

function median(sorted) {
  if (sorted.length === 0) return NaN;
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function withSpread(s, key, fmt) {
  const v = s[key];
  if (!Number.isFinite(v)) return "failed";
  if (s.rounds < 2) return fmt(v);
  return `${fmt(v)} [${fmt(s[`${key}Min`])}-${fmt(s[`${key}Max`])}]`;
}

function kilo(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}
function fmtUs(x) {
  return x < 10 ? x.toFixed(2) : x.toFixed(1);
}
function pct(x) {
  return `${(x * 100).toFixed(0)}%`;
}
function fixed0(n) {
  return n.toFixed(0);
}
function fixed2(n) {
  return n.toFixed(2);
}
function fixed1(n) {
  return n.toFixed(1);
}
function mb(bytes) {
  return Number.isFinite(bytes) ? (bytes / MB).toFixed(0) : "-";
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join("  ").trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)];
}
