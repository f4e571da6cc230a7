import { describe, expect, it } from "vitest";
import { FD_TOLERANCE, RETAINED_TOLERANCE_BYTES, RSS_TOLERANCE_BYTES, RTT_P99_TARGET_MS, countFds, formatTable, judge, parseRssBytes, percentile, summarizeRtts } from "../abuse/report.mjs";

const MiB = 2 ** 20;

describe("percentile", () => {
  it("takes the nearest rank, whatever the input order", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
  });

  it("sees the one slow round trip in a hundred at p99", () => {
    const values = [...Array.from({ length: 99 }, () => 1), 4000];
    expect(percentile(values, 50)).toBe(1);
    expect(percentile(values, 99)).toBe(1);
    expect(percentile([...values, 4000], 99)).toBe(4000);
  });

  it("is null for no values and refuses a p outside 0 to 100", () => {
    expect(percentile([], 50)).toBeNull();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it("does not reorder the caller's array", () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it("summarizes round trips as p50, p99 and max", () => {
    expect(summarizeRtts([2, 1, 3])).toEqual({ count: 3, p50: 2, p99: 3, max: 3 });
    expect(summarizeRtts([])).toEqual({ count: 0, p50: null, p99: null, max: null });
  });
});

describe("/proc parsing", () => {
  it("reads VmRSS in bytes from /proc/<pid>/status", () => {
    const status = "Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  90000 kB\nVmRSS:\t   61440 kB\nRssAnon:\t 40000 kB\n";
    expect(parseRssBytes(status)).toBe(61440 * 1024);
  });

  it("is null when there is no VmRSS line (a kernel thread, a zombie)", () => {
    expect(parseRssBytes("Name:\tkworker\nState:\tZ (zombie)\n")).toBeNull();
  });

  it("counts the numeric entries of /proc/<pid>/fd only", () => {
    expect(countFds(["0", "1", "2", "19", "20"])).toBe(5);
    expect(countFds([".", "..", "0", "x1", "1a"])).toBe(1);
    expect(countFds([])).toBe(0);
  });
});

describe("the PASS/FAIL rule", () => {
  const good = {
    rtt: { p99: 12 },
    honestStayed: true,
    rss: { before: 60 * MiB, after: 70 * MiB },
    fds: { before: 22, after: 22 },
  };

  it("passes a run within every target", () => {
    expect(judge(good)).toEqual({ pass: true, reasons: [] });
  });

  it("fails at the p99 target itself and when no round trip completed", () => {
    expect(judge({ ...good, rtt: { p99: RTT_P99_TARGET_MS - 0.1 } }).pass).toBe(true);
    const atTarget = judge({ ...good, rtt: { p99: RTT_P99_TARGET_MS } });
    expect(atTarget.pass).toBe(false);
    expect(atTarget.reasons[0]).toMatch(/honest p99/);
    expect(judge({ ...good, rtt: { p99: null } }).reasons).toEqual(["no honest round trip completed"]);
  });

  it("fails when the honest peer lost its link", () => {
    expect(judge({ ...good, honestStayed: false }).reasons).toEqual(["honest peer lost its link"]);
  });

  it("allows RSS the larger of the fixed and the proportional tolerance", () => {
    const small = 60 * MiB;
    expect(judge({ ...good, rss: { before: small, after: small + RSS_TOLERANCE_BYTES } }).pass).toBe(true);
    expect(judge({ ...good, rss: { before: small, after: small + RSS_TOLERANCE_BYTES + 1 } }).pass).toBe(false);
    // 20% of 400 MiB (80 MiB) is more than 32 MiB.
    const big = 400 * MiB;
    expect(judge({ ...good, rss: { before: big, after: big + 80 * MiB } }).pass).toBe(true);
    expect(judge({ ...good, rss: { before: big, after: big + 81 * MiB } }).pass).toBe(false);
  });

  it("forgives RSS the allocator keeps when the victim retains nothing more", () => {
    const rss = { before: 60 * MiB, after: 150 * MiB };
    expect(judge({ ...good, rss }).pass).toBe(false);
    expect(judge({ ...good, rss, retained: { before: 20 * MiB, after: 20 * MiB + RETAINED_TOLERANCE_BYTES } }).pass).toBe(true);
    const leak = judge({ ...good, rss, retained: { before: 20 * MiB, after: 21 * MiB + RETAINED_TOLERANCE_BYTES } });
    expect(leak.pass).toBe(false);
    expect(leak.reasons[0]).toMatch(/^rss 150M after > 92M allowed, and 9M more retained/);
  });

  it("allows a few descriptors more, no more than the tolerance", () => {
    expect(judge({ ...good, fds: { before: 22, after: 22 + FD_TOLERANCE } }).pass).toBe(true);
    expect(judge({ ...good, fds: { before: 22, after: 23 + FD_TOLERANCE } }).reasons).toEqual([`fds ${23 + FD_TOLERANCE} after > ${22 + FD_TOLERANCE} allowed`]);
  });

  it("fails on the attack's own check and lists every reason", () => {
    const verdict = judge({ ...good, honestStayed: false, rtt: { p99: 250 }, check: { ok: false, text: "attacker never dropped" } });
    expect(verdict.pass).toBe(false);
    expect(verdict.reasons).toEqual(["honest p99 250 >= 100 ms", "honest peer lost its link", "attacker never dropped"]);
    expect(judge({ ...good, check: { ok: true, text: "dropped" } }).pass).toBe(true);
  });
});

describe("formatTable", () => {
  it("aligns columns under a rule, numbers to the right", () => {
    const text = formatTable([
      ["attack", "rtt", "result"],
      ["replay", "1.5/24.9/65.6", "FAIL"],
      ["oversize", "12.0", "PASS"],
    ]);
    expect(text).toBe(
      ["attack    rtt            result", "--------  -------------  ------", "replay    1.5/24.9/65.6  FAIL", "oversize           12.0  PASS", ""].join("\n"),
    );
  });
});
