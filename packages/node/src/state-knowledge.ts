/**
 * What this node knows it holds of each peer's replica, so that a peer that
 * comes back is sent only what changed (as Yjs's sync step 1 / step 2 with
 * a state vector). A replica numbers its changes (`seq`); a node's state
 * sync has a random `epoch` per run, since `seq` starts again when a node
 * restarts. "I hold your epoch E up to seq S" is true once a sync from that
 * peer completed in one session (`init` mark) and stays true as its later
 * deltas arrive in order on that session (`upto` marks). See INTERNALS.md,
 * "State".
 */

import type { PeerSession } from "./peer-session.js";

/** A peer's sync epoch and the highest of its `seq` this node holds everything up to. */
export interface SyncMark {
  readonly epoch: string;
  readonly seq: number;
}

/** Peers remembered at most (least recently marked forgotten first): a returning peer past it gets a full snapshot. */
export const MAX_REMEMBERED_PEERS = 1024;
/** Longest epoch accepted from a peer. */
export const MAX_EPOCH_LENGTH = 64;

export class KnownPeers {
  readonly #marks = new Map<string, SyncMark>();
  /** Sessions whose peer's epoch arrived in its hello. */
  readonly #epochs = new WeakMap<PeerSession, string>();
  /** Sessions whose first sync from the peer completed: their `upto` marks count. */
  readonly #synced = new WeakSet<PeerSession>();
  /** Sessions that delivered an update this replica could not hold: their marks are never trusted again. */
  readonly #tainted = new WeakSet<PeerSession>();

  /** What this node holds of `peerId`'s replica, for the hello it sends that peer. */
  have(peerId: string | undefined): SyncMark | undefined {
    return peerId === undefined ? undefined : this.#marks.get(peerId);
  }

  /** True once the peer's hello arrived on this session (a second one is a violation). */
  greeted(session: PeerSession): boolean {
    return this.#epochs.has(session);
  }

  /** The peer's hello arrived with its epoch. */
  hello(session: PeerSession, epoch: string): void {
    this.#epochs.set(session, epoch);
  }

  /**
   * An update with a mark was applied: `initial` ends the peer's first
   * sync on this session (everything of its up to `upto` is held); a later
   * mark raises what is held, once the first sync completed.
   */
  marked(session: PeerSession, upto: number, initial: boolean): void {
    const epoch = this.#epochs.get(session);
    const peerId = session.peerId;
    if (epoch === undefined || peerId === undefined || this.#tainted.has(session)) return;
    if (initial) this.#synced.add(session);
    else if (!this.#synced.has(session)) return;
    const held = this.#marks.get(peerId);
    const seq = held?.epoch === epoch && !initial ? Math.max(held.seq, upto) : upto;
    this.#marks.delete(peerId);
    this.#marks.set(peerId, { epoch, seq });
    if (this.#marks.size > MAX_REMEMBERED_PEERS) this.#marks.delete(this.#marks.keys().next().value as string);
  }

  /** An update from this peer was not applied (this replica was full): what it holds of the peer is no longer known. */
  forget(session: PeerSession): void {
    this.#tainted.add(session);
    this.#synced.delete(session);
    if (session.peerId !== undefined) this.#marks.delete(session.peerId);
  }
}
