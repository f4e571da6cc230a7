import type { Connection } from "./connection.js";

/** Total bytes of `parts`; throws a TypeError if one is not a Uint8Array. */
export function partsLength(parts: readonly Uint8Array[]): number {
  if (!Array.isArray(parts)) throw new TypeError("sendParts() takes an array of Uint8Array");
  let total = 0;
  for (const part of parts) {
    if (!(part instanceof Uint8Array)) throw new TypeError("sendParts() takes an array of Uint8Array");
    total += part.length;
  }
  return total;
}

/**
 * The bytes of `parts` joined into one new Uint8Array (the first part
 * itself when it is the only one). For transports that cannot send a frame
 * in pieces: `sendParts(parts)` becomes `send(joinParts(parts))`.
 */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const total = partsLength(parts);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
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
