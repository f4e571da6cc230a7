import type { Connection } from "../connection.js";
import { ERROR_TEXTS, badArgumentError, byteArrayLength, byteArrayPlace, checkByteArray } from "@xppg/errors";

/**
 * Total bytes of `parts`; throws a TypeError with code
 * `XPPG_ERR_INVALID_ARGUMENT` if it is not an array, or (see
 * `checkByteArray`) if a part is not a Uint8Array. Each part's size is read by the language's getter, as
 * every later step reads it, whatever `length` the part answers.
 */
export function partsLength(parts: readonly Uint8Array[]): number {
  if (!Array.isArray(parts)) throw badArgumentError(TypeError, "sendParts", "parts", ERROR_TEXTS && ["an array of Uint8Array", parts]);
  let total = 0;
  for (const part of parts) {
    total += checkByteArray(part, "sendParts", "parts[i]");
  }
  return total;
}

/**
 * The bytes of `parts` joined into one Uint8Array: a new one, or a view
 * when the parts already lie back to back in one buffer (the first part
 * itself when it is the only one). For transports that cannot send a frame
 * in pieces: `sendParts(parts)` becomes `send(joinParts(parts))`.
 */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  return joinKnownParts(parts, partsLength(parts));
}

/** {@link joinParts} for parts already checked by {@link partsLength}, which gave `total`. */
export function joinKnownParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const adjacent = adjacentView(parts, total);
  if (adjacent !== null) return adjacent;
  const out = new Uint8Array(total);
  writeParts(parts, out, 0);
  return out;
}

/**
 * Copies `parts` (checked by {@link partsLength}) back to back into `into`
 * from `at`, and answers where the copy ends. Each part is copied by `set`
 * and measured by the language's getter (`byteArrayLength`), never by its
 * own `length`, which may lie. Not exported from the adapter entry: it
 * trusts its parts (a Proxy or an object given Uint8Array's prototype would
 * be copied through its traps before the measure throws), so each caller
 * checks them first.
 */
export function writeParts(parts: readonly Uint8Array[], into: Uint8Array, at: number): number {
  for (const part of parts) {
    into.set(part, at);
    at += byteArrayLength(part);
  }
  return at;
}

/** A view over `parts` if each starts where the one before ends, in the same buffer; else null. */
function adjacentView(parts: readonly Uint8Array[], total: number): Uint8Array | null {
  if (parts.length === 0) return null;
  // The language's getters: a part's own `buffer` or `byteOffset` may lie, and the view would cover other memory.
  const { buffer, byteOffset: start } = byteArrayPlace(parts[0]!);
  let next = start;
  for (const part of parts) {
    const place = byteArrayPlace(part);
    if (place.buffer !== buffer || place.byteOffset !== next) return null;
    next += byteArrayLength(part);
  }
  return new Uint8Array(buffer, start, total);
}

/**
 * `sendParts` for a connection that sends whole frames: `send(joinParts(parts))`,
 * with malformed `parts` as a rejected promise like any send error.
 */
export function sendJoined(conn: Pick<Connection, "send">, parts: readonly Uint8Array[]): Promise<void> {
  let frame: Uint8Array;
  try {
    frame = joinParts(parts);
  } catch (err) {
    return Promise.reject(err);
  }
  return conn.send(frame);
}
