/**
 * What a reader may learn of an encoded envelope before decoding it: one
 * byte, nothing validated. A node uses it to hold back signed broadcasts
 * (each costs a signature check) while cheap messages go on being read;
 * `EnvelopeCodec.decode` still checks everything.
 */

/** The flag of an envelope that carries a signature (its byte 1; see the layout in `envelope.ts`). */
export const FLAG_SIGNATURE = 0x02;

/**
 * True when the encoded envelope `bytes[start, end)` says it carries a
 * signature. A malformed one may say anything: decode it to find out.
 */
export function isSignedEnvelope(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start > 1 && (bytes[start + 1]! & FLAG_SIGNATURE) !== 0;
}
