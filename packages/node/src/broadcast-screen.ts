import type { Envelope } from "@xppg/framing";
import { ReplayGuard } from "./replay-guard.js";
import { ABUSE, VERIFY, VerificationBudget, VerifyAccount, overVerificationShareError } from "./verification-budget.js";

/**
 * What a signed broadcast goes through before its signature is checked
 * (issue 16, items 6 and 12): a replay or one too old is dropped (O(1), no
 * allocation), then the sender's share of the node-wide verification budget
 * decides whether it is checked at all. Call `screen` first; check the
 * signature only on `"verify"`; call `verified` once it verified, so that
 * only genuine ids are remembered.
 */

export interface BroadcastScreenOptions {
  /** Oldest broadcast accepted, by its signed time. */
  maxAgeMs: number;
  /** Origins tracked for replays at most. */
  maxOrigins: number;
  /** Signature checks a second for the node; 0 or `Infinity` for no budget. */
  verificationsPerSecond: number;
}

/** The sender of a broadcast, as the screen sees it (a session). */
export interface BroadcastSender {
  readonly peerId: string | undefined;
  /** The sender's use of the verification budget; the screen sets it on first use. */
  verifyAccount: VerifyAccount | undefined;
}

/** `"verify"`: check its signature. `"replay"`: seen, or too old. `"over-budget"`: the sender is over its share. */
export type Screening = "verify" | "replay" | "over-budget";

export class BroadcastScreen {
  readonly #replays: ReplayGuard;
  readonly #budget: VerificationBudget | undefined;

  constructor(options: BroadcastScreenOptions) {
    this.#replays = new ReplayGuard({ maxAgeMs: options.maxAgeMs, maxOrigins: options.maxOrigins });
    const rate = options.verificationsPerSecond;
    if (rate > 0 && Number.isFinite(rate)) this.#budget = new VerificationBudget({ perSecond: rate });
  }

  /**
   * Decides what to do with a signed broadcast before its signature is
   * checked. Throws `XPPG_ERR_RATE_LIMITED` for a sender that has been over
   * its share for long (the session then drops it: a strike).
   */
  screen(sender: BroadcastSender, envelope: Envelope): Screening {
    // A replayed broadcast is dropped before its signature costs a verification again.
    if (this.#replays.check(envelope.source, envelope.id) !== "fresh") return "replay";
    const budget = this.#budget;
    if (budget === undefined) return "verify";
    const admission = budget.admit((sender.verifyAccount ??= new VerifyAccount()));
    if (admission === VERIFY) return "verify";
    if (admission === ABUSE) throw overVerificationShareError(sender.peerId ?? "?", budget.perSecond);
    return "over-budget";
  }

  /** The broadcast's signature verified: its id is remembered. */
  verified(envelope: Envelope): void {
    this.#replays.accept(envelope.source, envelope.id);
  }
}
