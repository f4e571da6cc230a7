/**
 * How a relay carries a ready circuit between its two ends, within the
 * circuit's limits (bytes, bytes a second per direction, duration):
 * {@link spliceSockets} pipes the two TCP sockets byte for byte (the default:
 * no frame is parsed, copied or re-framed; the ends' own frame decoders and
 * the end-to-end secure channel check everything), {@link forwardFrames}
 * forwards frame by frame between two `Connection`s (a relay on another
 * transport).
 */

import { now as nowMs } from "@xppg/errors";
import type { Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import type { FrameTap } from "./frame-tap.js";
import { RELAY_ERROR_CODES, RelayError } from "./relay-wire.js";
import { closeSocket } from "./relay-socket.js";

/** A circuit's limits on the relay. */
export interface SpliceLimits {
  readonly maxCircuitBytes: number;
  readonly maxCircuitBytesPerSecond: number;
  readonly maxCircuitDurationMs: number;
}

/** The relay's counters a circuit adds to. */
export interface SpliceCounters {
  bytesRelayed: number;
  throttled: number;
}

/**
 * A token bucket of one second's worth on one direction of a circuit:
 * `after(bytes)` after each read pauses the reader (`pause`) while it is
 * over the rate, and calls `resume` when the bucket has refilled;
 * `waiting` is true meanwhile.
 */
function pacer(rate: number, counters: SpliceCounters, pause: () => void, resume: () => void): { after(bytes: number): void; readonly waiting: boolean } {
  let tokens = rate;
  let filledAt = nowMs();
  let timer: NodeJS.Timeout | undefined;
  return {
    get waiting() {
      return timer !== undefined;
    },
    after(bytes) {
      if (!Number.isFinite(rate)) return;
      const now = nowMs();
      tokens = Math.min(rate, tokens + ((now - filledAt) * rate) / 1000) - bytes;
      filledAt = now;
      if (tokens >= 0 || timer !== undefined) return;
      counters.throttled++;
      pause();
      timer = setTimeout(() => {
        timer = undefined;
        resume();
      }, Math.ceil((-tokens / rate) * 1000));
      timer.unref();
    },
  };
}

/**
 * Pipes `a` and `b` into each other until either closes or a limit is hit;
 * then both are closed and `onEnd` runs once. Back-pressure: a side whose
 * peer's socket buffer is full is not read until it drains; a side over the
 * rate is not read until the bucket refills.
 */
export function spliceSockets(a: Socket, b: Socket, limits: SpliceLimits, counters: SpliceCounters, onEnd: () => void): void {
  let bytes = 0;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    onEnd();
    closeSocket(a);
    closeSocket(b);
  };
  const timer = setTimeout(end, limits.maxCircuitDurationMs);
  timer.unref();
  const pipe = (from: Socket, to: Socket): void => {
    let draining = false;
    const resume = (): void => {
      if (!draining && !pace.waiting && !ended) from.resume();
    };
    const pace = pacer(limits.maxCircuitBytesPerSecond, counters, () => from.pause(), resume);
    from.removeAllListeners("data");
    from.on("data", (chunk: Buffer) => {
      if (ended) return;
      bytes += chunk.byteLength;
      counters.bytesRelayed += chunk.byteLength;
      if (bytes > limits.maxCircuitBytes) return end();
      if (!to.write(chunk) && !draining) {
        draining = true;
        from.pause();
        to.once("drain", () => {
          draining = false;
          resume();
        });
      }
      pace.after(chunk.byteLength);
    });
    from.on("end", end);
    from.on("close", end);
    from.on("error", () => {
      end();
      from.destroy();
    });
    from.setNoDelay(true);
    from.resume();
  };
  pipe(a, b);
  pipe(b, a);
}

/**
 * Forwards frames between two framed connections (the ends' taps), with the same limits; `end` closes both
 * with `close` (the relay's guarded close: another transport's connection may throw or reject from its own).
 */
export function forwardFrames(a: FrameTap, b: FrameTap, limits: SpliceLimits, counters: SpliceCounters, onEnd: () => void, close: (connection: Connection, error?: RelayError) => void): void {
  let bytes = 0;
  let ended = false;
  const end = (error?: RelayError): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    onEnd();
    close(a.connection, error);
    close(b.connection, error);
  };
  const timer = setTimeout(() => end(new RelayError(RELAY_ERROR_CODES.LIMIT, `The circuit reached the relay's time limit (${limits.maxCircuitDurationMs} ms).`)), limits.maxCircuitDurationMs);
  timer.unref();
  const forward = (from: Connection, to: Connection) => {
    let waiting = 0;
    let paused = false;
    const resumeIfFree = (): void => {
      if (!paused && !pace.waiting) from.resume();
    };
    const pace = pacer(limits.maxCircuitBytesPerSecond, counters, () => from.pause(), resumeIfFree);
    return (frame: Uint8Array): void => {
      bytes += frame.byteLength;
      counters.bytesRelayed += frame.byteLength;
      if (bytes > limits.maxCircuitBytes) return end(new RelayError(RELAY_ERROR_CODES.LIMIT, `The circuit reached the relay's byte limit (${limits.maxCircuitBytes}).`));
      pace.after(frame.byteLength);
      // Back-pressure: a send resolves at once while the other side's buffer has room;
      // while sends wait, stop reading this side, and read again when they all went.
      // The check is queued after the sends' own callbacks: a send that resolved at once
      // has counted itself off by then, so reading pauses only for a send that waits
      // (pausing and resuming the socket for every read cost half the bulk throughput).
      waiting++;
      to.send(frame).then(
        () => {
          waiting--;
          if (waiting === 0 && paused) {
            paused = false;
            resumeIfFree();
          }
        },
        () => end(),
      );
      if (waiting === 1 && !paused) {
        // Twice: the first check runs before the callbacks of the same read's later frames.
        queueMicrotask(() => {
          if (waiting > 0) {
            queueMicrotask(() => {
              if (waiting > 0 && !paused) {
                paused = true;
                from.pause();
              }
            });
          }
        });
      }
    };
  };
  a.take(forward(a.connection, b.connection), () => end());
  b.take(forward(b.connection, a.connection), () => end());
}
