/**
 * The bytes a relay forwards: a received signed envelope exactly as its
 * origin encoded it, signature included, so every later hop verifies the
 * origin's own bytes (re-encoding the decoded payload could change them).
 * Only the hop limit differs, and the signature does not cover it.
 */

import type { Envelope } from "@xppg/framing";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

const FLAG_DESTINATION = 0x01;
const FLAG_SIGNATURE = 0x02;
/** Version, flags, hop limit, id. */
const FIXED_HEADER = 11;
const SIGNATURE_LENGTH = 64;

/**
 * A signed envelope as it was on the wire, with hop limit 0 (a new buffer:
 * it can be kept after the frame it came in is reused). Throws a
 * `RangeError` for an envelope that carries no signature.
 */
export function relayBytes(envelope: Envelope): Uint8Array {
  const signed = envelope.signedBytes;
  const signature = envelope.signature;
  if (signed === undefined || signature === undefined) throw new RangeError(ERROR_TEXTS ? "only a signed envelope can be relayed" : valuesMessage("", []));
  // The signature sits after the ids: kind, source, and a destination if flagged.
  let pos = FIXED_HEADER;
  pos += 2 + ((signed[pos]! << 8) | signed[pos + 1]!);
  pos += 2 + ((signed[pos]! << 8) | signed[pos + 1]!);
  if ((signed[1]! & FLAG_DESTINATION) !== 0) pos += 2 + ((signed[pos]! << 8) | signed[pos + 1]!);
  const out = new Uint8Array(signed.length + SIGNATURE_LENGTH);
  out.set(signed.subarray(0, pos), 0);
  out.set(signature, pos);
  out.set(signed.subarray(pos), pos + SIGNATURE_LENGTH);
  out[1] = signed[1]! | FLAG_SIGNATURE;
  return out;
}

/** A copy of relay bytes with the given hop limit. */
export function withHopLimit(bytes: Uint8Array, hopLimit: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[2] = hopLimit;
  return out;
}
