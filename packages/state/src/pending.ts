import { joinRows, slotSize, type Row } from "./slot.js";

/** Received writes to one key held back until this replica's clock catches up with their version. */
export interface PendingSlot {
  readonly version: number;
  readonly rows: readonly Row[];
  /** What `apply` was given as origin for the latest of these writes. */
  readonly origin: unknown;
  readonly size: number;
}

/**
 * Writes whose version is ahead of this replica's clock by more than
 * `maxClockSkewMs` (and less than twice that). They are not applied yet, so
 * no peer can push a key past real time; they are not refused either, since
 * an honest peer whose clock runs a little ahead, or that forwards a write
 * made at the edge of its own clock, sends them. Joined per key as the slot
 * joins writes (so order and repetition do not matter), bounded in bytes;
 * past the bound, new ones are dropped (a later snapshot brings them again).
 */
export class PendingWrites {
  readonly #slots = new Map<string, PendingSlot>();
  #size = 0;
  /** The lowest version waiting; recomputed only after it may have gone (asked after every message, so kept, not scanned). */
  #lowest: number | undefined;
  #lowestStale = false;

  constructor(
    private readonly maxRows: number,
    private readonly maxSize: number,
  ) {}

  /** Rows held back. */
  get rows(): number {
    let n = 0;
    for (const slot of this.#slots.values()) n += slot.rows.length;
    return n;
  }

  /** Holds back one write; false when it was dropped for want of room. */
  hold(key: string, version: number, row: Row, origin: unknown): boolean {
    const held = this.#slots.get(key);
    let rows: readonly Row[];
    if (held === undefined || version > held.version) rows = [row];
    else if (version === held.version) rows = joinRows(held.rows, row, this.maxRows);
    else return true; // an older write than one already waiting: it would lose anyway
    if (held !== undefined && rows === held.rows) return true;
    const size = slotSize(key, { rows });
    if (this.#size - (held?.size ?? 0) + size > this.maxSize) return false;
    this.#size += size - (held?.size ?? 0);
    this.#slots.set(key, { version, rows, origin, size });
    if (held !== undefined && held.version === this.#lowest && version > held.version) this.#lowestStale = true;
    else if (this.#lowest === undefined || version < this.#lowest) this.#lowest = version;
    return true;
  }

  /** The lowest version waiting, or undefined when none is. */
  lowestVersion(): number | undefined {
    if (this.#lowestStale) {
      this.#lowestStale = false;
      this.#lowest = undefined;
      for (const slot of this.#slots.values()) if (this.#lowest === undefined || slot.version < this.#lowest) this.#lowest = slot.version;
    }
    return this.#lowest;
  }

  /** Removes and returns the writes whose version is at most `maxVersion`. */
  takeDue(maxVersion: number): [string, PendingSlot][] {
    const due: [string, PendingSlot][] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.version > maxVersion) continue;
      due.push([key, slot]);
    }
    for (const [key, slot] of due) {
      this.#slots.delete(key);
      this.#size -= slot.size;
    }
    if (due.length > 0) this.#lowestStale = true;
    return due;
  }
}
