import type { Connection } from "../connection.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

/** Total bytes of `parts`; throws a TypeError if one is not a Uint8Array. */
export function partsLength(parts: readonly Uint8Array[]): number {
  if (!Array.isArray(parts)) throw new TypeError(ERROR_TEXTS ? "sendParts() takes an array of Uint8Array" : valuesMessage("", []));
  let total = 0;
  for (const part of parts) {
    if (!(part instanceof Uint8Array)) throw new TypeError(ERROR_TEXTS ? "sendParts() takes an array of Uint8Array" : valuesMessage("", []));
    total += part.length;
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
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A view over `parts` if each starts where the one before ends, in the same buffer; else null. */
function adjacentView(parts: readonly Uint8Array[], total: number): Uint8Array | null {
  if (parts.length === 0) return null;
  const buffer = parts[0]!.buffer;
  const start = parts[0]!.byteOffset;
  let next = start;
  for (const part of parts) {
    if (part.buffer !== buffer || part.byteOffset !== next) return null;
    next += part.byteLength;
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
