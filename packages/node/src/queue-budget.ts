/**
 * The node-wide bound on bytes queued for peers (issue 16, item 7): each
 * peer may queue up to its own limit, but all of them together at most
 * `maxBytes`, so many peers that stop reading cannot take gigabytes. When a
 * peer's queue would pass the bound, the peer with the largest queue is
 * dropped as slow (usually the one that stopped reading longest ago).
 */

/** One peer's queue, as the budget sees it. */
export interface QueueBudgetMember {
  /** Bytes this peer has queued and in flight. */
  readonly queuedBytes: number;
  /** Drops the peer as slow; it must leave the budget (`leave`) at once. */
  dropAsSlow(reason: string): void;
}

/** Counts the bytes queued for every peer of one node against one bound. */
export class QueueBudget {
  /** The bound, in bytes. */
  readonly maxBytes: number;
  #total = 0;
  readonly #members = new Set<QueueBudgetMember>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  join(member: QueueBudgetMember): void {
    this.#members.add(member);
  }

  /** The member is gone; `queuedBytes` is what it still counted. */
  leave(member: QueueBudgetMember, queuedBytes: number): void {
    if (this.#members.delete(member)) this.#total -= queuedBytes;
  }

  /** Adds bytes queued by `member`; past the bound, drops the largest queues until under it. */
  add(bytes: number): void {
    this.#total += bytes;
    while (this.#total > this.maxBytes && this.#members.size > 0) {
      let largest: QueueBudgetMember | undefined;
      for (const m of this.#members) if (largest === undefined || m.queuedBytes > largest.queuedBytes) largest = m;
      const before = this.#members.size;
      largest!.dropAsSlow(
        `together the peers have ${this.#total} bytes waiting, over this node's limits.maxQueuedBytes (${this.maxBytes}); ` +
          `this peer had the most (${largest!.queuedBytes} bytes)`,
      );
      // A member that did not leave would loop forever: stop rather than spin.
      if (this.#members.size === before) break;
    }
  }

  /** Bytes sent (or dropped) that no longer count. */
  remove(bytes: number): void {
    this.#total -= bytes;
  }
}
