/**
 * Sending one encoded broadcast to every peer, with a bound on how long the
 * returned promise waits for a receiver that is not reading (issue 16,
 * item 7). Awaiting each broadcast is the back-pressure the README advises;
 * without a bound, one peer that stops reading would freeze the sender.
 */

import { now as nowMs } from "@xppg/errors";
import { MISUSE_CHECKS } from "#host";
import { QUEUED } from "./outbox.js";

/** What fan-out needs of a session. */
export interface FanOutTarget {
  readonly isClosed: boolean;
  /** Since when senders have been waiting for this peer (`now()` of @xppg/errors), or -1. */
  readonly congestedSince: number;
  sendBytes(bytes: Uint8Array): Promise<void>;
}

const RESOLVED: Promise<void> = Promise.resolve();
const ignore = (): void => {};

/**
 * Queues `bytes` for every target. The promise resolves once every receiver
 * has room again, or once `maxWaitMs` has passed since a receiver began to
 * hold senders back; it never rejects for a receiver that closes (that is
 * reported as the peer leaving). With every receiver keeping up, it costs no
 * allocation.
 */
export function fanOut(targets: Iterable<FanOutTarget>, bytes: Uint8Array, maxWaitMs: number): Promise<void> {
  let waits: Promise<void>[] | undefined;
  let now = -1;
  let longest = 0;
  for (const target of targets) {
    if (target.isClosed) continue;
    const sent = target.sendBytes(bytes);
    if (target.isClosed) {
      // Dropped by this very send (its queue passed a limit): the promise rejects.
      sent.catch(ignore);
      continue;
    }
    const since = target.congestedSince;
    if (since < 0) {
      // Not congested: the send resolved at once, or rejected (the session
      // is ending: its connection failed this very write, which the peer's
      // leaving reports). A rejection nobody handles would be an unhandled
      // one (in Node, where it ends the process; a page saves the bytes).
      if (MISUSE_CHECKS && sent !== QUEUED) sent.catch(ignore);
      continue;
    }
    if (now < 0) now = nowMs();
    const waited = now - since;
    if (waited >= maxWaitMs) {
      // This receiver has held senders back long enough: later broadcasts go on without it.
      sent.catch(ignore);
      continue;
    }
    longest = Math.max(longest, waited);
    (waits ??= []).push(sent.catch(ignore));
  }
  if (waits === undefined) return RESOLVED;
  // Infinity: wait for every receiver (no bound).
  if (!Number.isFinite(maxWaitMs)) return Promise.all(waits).then(ignore);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxWaitMs - longest);
    void Promise.all(waits).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
