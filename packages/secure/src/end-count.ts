/**
 * The count an end of stream carries when its owner asks for one
 * (`SecureConnectionOptions.countedEnd`): how many records of the peer's
 * this side had received when it ended, so that the peer can tell whether
 * each record it sent arrived (`SecureConnection.recordsSent`).
 *
 * Wire: the end of stream is a record whose plaintext is empty (no count:
 * an older sender, or an owner that asks for none), or exactly three bytes,
 * `1ccccccc cccccccc cccccccc`: the count's low 23 bits, the top bit set.
 * Between frames a reader tells it from data: a frame header starting with
 * a set top bit declares 2 GiB or more, and a sender's record holding the
 * start of a frame is never three bytes. An older reader, which knows only
 * the empty end, reads it as the first three bytes of a frame header and
 * waits for the fourth, which never comes: no frame, no error, and no end
 * seen (its connection ends as one cut off would).
 */

/** Bytes of a counted end of stream's plaintext. */
const END_COUNT_SIZE = 3;
/** The count wraps at this: 2^23 records (a peer's records not yet counted are always far fewer). */
export const END_COUNT_MODULUS = 0x80_0000;

/** The plaintext of an end of stream that counts `received` records (its low 23 bits). */
export function endCountRecord(received: number): Uint8Array {
  const c = received % END_COUNT_MODULUS;
  return Uint8Array.of(0x80 | (c >>> 16), (c >>> 8) & 0xff, c & 0xff);
}

/**
 * What a record's plaintext is: `false` for data; else an end of stream,
 * with its count, or undefined for the empty end. A counted end is read
 * only `between` frames (the frame decoder idle): elsewhere three such bytes
 * continue a frame.
 */
export function readEnd(plain: Uint8Array, between: boolean): number | undefined | false {
  if (plain.byteLength === 0) return undefined;
  if (!between || plain.byteLength !== END_COUNT_SIZE || plain[0]! < 0x80) return false;
  return ((plain[0]! & 0x7f) << 16) | (plain[1]! << 8) | plain[2]!;
}
