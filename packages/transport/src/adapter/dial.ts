import { isXppgError } from "@xppg/errors";
import type { Connection } from "../connection.js";
import { MAX_TIMER_MS } from "../constants.js";
import { abortedError, dialFailedError, dialTimeoutError } from "../errors.js";
import type { DialOptions } from "../transport.js";
import { checkInteger } from "./options.js";

/** What the socket code of a dial reports to {@link dialWithDeadline}. */
export interface DialAttempt {
  /**
   * The socket is open: the dial resolves with `connection`. If the dial
   * already gave up (timeout, abort), the connection is closed instead.
   */
  connected(connection: Connection): void;
  /** The socket could not be opened: the dial rejects with `XPPG_ERR_DIAL_FAILED` (an xppg error passes as it is). */
  failed(cause: unknown): void;
}

/**
 * The skeleton of `Transport.dial`: a deadline, the `AbortSignal`, and one
 * settlement. `start` opens the socket, reports through the
 * {@link DialAttempt}, and returns a function that drops the half-open
 * socket; it is called once if the dial times out, is aborted or fails.
 *
 * Rejects with `XPPG_ERR_ABORTED` (before anything starts if the signal has
 * already fired), `XPPG_ERR_DIAL_TIMEOUT` after `options.timeoutMs` (else
 * `defaultTimeoutMs`), or `XPPG_ERR_DIAL_FAILED`.
 */
export function dialWithDeadline(
  address: string,
  options: DialOptions | undefined,
  defaultTimeoutMs: number,
  start: (attempt: DialAttempt) => () => void,
): Promise<Connection> {
  const signal = options?.signal;
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  try {
    checkInteger("dial", "timeoutMs", timeoutMs, 1, MAX_TIMER_MS);
  } catch (err) {
    return Promise.reject(err);
  }
  if (signal?.aborted === true) return Promise.reject(abortedError(address, signal.reason));
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    let cancel: (() => void) | undefined;
    let cancelled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const giveUp = (error: Error): void => {
      if (!settle()) return;
      cancelled = true;
      cancel?.();
      reject(error);
    };
    const onAbort = (): void => giveUp(abortedError(address, signal?.reason));
    const timer = setTimeout(() => giveUp(dialTimeoutError(address, timeoutMs)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    const attempt: DialAttempt = {
      connected(connection) {
        if (settle()) resolve(connection);
        else void connection.close().catch(() => {});
      },
      failed(cause) {
        giveUp(isXppgError(cause) ? cause : dialFailedError(address, cause));
      },
    };
    try {
      cancel = start(attempt);
    } catch (err) {
      attempt.failed(err);
      return;
    }
    // The attempt may have failed inside start, before cancel was known.
    if (cancelled) cancel();
  });
}
