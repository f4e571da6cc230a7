import type { PeerSession } from "./peer-session.js";

/**
 * The sessions both sides accepted, by peer id (`PeerTable.open`), in Node:
 * a `Map` that also answers {@link OpenSessions.session}, its `get` with the
 * last answer kept (issue 15: a stream of sends to one peer looks it up
 * once, and compares its peer id by identity). Every change of the map
 * (`set`, `delete`, `clear`) drops that answer, so a send after the peer
 * reconnected finds its new session, and one after it left finds none. A
 * page's table is a plain `Map` (the `#host` constant `KEEPS_LAST_TARGET`).
 */
export class OpenSessions extends Map<string, PeerSession> {
  #lastTo: string | undefined;
  #lastSession: PeerSession | undefined;

  constructor() {
    // No entries to the constructor: `Map` would add them with the `set` below before the fields above exist.
    super();
  }

  /** `get(to)`, kept until the map changes. */
  session(to: string): PeerSession | undefined {
    if (to === this.#lastTo) return this.#lastSession;
    const session = this.get(to);
    this.#lastTo = to;
    this.#lastSession = session;
    return session;
  }

  override set(peerId: string, session: PeerSession): this {
    this.#forget();
    return super.set(peerId, session);
  }

  override delete(peerId: string): boolean {
    this.#forget();
    return super.delete(peerId);
  }

  override clear(): void {
    this.#forget();
    super.clear();
  }

  #forget(): void {
    this.#lastTo = undefined;
    this.#lastSession = undefined;
  }
}
