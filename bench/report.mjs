// Turns the per-round measurements into the printed tables and the JSON summary.
// Throughput and latency figures are the median over rounds (the spread is
// shown beside them); peak RSS is the highest seen over rounds.

const MB = 1e6;

/** @returns {{ text: string, summary: object }} */
export function formatReport({ meta, phases, contenders, results }) {
  const summary = {};
  for (const phase of phases) {
    summary[phase.id] = {};
    for (const c of contenders) summary[phase.id][c.name] = aggregate(phase, results[phase.id]?.[c.name] ?? []);
  }
  const has = (id) => phases.some((p) => p.id === id);
  const lines = [];
  lines.push("");
  lines.push(`xppg bench · loopback 127.0.0.1 · node ${meta.node} · ${meta.cpu} · ${meta.memoryGiB} GiB · git ${meta.git}`);
  lines.push(
    `${meta.rounds} round(s); floods: ${meta.warmupMs / 1000} s warm-up + ${meta.durationMs / 1000} s counted at the receiver; ` +
      `receiver and sender in separate processes; send policy: ${meta.sendPolicy}`,
  );
  lines.push("");

  const header = ["measure", ...contenders.map((c) => c.label)];
  const rows = [];
  const cell = (id, fn) => contenders.map((c) => fn(summary[id][c.name]));
  if (has("msgs")) {
    rows.push(["small messages/s (100 B payload)", ...cell("msgs", (s) => withSpread(s, "messagesPerSecond", kilo))]);
  }
  if (has("rtt")) {
    rows.push(["ping-pong RTT median, us", ...cell("rtt", (s) => withSpread(s, "medianUs", fixed1))]);
    rows.push(["ping-pong RTT p99, us", ...cell("rtt", (s) => withSpread(s, "p99Us", fixed1))]);
  }
  if (has("bulk")) {
    rows.push(["bulk MB/s (64 KiB payload)", ...cell("bulk", (s) => withSpread(s, "megabytesPerSecond", fixed0))]);
  }
  for (const p of phases.filter((ph) => ph.kind === "flood")) {
    rows.push([`CPU us per message, sender / receiver, ${p.id}`, ...cell(p.id, (s) => (Number.isFinite(s.senderCpuUsPerMessage) ? `${fmtUs(s.senderCpuUsPerMessage)} / ${fmtUs(s.receiverCpuUsPerMessage)}` : "-"))]);
    rows.push([`CPU sender / receiver, ${p.id}`, ...cell(p.id, (s) => (Number.isFinite(s.senderCpu) ? `${pct(s.senderCpu)} / ${pct(s.receiverCpu)}` : "-"))]);
  }
  const ids = phases.map((p) => p.id).join("/");
  rows.push([`peak RSS sender, MB (${ids})`, ...contenders.map((c) => phases.map((p) => mb(summary[p.id][c.name].rssSenderBytes)).join(" / "))]);
  rows.push([`peak RSS receiver, MB (${ids})`, ...contenders.map((c) => phases.map((p) => mb(summary[p.id][c.name].rssReceiverBytes)).join(" / "))]);
  lines.push(...table(header, rows));
  lines.push("");

  const judged = contenders.filter((c) => c.compareTo !== null);
  const verdicts = {};
  if (judged.length > 0) {
    const rheader = ["ratio to its baseline", "target", ...judged.map((c) => `${c.label} / ${c.compareTo}`)];
    const rrows = [];
    const ratioRow = (title, phase, key, target, lowerIsBetter) => {
      const cells = judged.map((c) => {
        const mine = summary[phase][c.name][key];
        const base = summary[phase][c.compareTo][key];
        if (!Number.isFinite(mine) || !Number.isFinite(base) || base === 0) return "n/a";
        const r = mine / base;
        const text = lowerIsBetter ? `${r.toFixed(2)}x` : `${(r * 100).toFixed(0)}%`;
        if (target === undefined) return text;
        const pass = r >= target;
        ((verdicts[c.name] ??= {})[phase] = { ratio: r, target, pass });
        return `${text} ${pass ? "PASS" : "FAIL"}`;
      });
      rrows.push([title, target === undefined ? "-" : `>= ${(target * 100).toFixed(0)}%`, ...cells]);
    };
    const target = (id) => phases.find((p) => p.id === id)?.target;
    if (has("msgs")) ratioRow("small messages/s", "msgs", "messagesPerSecond", target("msgs"), false);
    if (has("bulk")) ratioRow("bulk MB/s", "bulk", "megabytesPerSecond", target("bulk"), false);
    if (has("rtt")) {
      ratioRow("RTT median (x, lower is better)", "rtt", "medianUs", undefined, true);
      ratioRow("RTT p99 (x, lower is better)", "rtt", "p99Us", undefined, true);
    }
    for (const p of phases.filter((ph) => ph.kind === "flood")) {
      ratioRow(`CPU per message sender, ${p.id} (x)`, p.id, "senderCpuUsPerMessage", undefined, true);
      ratioRow(`CPU per message receiver, ${p.id} (x)`, p.id, "receiverCpuUsPerMessage", undefined, true);
    }
    for (const p of phases) {
      ratioRow(`peak RSS sender, ${p.id} (x)`, p.id, "rssSenderBytes", undefined, true);
      ratioRow(`peak RSS receiver, ${p.id} (x)`, p.id, "rssReceiverBytes", undefined, true);
    }
    lines.push(...table(rheader, rrows));
    lines.push("");
  }
  for (const c of contenders) for (const n of c.notes) lines.push(`${c.label}: ${n}`);
  const foreign = phases.flatMap((p) => contenders.map((c) => summary[p.id][c.name].foreignCpuShareMax)).filter(Number.isFinite);
  if (foreign.length > 0) {
    lines.push(`noise: other processes used up to ${pct(Math.max(...foreign))} of a core during a measurement (load average ${meta.loadAverage.start.toFixed(2)} at start)`);
  }
  const failures = [];
  for (const p of phases) for (const c of contenders) for (const e of summary[p.id][c.name].errors) failures.push(`${c.name} ${p.id}: ${e}`);
  if (failures.length > 0) lines.push("", "runs that failed:", ...failures.map((f) => `  ${f}`));
  lines.push("");
  return { text: lines.join("\n"), summary: { figures: summary, verdicts } };
}

