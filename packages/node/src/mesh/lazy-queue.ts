/**
 * The announcements a Plumtree node owes its lazy neighbours (IHAVE), held
 * to leave together. An announcement only matters when the tree failed, and
 * one message per lazy link per broadcast (a sealed record and a socket
 * write each) was most of what a mesh node sent: held for `flushMs`, the
 * broadcasts of that time share one message per neighbour, and one the
 * neighbour showed it has meanwhile (it announced it, or sent a copy) is
 * taken back, so a lazy link mostly carries each id one way.
 */

import type { Announcement } from "./plumtree-types.js";
import type { MeshTimers } from "./timers.js";

export interface LazyQueueOptions {
  readonly timers: MeshTimers;
  /** How long announcements wait to leave together. */
  readonly flushMs: number;
  /** Most announcements in one message: a fuller queue leaves at once. */
  readonly maxAnnouncements: number;
  /** Sends one IHAVE to `peer` (called only for a neighbour still known). */
  send(peer: string, announcements: Announcement[]): void;
  isNeighbour(peer: string): boolean;
}

export class LazyQueue {
  readonly #o: LazyQueueOptions;
  /** Per neighbour, the announcements waiting, by message key. */
  readonly #queues = new Map<string, Map<string, Announcement>>();
  #timer: unknown;

  constructor(options: LazyQueueOptions) {
    this.#o = options;
  }

  /** Queues an announcement of the message `key` for `peer`. */
  add(peer: string, announcement: Announcement, key: string): void {
    let queue = this.#queues.get(peer);
    if (queue === undefined) {
      queue = new Map();
      this.#queues.set(peer, queue);
    }
    queue.set(key, announcement);
    if (queue.size >= this.#o.maxAnnouncements) {
      this.#queues.delete(peer);
      this.#send(peer, queue);
      return;
    }
    this.#timer ??= this.#o.timers.setTimer(this.#o.flushMs, this.#flush);
  }

  /** `peer` showed it has the message `key`: it need not hear of it from this node. */
  withdraw(peer: string, key: string): void {
    this.#queues.get(peer)?.delete(key);
  }

  /** `peer` is gone: nothing more for it. */
  forget(peer: string): void {
    this.#queues.delete(peer);
  }

  close(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#queues.clear();
  }

  #send(peer: string, queue: Map<string, Announcement>): void {
    if (queue.size > 0 && this.#o.isNeighbour(peer)) this.#o.send(peer, [...queue.values()]);
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    for (const [peer, queue] of this.#queues) this.#send(peer, queue);
    this.#queues.clear();
  };
}
