/**
 * The clock of the xppg packages' own timing, in Node (the `#clock` import; a
 * page's is `browser/clock.ts`): milliseconds on a monotonic clock, read with
 * `process.hrtime()`. Node's `performance.now()` reads the same clock
 * (`uv_hrtime()`, less the process's time origin), but the first read of the
 * global `performance` loads Node's perf_hooks, about 1 ms of a fresh process
 * that a program would otherwise pay in its first connection (issue 15).
 */

const hrtime = typeof process === "object" && typeof process.hrtime === "function" ? process.hrtime : undefined;

// Zero at about the start of the process, as `performance.now()` is (its origin is Node's own, within about a
// millisecond of this one): times stay small and positive (-1 means "not set" in a few places).
const ORIGIN = hrtime === undefined ? 0 : hrMs() - (typeof process.uptime === "function" ? process.uptime() * 1000 : 0);

function hrMs(): number {
  // One small array a call (a bigint from `hrtime.bigint()` would be an allocation too, and slower to turn into ms).
  const t = hrtime!();
  return t[0] * 1000 + t[1] / 1e6;
}

/**
 * Milliseconds on a monotonic clock, from about the start of the process: the
 * clock every xppg package times itself by. Only differences between two of
 * its readings mean something; {@link toPerformanceTime} turns one into a
 * `performance.now()` time.
 */
export const now: () => number = hrtime === undefined ? () => performance.now() : () => hrMs() - ORIGIN;

// performance.now() less now(): constant, both read the same clock. Measured on first use.
let toPerformance: number | undefined;

/**
 * A time read from {@link now}, as `performance.now()` would have read it at
 * the same moment. In Node the first call loads perf_hooks (about 1 ms), so
 * call it only where a time is handed to the application.
 */
export function toPerformanceTime(time: number): number {
  if (toPerformance === undefined) {
    if (hrtime === undefined) toPerformance = 0;
    else {
      const perf = performance;
      // The closest of paired reads (a read between two others, less their middle), tried until two reads are
      // within 10 µs, at most 50 times: measured once for the process, so a read preempted on a busy machine
      // must not set the offset for good.
      let gap = Infinity;
      for (let i = 0; i < 50 && gap > 0.01; i++) {
        const before = now();
        const p = perf.now();
        const after = now();
        if (after - before < gap) {
          gap = after - before;
          toPerformance = p - (before + after) / 2;
        }
      }
    }
  }
  return time + toPerformance!;
}