function aggregate(phase, runs) {
  const ok = runs.filter((r) => r.error === undefined);
  const out = { rounds: ok.length, errors: runs.filter((r) => r.error !== undefined).map((r) => r.error) };
  const keys = phase.kind === "flood" ? ["messagesPerSecond", "megabytesPerSecond"] : ["medianUs", "p99Us"];
  for (const k of keys) {
    const v = ok.map((r) => r[k]).sort((a, b) => a - b);
    out[k] = median(v);
    out[`${k}Min`] = v[0];
    out[`${k}Max`] = v.at(-1);
  }
  if (phase.kind === "flood") {
    out.senderCpuUsPerMessage = median(ok.map((r) => r.senderCpuUsPerMessage).sort((a, b) => a - b));
    out.receiverCpuUsPerMessage = median(ok.map((r) => r.receiverCpuUsPerMessage).sort((a, b) => a - b));
    out.senderCpu = median(ok.map((r) => r.senderCpu).sort((a, b) => a - b));
    out.receiverCpu = median(ok.map((r) => r.receiverCpu).sort((a, b) => a - b));
  }
  const foreign = ok.map((r) => r.foreignCpuShare).filter(Number.isFinite);
  out.foreignCpuShareMax = foreign.length === 0 ? NaN : Math.max(...foreign);
  out.rssSenderBytes = ok.length === 0 ? NaN : Math.max(...ok.map((r) => r.rssSenderBytes));
  out.rssReceiverBytes = ok.length === 0 ? NaN : Math.max(...ok.map((r) => r.rssReceiverBytes));
  return out;
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
