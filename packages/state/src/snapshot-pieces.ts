import { UPDATE_FORMAT } from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { rowSize, toEntry, type Slot } from "./slot.js";
import { UPDATE_OVERHEAD, type SplitLimits } from "./split-update.js";
import type { StateUpdate, UpdateEntry } from "./update.js";
import { stringSize } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * Cuts what `slots` hold into updates as it reads them, each within
 * `limits` (as `splitUpdate` would cut the whole snapshot), never building
 * the whole snapshot first. The map may change between two pieces: a JavaScript
 * `Map` iterator visits what is there when it gets to it.
 */
export function* cutSnapshot(
  slots: ReadonlyMap<string, Slot>,
  seq: () => number,
  limits: SplitLimits,
  skip: (slot: Slot) => boolean,
): Generator<StateUpdate, void, undefined> {
  const maxEntries = limits.maxEntries ?? 10_000;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!(maxEntries >= 1) || !(maxBytes >= 1)) {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? "SharedState.snapshotPieces: maxEntries and maxBytes must be at least 1." : []);
  }
  let rows: UpdateEntry[] = [];
  let bytes = UPDATE_OVERHEAD;
  let sent = false;
  for (const [key, slot] of slots) {
    if (skip(slot)) continue;
    for (const row of slot.rows) {
      // The measure of measureEntry, from the size counted when the value was stored.
      const size = 1 + stringSize(key) + 9 + rowSize(row);
      if (rows.length > 0 && (rows.length >= maxEntries || bytes + size > maxBytes)) {
        yield { format: UPDATE_FORMAT, seq: seq(), entries: rows };
        sent = true;
        rows = [];
        bytes = UPDATE_OVERHEAD;
      }
      rows.push(toEntry(key, slot.version, row));
      bytes += size;
    }
  }
  if (rows.length > 0 || !sent) yield { format: UPDATE_FORMAT, seq: seq(), entries: rows };
}
