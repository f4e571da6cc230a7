// Types of report.mjs, for its tests (bench/test) and the type-aware lint.

export declare const RTT_P99_TARGET_MS: number;
export declare const RSS_TOLERANCE_BYTES: number;
export declare const RSS_TOLERANCE_SHARE: number;
export declare const RETAINED_TOLERANCE_BYTES: number;
export declare const FD_TOLERANCE: number;

/** The p-th percentile (0 to 100) by nearest rank; null for no values. */
export declare function percentile(values: readonly number[], p: number): number | null;

/** p50, p99 and max of round trips in ms; null fields when there were none. */
export declare function summarizeRtts(rtts: readonly number[]): { count: number; p50: number | null; p99: number | null; max: number | null };

/** VmRSS in bytes from the text of /proc/<pid>/status; null without the line. */
export declare function parseRssBytes(statusText: string): number | null;

/** The numeric entries of a /proc/<pid>/fd listing. */
export declare function countFds(names: readonly string[]): number;

/** What one attack run measured, as the PASS/FAIL rule reads it. */
export interface JudgedRow {
  rtt: { p99: number | null };
  honestStayed: boolean;
  rss: { before: number; after: number };
  retained?: { before: number; after: number } | undefined;
  fds: { before: number; after: number };
  check?: { ok: boolean; text: string } | undefined;
}

/** PASS or FAIL, with every reason for a FAIL. */
export declare function judge(row: JudgedRow): { pass: boolean; reasons: string[] };

export declare function fmtMs(ms: number | null | undefined): string;
export declare function fmtMiB(bytes: number | null | undefined): string;

/** Rows of cells as a fixed-width text table under a header rule. */
export declare function formatTable(rows: readonly (readonly string[])[]): string;
