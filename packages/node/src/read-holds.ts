import type { PeerSession } from "./peer-session.js";

/**
 * Why a session's reading is paused, counted: the disk (a file being written
 * slower than it arrives, `file-transfer.ts`) and a congested next hop (the
 * routing room passing packets to a neighbour that reads slower than this
 * one sends, `routing-room.ts`). The connection is paused at the first hold
 * and resumed when the last one is released, so one room's release never
 * resumes a reading another still holds. A paused session is in
 * `paused` (the peer table's), whose silence the heartbeat does not count.
 */
export class ReadHolds {
  readonly #holds = new WeakMap<PeerSession, number>();
  readonly #paused: Set<PeerSession>;

  constructor(paused: Set<PeerSession>) {
    this.#paused = paused;
  }

  /** Takes (`held` true) or releases one hold on `session`'s reading. */
  set(session: PeerSession, held: boolean): void {
    const before = this.#holds.get(session) ?? 0;
    const after = Math.max(0, before + (held ? 1 : -1));
    if (after === 0) this.#holds.delete(session);
    else this.#holds.set(session, after);
    if (held) {
      // Paused again on every hold: the session's own reader resumes the connection after a turn's
      // slice (`bundle-reader.ts`), which must not end a hold that is still taken.
      this.#paused.add(session);
      session.connection.pause();
    } else if (before > 0 && after === 0) {
      this.#paused.delete(session);
      session.connection.resume();
    }
  }
}
