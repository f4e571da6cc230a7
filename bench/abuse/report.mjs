// Pure helpers of the abuse bench: percentiles, /proc parsing, the PASS/FAIL
// rule and the table. No I/O here, so the report logic has its own tests
// (bench/test/abuse-report.test.mjs).

/** Honest round trip p99 must stay under this during an attack (issue 16). */
export const RTT_P99_TARGET_MS = 100;
/** RSS after an attack may exceed the baseline by this much (V8 keeps some heap it grew)... */
export const RSS_TOLERANCE_BYTES = 32 * 1024 * 1024;
/** ...or by this share of the baseline, whichever is larger. */
export const RSS_TOLERANCE_SHARE = 0.2;
/** When RSS stays up, the bytes the victim still retains (V8 heap used + external, after a full GC) may exceed the baseline by this much. */
export const RETAINED_TOLERANCE_BYTES = 8 * 1024 * 1024;
/** Open descriptors after an attack may exceed the baseline by this many. */
export const FD_TOLERANCE = 4;

/**
 * The p-th percentile (0 to 100) of `values` by the nearest-rank method:
 * the smallest value with at least p% of the values at or below it.
 * Returns null for no values.
 * @param {readonly number[]} values
 * @param {number} p
 * @returns {number | null}
 */
export function percentile(values, p) {
  if (values.length === 0) return null;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be from 0 to 100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * p50, p99 and max of round trips, in ms; null fields when there were none.
 * @param {readonly number[]} rtts
 */
export function summarizeRtts(rtts) {
  return { count: rtts.length, p50: percentile(rtts, 50), p99: percentile(rtts, 99), max: rtts.length === 0 ? null : Math.max(...rtts) };
}

/**
 * Resident set size in bytes from the text of /proc/<pid>/status (the
 * `VmRSS:  12345 kB` line); null when the line is missing.
 * @param {string} statusText
 * @returns {number | null}
 */
export function parseRssBytes(statusText) {
  const m = /^VmRSS:\s+(\d+)\s+kB\s*$/m.exec(statusText);
  return m === null ? null : Number(m[1]) * 1024;
}

/**
 * Open descriptors from a listing of /proc/<pid>/fd: every entry is a
 * descriptor number; anything else (".", "..", a stray name) is not counted.
 * @param {readonly string[]} names
 */
export function countFds(names) {
  let n = 0;
  for (const name of names) if (/^\d+$/.test(name)) n++;
  return n;
}

/**
 * The verdict of one attack run. FAIL when any of these holds:
 * the honest peer's p99 round trip reached the target (or no round trip
 * completed), the honest peer lost its link to the victim, memory after the
 * attack stayed up (RSS above the baseline by more than its tolerance, and,
 * when measured, the retained bytes too: freed memory the allocator keeps is
 * no leak), descriptors after the attack stayed above the baseline by more
 * than the tolerance, or the attack's own check (the expectation,
 * such as "the attacker is dropped") failed.
 * @param {{
 *   rtt: { p99: number | null },
 *   honestStayed: boolean,
 *   rss: { before: number, after: number },
 *   retained?: { before: number, after: number } | undefined,
 *   fds: { before: number, after: number },
 *   check?: { ok: boolean, text: string } | undefined,
 * }} row
 * @returns {{ pass: boolean, reasons: string[] }}
 */
export function judge(row) {
  const reasons = [];
  if (row.rtt.p99 === null) reasons.push("no honest round trip completed");
  else if (row.rtt.p99 >= RTT_P99_TARGET_MS) reasons.push(`honest p99 ${fmtMs(row.rtt.p99)} >= ${RTT_P99_TARGET_MS} ms`);
  if (!row.honestStayed) reasons.push("honest peer lost its link");
  const rssAllowed = row.rss.before + Math.max(RSS_TOLERANCE_BYTES, row.rss.before * RSS_TOLERANCE_SHARE);
  if (row.rss.after > rssAllowed) {
    const r = row.retained;
    if (r === undefined) reasons.push(`rss ${fmtMiB(row.rss.after)} after > ${fmtMiB(rssAllowed)} allowed`);
    else if (r.after > r.before + RETAINED_TOLERANCE_BYTES) {
      reasons.push(`rss ${fmtMiB(row.rss.after)} after > ${fmtMiB(rssAllowed)} allowed, and ${fmtMiB(r.after - r.before)} more retained (> ${fmtMiB(RETAINED_TOLERANCE_BYTES)})`);
    }
  }
  if (row.fds.after > row.fds.before + FD_TOLERANCE) reasons.push(`fds ${row.fds.after} after > ${row.fds.before + FD_TOLERANCE} allowed`);
  if (row.check !== undefined && !row.check.ok) reasons.push(row.check.text);
  return { pass: reasons.length === 0, reasons };
}

/** @param {number | null | undefined} ms */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "-";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms >= 100) return `${Math.round(ms)}`;
  return ms.toFixed(1);
}

/** @param {number | null | undefined} bytes */
export function fmtMiB(bytes) {
  if (bytes === null || bytes === undefined) return "-";
  return `${Math.round(bytes / 2 ** 20)}M`;
}

/**
 * Lays out rows of cells as a fixed-width text table, a header rule under
 * the first row; numbers right-aligned, text left-aligned.
 * @param {readonly (readonly string[])[]} rows
 */
export function formatTable(rows) {
  if (rows.length === 0) return "";
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const numeric = /^[\d.,/+\-sM% ]+$|^-$/;
  const line = (r) =>
    r
      .map((cell, i) => (numeric.test(cell) && i > 0 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n") + "\n";
}
