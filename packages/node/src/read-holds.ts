import type { PeerSession } from "./peer-session.js";

/**
 * Why a session's reading is paused by a room, counted: the disk (a file
 * being written slower than it arrives, `file-transfer.ts`) and a congested
 * next hop (the routing room passing packets to a neighbour that reads
 * slower than this one sends, `routing-room.ts`). Each hold is one more on
 * the session's own count (`PeerSession.holdConnection`), which the
 * session's reader shares for its waits: the connection is paused at the
 * first hold and resumed when the last one is released, so neither a
 * room's release nor the reader's resumes a reading another still holds. A
 * session a room holds is in `paused` (the peer table's), whose silence the
 * heartbeat does not count.
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
    // A release with no hold taken here is not this room's to give: it must not end the reader's.
    if (!held && before === 0) return;
    const after = before + (held ? 1 : -1);
    if (after === 0) {
      this.#holds.delete(session);
      this.#paused.delete(session);
    } else {
      this.#holds.set(session, after);
      this.#paused.add(session);
    }
    session.holdConnection(held);
  }
}
