import { now as nowMs } from "@xppg/errors";
import type { PeerSession } from "./peer-session.js";

/**
 * The longest a forwarder holds the reading of a link for a congested next
 * hop, and the longest a next hop may stay over its high-water mark before
 * routed packets for it are dropped instead of held for. Without a bound, a
 * next hop that reads a trickle held the link before it forever (gossip,
 * heartbeats and other flows on it too, and so up the tree), and a ring of
 * forwarders with crossing flows held one another for good.
 */
export const ROUTED_HOLD_MS = 500;

/**
 * The bound the holds use: {@link ROUTED_HOLD_MS}. Internal (not exported by
 * the package): a test that proves every message arrives through a next hop
 * that catches up gives it a longer bound, since on a loaded machine the
 * catching up alone can outlast 500 ms, and it restores it after.
 */
export const routedHold = { ms: ROUTED_HOLD_MS };

/**
 * A forwarder's holds on the links routed packets come on (`routing-room.ts`,
 * "Back-pressure, hop by hop" in INTERNALS.md): one per link at a time,
 * taken when a packet goes on to a congested next hop, released when every
 * such send is taken, or after {@link ROUTED_HOLD_MS}, whichever is first.
 */
export class ForwardHolds {
  readonly #held = new Map<PeerSession, { pending: number; timer: ReturnType<typeof setTimeout> }>();
  readonly #hold: (session: PeerSession, held: boolean) => void;

  constructor(hold: (session: PeerSession, held: boolean) => void) {
    this.#hold = hold;
  }

  /**
   * True when `next` has been over its high-water mark for longer than a
   * hold may last: it reads slower than a hold can make up for, so a packet
   * for it is dropped, as a router drops, and the ends' own flow control
   * slows the sender.
   */
  overdue(next: PeerSession, now = nowMs()): boolean {
    const since = next.congestedSince;
    return since >= 0 && now - since >= routedHold.ms;
  }

  /** Holds `session`'s reading until `sent` settles, for {@link ROUTED_HOLD_MS} at most. */
  holdUntil(session: PeerSession, sent: Promise<void>): void {
    let hold = this.#held.get(session);
    if (hold === undefined) {
      const timer = setTimeout(() => this.#release(session, hold), routedHold.ms);
      timer.unref?.();
      hold = { pending: 0, timer };
      this.#held.set(session, hold);
      this.#hold(session, true);
    }
    const taken = hold;
    taken.pending++;
    const settled = (): void => {
      if (--taken.pending === 0) this.#release(session, taken);
    };
    sent.then(settled, settled);
  }

  /** Releases every hold (the room closes). */
  close(): void {
    for (const [session, hold] of [...this.#held]) this.#release(session, hold);
  }

  #release(session: PeerSession, hold: { timer: ReturnType<typeof setTimeout> } | undefined): void {
    // A send that settles after its hold timed out finds another hold (or none): it is not its to release.
    if (hold === undefined || this.#held.get(session) !== hold) return;
    this.#held.delete(session);
    clearTimeout(hold.timer);
    this.#hold(session, false);
  }
}
