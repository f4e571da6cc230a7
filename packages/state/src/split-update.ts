import { UPDATE_FORMAT } from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { splitWriter } from "./ownership.js";
import type { StateUpdate, UpdateEntry } from "./update.js";
import { measureValue, stringSize } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** Bounds for the pieces {@link splitUpdate} makes. */
export interface SplitLimits {
  /**
   * Most rows per piece; keep it at or below the receivers' `maxEntriesPerUpdate`.
   * @default 10000
   */
  maxEntries?: number;
  /**
   * Largest approximate encoded size of a piece, in bytes; leave room for the
   * message around it. A single row larger than this becomes a piece of its own.
   * @default Infinity
   */
  maxBytes?: number;
}

/** Bytes the `{ format, seq, entries }` wrapper adds around the rows, at most. */
export const UPDATE_OVERHEAD = 32;

/** Approximate MessagePack size of one row, in bytes (an upper bound). */
export function measureEntry(entry: UpdateEntry): number {
  const [key, , writer] = entry;
  const value = entry.length === 4 ? measureValue(entry[3]) : 0;
  const [id, sig] = splitWriter(writer);
  return 1 + stringSize(key) + 9 + stringSize(id) + (sig === undefined ? 0 : sig.length + 4) + value;
}

/** Approximate MessagePack size of a whole update, in bytes (an upper bound). */
export function measureUpdate(update: StateUpdate): number {
  let size = UPDATE_OVERHEAD;
  for (const entry of update.entries) size += measureEntry(entry);
  return size;
}

function checkBound(name: string, value: number): void {
  if (!(value >= 1)) {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `splitUpdate: ${name} must be at least 1, not ${String(value)}.` : [name, String(value)]);
  }
}

/**
 * Cuts an update into pieces of at most `maxEntries` rows and about
 * `maxBytes` bytes each, so each fits in one message. Every piece keeps the
 * update's `seq`. Applying all pieces, in any order, has the same effect as
 * applying the whole; applying only some is safe too (the rest comes with
 * the next snapshot). An update that already fits is returned alone.
 */
export function splitUpdate(update: StateUpdate, limits: SplitLimits = {}): StateUpdate[] {
  const maxEntries = limits.maxEntries ?? 10_000;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  checkBound("maxEntries", maxEntries);
  checkBound("maxBytes", maxBytes);
  const pieces: StateUpdate[] = [];
  let rows: UpdateEntry[] = [];
  let bytes = UPDATE_OVERHEAD;
  const flush = (): void => {
    pieces.push({ format: UPDATE_FORMAT, seq: update.seq, entries: rows });
    rows = [];
    bytes = UPDATE_OVERHEAD;
  };
  for (const entry of update.entries) {
    const size = measureEntry(entry);
    if (rows.length > 0 && (rows.length >= maxEntries || bytes + size > maxBytes)) flush();
    rows.push(entry);
    bytes += size;
  }
  if (rows.length > 0 || pieces.length === 0) flush();
  return pieces;
}
