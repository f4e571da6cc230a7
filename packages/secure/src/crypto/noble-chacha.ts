// ChaCha20-Poly1305 from @noble/ciphers, in its own module: a page loads it
// only for a connection that runs "ChaChaPoly" (a peer that cannot take the
// AESGCM a page offers: a node of an earlier release), so it stays out of the
// bundle every page loads (see pageChannelProvider.prepare).
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { writeNonce } from "./provider.js";

/** ChaCha20-Poly1305 with the Noise ChaChaPoly nonce; ciphertext then the 16-byte tag. */
export function chachaSeal(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  writeNonce(nonce, counter);
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** The inverse of {@link chachaSeal}; `null` when the tag does not verify. */
export function chachaOpen(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.byteLength < 16) return null;
  const nonce = new Uint8Array(12);
  writeNonce(nonce, counter);
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    return null;
  }
}
