/**
 * The envelope's binary layout, shared by its encoder and decoder
 * (`envelope.ts`); INTERNALS.md of `@xppg/node` documents it.
 *
 * Layout (all integers big-endian):
 *   0  u8  version
 *   1  u8  flags (FLAG_*)
 *   2  u8  hopLimit
 *   3  u32 id, high 21 bits   \ a safe integer, split so each part fits a u32
 *   7  u32 id, low 32 bits    /
 *   11 u16 kind length, kind (UTF-8)
 *      u16 source length, source                unless FLAG_LINK_SOURCE
 *      [u16 destination length, destination]   when FLAG_DESTINATION and not FLAG_LINK_DESTINATION
 *      [64-byte signature]                      when FLAG_SIGNATURE
 *      payload: the rest; raw bytes when FLAG_BYTES, else one MessagePack value
 *
 * The compact direct layout (`lean/1`, only on a link both ends settled it
 * for; the message is from the link's sender to its receiver, hop limit 0,
 * no signature, and its id is not sent):
 *   0  u8  LEAN_MARKER, | LEAN_BYTES when the payload is raw bytes
 *   1  u8  kind length (1 to 255 bytes), kind (UTF-8)
 *      payload: the rest, as above
 */

import { FRAMING_ERROR_CODES, FramingError } from "./errors.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

export const FLAG_DESTINATION = 0x01;
/** The flag of an envelope that carries a signature (its byte 1). */
export const FLAG_SIGNATURE = 0x02;
export const FLAG_BYTES = 0x04;
/** The source is not written: it is the peer at the other end of the link. */
export const FLAG_LINK_SOURCE = 0x08;
/** The destination is not written: it is the receiver at the other end of the link. */
export const FLAG_LINK_DESTINATION = 0x10;
export const KNOWN_FLAGS = FLAG_DESTINATION | FLAG_SIGNATURE | FLAG_BYTES | FLAG_LINK_SOURCE | FLAG_LINK_DESTINATION;
/** The flags that decide which strings follow the fixed header. */
export const STRING_FLAGS = FLAG_DESTINATION | FLAG_LINK_SOURCE | FLAG_LINK_DESTINATION;
/** Bytes in an Ed25519 signature, the one kind envelopes carry. */
export const SIGNATURE_LENGTH = 64;
export const FIXED_HEADER = 11;
/** The first byte of a compact direct envelope: never a version-1 envelope's (that is 1). */
export const LEAN_MARKER = 0x80;
/** Set in a compact envelope's first byte: the payload is raw bytes. */
export const LEAN_BYTES = 0x01;
/** Longest kind, in UTF-8 bytes, a compact envelope carries (one length byte); a longer one travels in the full layout. */
export const MAX_LEAN_KIND_BYTES = 255;
/** Most UTF-8 bytes a string of `n` characters (UTF-16 units) can take. */
export const MAX_UTF8_PER_CHAR = 3;

export function checkString(value: unknown, maxChars: number, what: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > maxChars) {
    throw unencodable(ERROR_TEXTS ? `the ${what} must be a string of 1 to ${maxChars} characters` : [what, maxChars]);
  }
}

export function checkId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) throw unencodable(ERROR_TEXTS ? `the id must be a non-negative safe integer, got ${id}` : [id]);
}

export function putString(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  out[pos] = bytes.byteLength >>> 8;
  out[pos + 1] = bytes.byteLength & 0xff;
  out.set(bytes, pos + 2);
  return pos + 2 + bytes.byteLength;
}

export { allocate } from "#alloc";

export function unencodable(why: ErrorText): FramingError {
  return new FramingError(FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD, ERROR_TEXTS ? `The envelope cannot be encoded: ${why}.` : [why]);
}

export function malformed(why: ErrorText, cause?: unknown): FramingError {
  return new FramingError(
    FRAMING_ERROR_CODES.MALFORMED_ENVELOPE,
    ERROR_TEXTS ? `Received a malformed envelope: ${why}. The sender is not speaking the xppg protocol; its connection is dropped.` : [why],
    { cause },
  );
}
