import { ERROR_TEXTS, now as nowMs } from "@xppg/errors";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";

/**
 * The node-wide budget of signature checks (issue 16, item 6). Each signed
 * broadcast costs a verification (about 0.1 ms of CPU, measured with Node's
 * Ed25519); peers that each stay under their own broadcast rate could
 * together still stall the event loop. The budget is a token bucket of
 * `perSecond` checks a second holding `burstMs` worth (one second's: a
 * peer's burst of broadcasts is not cut, and the peer session reads it a
 * slice per turn, so spending it does not stall the loop): while it has
 * tokens, every broadcast is checked. Once it is empty the node is overloaded, and
 * the checks are shared: time is cut into short windows, and in each the
 * peers sending broadcasts get an equal share (the window's budget divided
 * by the peers that sent in this window or the last). A peer over its share
 * has its broadcasts dropped unchecked, so the others' are still checked;
 * one over its share in every window (give or take one) for `abuseAfterMs`
 * is reported as abusing it (the node then disconnects it: a strike).
 * Those windows are the ones in which the node checked broadcasts: a
 * window in which it read none (its own stall, under load) neither counts
 * nor breaks a run, so a node too busy to read every window still
 * disconnects the peer that keeps it busy.
 *
 * `admit` allocates nothing and is O(1).
 */

/** Verify the broadcast. */
export const VERIFY = 0;
/** Drop it unchecked: the peer is over its fair share. */
export const DROP = 1;
/** Drop it, and the peer has been over its share for `abuseAfterMs`: disconnect it. */
export const ABUSE = 2;
export type Admission = typeof VERIFY | typeof DROP | typeof ABUSE;

/** One peer's use of the budget (one per session). */
export class VerifyAccount {
  /** Verifications in `window`. */
  used = 0;
  window = -1;
  /** The last window in which a broadcast of this peer was dropped (a count of the windows the node read in). */
  dropWindow = -Infinity;
  /** The first window of the current run of windows with drops (same count). */
  streakStart = -1;
}

export interface VerificationBudgetOptions {
  /** Verifications a second for the whole node. */
  perSecond: number;
  /** @default 250 */
  windowMs?: number;
  /** Checks the bucket holds, in milliseconds of `perSecond`. @default 1000 */
  burstMs?: number;
  /** Over its share in every window for this long is abuse. @default 4000 */
  abuseAfterMs?: number;
  now?: () => number;
}

export class VerificationBudget {
  readonly perSecond: number;
  readonly #windowMs: number;
  readonly #perWindow: number;
  readonly #abuseWindows: number;
  readonly #now: () => number;
  readonly #capacity: number;
  #tokens: number;
  // Read only once tokens run short; the first admit (the budget starts full) sets it.
  // Not read at construction: a node that sees no broadcast never reads the clock.
  #refilledAt = 0;
  #window = -1;
  /** Windows in which `admit` was called: the clock of the abuse runs. */
  #windowsRead = 0;
  #active = 0;
  #activeBefore = 0;

  constructor(options: VerificationBudgetOptions) {
    this.perSecond = options.perSecond;
    this.#windowMs = options.windowMs ?? 250;
    this.#perWindow = Math.max(1, (options.perSecond * this.#windowMs) / 1000);
    this.#abuseWindows = Math.max(1, Math.ceil((options.abuseAfterMs ?? 4000) / this.#windowMs));
    this.#now = options.now ?? nowMs;
    this.#capacity = Math.max(1, (options.perSecond * (options.burstMs ?? 1000)) / 1000);
    this.#tokens = this.#capacity;
  }

  /** Whether `account`'s peer may have one more broadcast verified now. */
  admit(account: VerifyAccount): Admission {
    const now = this.#now();
    const window = Math.floor(now / this.#windowMs);
    if (window !== this.#window) {
      this.#activeBefore = window === this.#window + 1 ? this.#active : 0;
      this.#active = 0;
      this.#window = window;
      this.#windowsRead++;
    }
    if (account.window !== window) {
      account.window = window;
      account.used = 0;
      this.#active++;
    }
    account.used++;
    // Time spent full earns nothing (as in TokenBucket): an idle node still gets one burst, not more.
    if (this.#tokens >= this.#capacity) this.#refilledAt = now;
    else if (this.#tokens < 1) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#refilledAt) * this.perSecond) / 1000);
      this.#refilledAt = now;
    }
    // Tokens left: no one waits, check it. Else only within the peer's share (which may borrow, down to one second's debt).
    if (this.#tokens >= 1 || account.used <= this.#perWindow / Math.max(1, this.#active, this.#activeBefore)) {
      if (this.#tokens > -this.perSecond) this.#tokens--;
      return VERIFY;
    }
    account.used--;
    // Counted in windows this node read in: its own stall (no window read) is no pause of the sender's.
    const read = this.#windowsRead;
    if (account.dropWindow !== read) {
      // A run of windows with drops survives one window without (a hiccup of the sender).
      if (account.dropWindow < read - 2) account.streakStart = read;
      account.dropWindow = read;
    }
    if (read - account.streakStart + 1 >= this.#abuseWindows) {
      account.streakStart = read + 1;
      return ABUSE;
    }
    return DROP;
  }
}

/** The error a peer is disconnected with after abusing the budget (a strike). */
export function overVerificationShareError(peerId: string, perSecond: number): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.RATE_LIMITED,
    ERROR_TEXTS ? `The peer ${peerId} kept sending more signed broadcasts than its share of this node's ${perSecond} signature checks a second while other peers sent too; it is disconnected. ` +
      "Raise limits.verificationsPerSecond if this traffic is expected, or send to one peer with { to }." : [peerId, perSecond],
    { details: { limit: "verificationsPerSecond", rate: perSecond } },
  );
}
