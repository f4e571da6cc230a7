/**
 * What a reader may learn of an encoded envelope before decoding it: one
 * byte, nothing validated. A node uses it to hold back signed broadcasts
 * (each costs a signature check) while cheap messages go on being read;
 * `EnvelopeCodec.decode` still checks everything.
 */

import { LEAN } from "#lean";
import { FLAG_SIGNATURE } from "./envelope-layout.js";

export { FLAG_SIGNATURE } from "./envelope-layout.js";

/**
 * True when the encoded envelope `bytes[start, end)` says it carries a
 * signature. A malformed one may say anything: decode it to find out.
 */
export function isSignedEnvelope(bytes: Uint8Array, start: number, end: number): boolean {
  // A compact direct envelope (first byte 0x80 or 0x81, see `envelope-layout.ts`) is never signed: its byte 1 is a length.
  return end - start > 1 && (!LEAN || bytes[start]! < 0x80) && (bytes[start + 1]! & FLAG_SIGNATURE) !== 0;
}
