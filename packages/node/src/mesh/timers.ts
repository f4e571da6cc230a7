import { now as nowMs } from "@xppg/errors";

/**
 * The clock a mesh module runs on. The modules do no I/O and never read the
 * real clock: the node passes `setTimeout`, the simulator its own event
 * queue, so a simulated run replays exactly from its seed.
 */
export interface MeshTimers {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a handle for `clearTimer`. */
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** Timers on the real clock, for the node. */
export const REAL_TIMERS: MeshTimers = {
  now: nowMs,
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    // A pending repair must never keep a stopped process alive.
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
