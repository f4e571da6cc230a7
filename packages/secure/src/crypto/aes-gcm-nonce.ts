// The AESGCM nonce apart from provider.ts, so that a page whose first download
// holds no AES-GCM (its AES-GCM is loaded later) holds none of it either.

/** Writes the 12-byte AESGCM nonce of Noise (spec section 12.4): 4 zero bytes, then `counter` as 64-bit big-endian. */
export function writeAesGcmNonce(out: Uint8Array, counter: number): void {
  const low = counter >>> 0;
  const high = Math.floor(counter / 0x1_0000_0000) >>> 0;
  out[0] = out[1] = out[2] = out[3] = 0;
  out[4] = high >>> 24;
  out[5] = (high >>> 16) & 0xff;
  out[6] = (high >>> 8) & 0xff;
  out[7] = high & 0xff;
  out[8] = low >>> 24;
  out[9] = (low >>> 16) & 0xff;
  out[10] = (low >>> 8) & 0xff;
  out[11] = low & 0xff;
}
