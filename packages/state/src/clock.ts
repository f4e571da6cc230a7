import { MAX_VERSION, VERSION_TICKS_PER_MS } from "./constants.js";

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
