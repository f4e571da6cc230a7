/**
 * The broadcast tree's cache of recent messages, kept whole to answer
 * grafts (issue 16: memory back after an attack). Bounded three ways: a
 * count, a total of payload bytes, and an age. Entries past the age are
 * dropped by a timer too, not only when a new message pushes them out: a
 * burst of large broadcasts followed by silence must not pin its bytes.
 */

import type { MeshTimers } from "./timers.js";

/** One kept message. */
export interface Kept<P> {
  readonly origin: string;
  readonly id: number;
  readonly payload: P;
  readonly hops: number;
  /** When it was kept (the timers' clock). */
  readonly at: number;
}

/** The bounds and the clock of a {@link MessageCache}. */
export interface MessageCacheOptions<P> {
  readonly timers: MeshTimers;
  /** Most messages kept. */
  readonly capacity: number;
  /** Most payload bytes kept, all messages together; a larger message is not kept. */
  readonly maxBytes: number;
  /** How long a message is kept. */
  readonly ttlMs: number;
  /** A payload's size in bytes. */
  readonly sizeOf: (payload: P) => number;
}

interface Slot<P> {
  readonly kept: Kept<P>;
  readonly bytes: number;
}

/** Recent messages by key, oldest first, within a count, a byte total and an age. */
export class MessageCache<P> {
  readonly #o: MessageCacheOptions<P>;
  /** Insertion order is age order: the clock only grows. */
  readonly #slots = new Map<string, Slot<P>>();
  #bytes = 0;
  #timer: unknown;

  /** The bounds come from this package's own code (`plumtree.ts`): not checked again here. */
  constructor(options: MessageCacheOptions<P>) {
    this.#o = options;
  }

  /** Payload bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps a message, making room by forgetting the oldest; one larger than `maxBytes` alone is not kept. */
  keep(key: string, kept: Kept<P>): void {
    const bytes = this.#o.sizeOf(kept.payload);
    this.#forget(key);
    this.#expire();
    if (bytes > this.#o.maxBytes) return;
    while (this.#slots.size > 0 && (this.#slots.size >= this.#o.capacity || this.#bytes + bytes > this.#o.maxBytes)) this.#dropOldest();
    this.#slots.set(key, { kept, bytes });
    this.#bytes += bytes;
    this.#arm();
  }

  /** The kept message, unless it is older than the age bound. */
  get(key: string): Kept<P> | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined || this.#o.timers.now() - slot.kept.at > this.#o.ttlMs) return undefined;
    return slot.kept;
  }

  /** The messages within the age bound, oldest first. */
  *fresh(): IterableIterator<Kept<P>> {
    const now = this.#o.timers.now();
    for (const { kept } of this.#slots.values()) if (now - kept.at <= this.#o.ttlMs) yield kept;
  }

  /** Forgets everything and stops the timer. */
  clear(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#slots.clear();
    this.#bytes = 0;
  }

  #forget(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }

  #dropOldest(): void {
    const first = this.#slots.keys().next();
    if (first.done !== true) this.#forget(first.value);
  }

  /** Drops the messages past the age bound (the oldest come first). */
  #expire(): void {
    const now = this.#o.timers.now();
    for (const [key, slot] of this.#slots) {
      if (now - slot.kept.at <= this.#o.ttlMs) break;
      this.#forget(key);
    }
  }

  /** One timer, at the oldest message's expiry, while anything is kept. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    const oldest = this.#slots.values().next();
    if (oldest.done === true) return;
    const wait = Math.max(0, oldest.value.kept.at + this.#o.ttlMs - this.#o.timers.now()) + 1;
    this.#timer = this.#o.timers.setTimer(wait, this.#sweep);
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#expire();
    this.#arm();
  };
}
