// The AESGCM nonce apart from provider.ts, so that a page whose first download
// holds no AES-GCM (its AES-GCM is loaded later) holds none of it either.

/** Writes the 12-byte AESGCM nonce of Noise (spec section 12.4): 4 zero bytes, then `counter` as 64-bit big-endian. */
export function writeAesGcmNonce(out: Uint8Array, counter: number): void {
  out[0] = out[1] = out[2] = out[3] = 0;
  // Lowest byte last; dividing a safe integer by 256 and flooring is exact.
  for (let i = 11, n = counter; i > 3; i--, n = Math.floor(n / 256)) out[i] = n & 0xff;
}
