import { MAX_VERSION, VERSION_TICKS_PER_MS } from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { splitWriter } from "./ownership.js";
import type { Row } from "./slot.js";
import type { StateUpdate, UpdateEntry } from "./update.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * Versions as a hybrid logical clock: a version is
 * `ms * VERSION_TICKS_PER_MS + counter`. A local write takes
 * `max(held + 1, now * VERSION_TICKS_PER_MS)`, so it follows the wall clock
 * and still beats everything seen for the key; a received version is
 * measured against the receiver's clock, so no peer can push a key further
 * ahead of real time than the allowed skew (see the README's "Versions").
 */

/** The first version of millisecond `ms` (counter 0). */
export function versionAtTime(ms: number): number {
  // A clock that returns garbage reads as the epoch: versions then count writes, never become NaN.
  if (!Number.isFinite(ms)) return 0;
  return Math.min(MAX_VERSION, Math.max(0, Math.floor(ms)) * VERSION_TICKS_PER_MS);
}

/** The last version of millisecond `ms` (counter at its top). */
export function lastVersionAtTime(ms: number): number {
  return Math.min(MAX_VERSION, versionAtTime(ms) + VERSION_TICKS_PER_MS - 1);
}

/** The wall-clock time (ms since the epoch) a version was written at, as its writer read its clock. */
export function timeOfVersion(version: number): number {
  return Math.floor(version / VERSION_TICKS_PER_MS);
}

/** The version of a local write: one above what is held, and no lower than the clock. */
export function nextVersion(held: number, now: number): number {
  return Math.max(held + 1, versionAtTime(now));
}

/** A received row held back because its version is ahead of the clock. */
export interface EarlyRow {
  readonly key: string;
  readonly version: number;
  readonly row: Row;
}

/**
 * Sorts the rows of a received update by the receiver's clock `now`: those
 * dated at most `skewMs` ahead apply (`rows`, with their value sizes);
 * those up to twice that wait (`early`); further ones are dropped, unless
 * the sender (`origin`) says it wrote one itself: then the whole update is
 * refused with `VERSION_TOO_FAR_AHEAD` (a hostile peer, or a wrong clock).
 */
export function sortByClock(
  update: StateUpdate,
  sizes: readonly number[],
  origin: unknown,
  now: number,
  skewMs: number,
): { rows: [UpdateEntry, number][]; early: EarlyRow[] } {
  const edge = lastVersionAtTime(now + skewMs);
  const horizon = lastVersionAtTime(now + 2 * skewMs);
  const rows: [UpdateEntry, number][] = [];
  const early: EarlyRow[] = [];
  for (let i = 0; i < update.entries.length; i++) {
    const entry = update.entries[i] as UpdateEntry;
    const [key, version, signed] = entry;
    const [writer, sig] = splitWriter(signed);
    const size = sizes[i] as number;
    if (version <= edge) {
      rows.push([entry, size]);
    } else if (version <= horizon) {
      early.push({ key, version, row: { writer, value: entry.length === 4 ? entry[3] : undefined, size, sig } });
    } else if (writer === origin) {
      throw new StateError(
        STATE_ERROR_CODES.VERSION_TOO_FAR_AHEAD,
        ERROR_TEXTS ? `Received state update writes key "${key}" at version ${version}, dated ${timeOfVersion(version) - now} ms ahead of this replica's clock, ` +
          `more than twice maxClockSkewMs (${skewMs}). Nothing was applied; the sender's clock (or this one) is wrong, or it is trying to pin the key.` : [key, version, timeOfVersion(version) - now, skewMs],
        { details: { key, version, aheadMs: timeOfVersion(version) - now, maxClockSkewMs: skewMs } },
      );
    }
    // Else: a write forwarded from elsewhere, dated further ahead than any honest clock: dropped, no one blamed.
  }
  return { rows, early };
}

/** The error for a local write to a key already at {@link MAX_VERSION}. */
export function versionExhausted(key: string): StateError {
  return new StateError(
    STATE_ERROR_CODES.VERSION_EXHAUSTED,
    ERROR_TEXTS ? `Key "${key}" is at the highest version (${MAX_VERSION}) and cannot be written again. Use another key; ` +
      "versions follow the clock, so only a clock set centuries ahead gets there." : [key, MAX_VERSION],
    { details: { key } },
  );
}
