// AES-256-GCM from @noble/ciphers, in its own module: browsers load it only
// for a connection that uses the "AESGCM" cipher (the node never does), so
// it stays out of the bundle every page loads (see pageChannelProvider.prepare).
import { gcm } from "@noble/ciphers/aes.js";
import { writeAesGcmNonce } from "./aes-gcm-nonce.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

// gcm() takes 16-, 24- and 32-byte keys; Noise AESGCM is AES-256 only.
function aes256Key(key: Uint8Array): Uint8Array {
  if (key.byteLength !== 32) throw new RangeError(ERROR_TEXTS ? `expected a 32-byte key, got ${key.byteLength} bytes` : valuesMessage("", [key.byteLength]));
  return key;
}

/** AES-256-GCM with the Noise AESGCM nonce; ciphertext then the 16-byte tag. */
export function aesGcmSeal(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  writeAesGcmNonce(nonce, counter);
  return gcm(aes256Key(key), nonce, ad).encrypt(plaintext);
}

/** The inverse of {@link aesGcmSeal}; `null` when the tag does not verify. */
export function aesGcmOpen(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.byteLength < 16) return null;
  const nonce = new Uint8Array(12);
  writeAesGcmNonce(nonce, counter);
  try {
    return gcm(aes256Key(key), nonce, ad).decrypt(ciphertext);
  } catch {
    return null;
  }
}
