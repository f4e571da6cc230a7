// The provider a page's channels run on: noble's ChaCha20-Poly1305 (WebCrypto
// has none), its AES-GCM loaded only when used. A page's node signs, checks
// and agrees keys with `pageCrypto()` (`web-crypto.ts`), asynchronously: this
// provider's synchronous Ed25519, X25519 and SHA-256 are not in its download.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { writeNonce, type CryptoProvider } from "./provider.js";

const EMPTY = new Uint8Array(0);

let aesGcm: typeof import("./noble-aes-gcm.js") | undefined;

/**
 * Loads noble's AES-GCM, which is kept out of the first download: the node
 * and the default cipher never use it. `secureConnection` with
 * `cipher: "AESGCM"` loads it itself (through `prepare`); call this before
 * using the provider's `aesGcmSeal`/`aesGcmOpen` directly.
 */
export async function loadNobleAesGcm(): Promise<void> {
  aesGcm ??= await import("./noble-aes-gcm.js");
}

function loadedAesGcm(): typeof import("./noble-aes-gcm.js") {
  if (aesGcm === undefined) throw new Error("noble's AES-GCM is not loaded yet: await cryptoProvider.prepare(\"AESGCM\") first (secureConnection does it itself)");
  return aesGcm;
}

function asynchronousHere(): never {
  throw new Error("a page's channel provider signs and agrees keys asynchronously, through pageCrypto()");
}

/** A page's channel provider: the record ciphers; its key and signature methods throw (see {@link loadNobleAesGcm} for AES-GCM). */
export const pageChannelProvider: CryptoProvider = {
  name: "noble",
  randomBytes: (length) => globalThis.crypto.getRandomValues(new Uint8Array(length)),
  ed25519Signer: asynchronousHere,
  ed25519Verify: asynchronousHere,
  x25519Generate: asynchronousHere,
  x25519PublicKey: asynchronousHere,
  x25519: asynchronousHere,
  sha256: asynchronousHere,
  hmacSha256: asynchronousHere,
  seal(key, counter, ad, plaintext) {
    const nonce = new Uint8Array(12);
    writeNonce(nonce, counter);
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
  },
  open(key, counter, ad, ciphertext) {
    if (ciphertext.byteLength < 16) return null;
    const nonce = new Uint8Array(12);
    writeNonce(nonce, counter);
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
    } catch {
      return null;
    }
  },
  aesGcmSeal: (key, counter, ad, plaintext) => loadedAesGcm().aesGcmSeal(key, counter, ad, plaintext),
  aesGcmOpen: (key, counter, ad, ciphertext) => loadedAesGcm().aesGcmOpen(key, counter, ad, ciphertext),
  prepare: (cipher) => (cipher === "AESGCM" && aesGcm === undefined ? loadNobleAesGcm() : undefined),
  sealParts(cipher, key, counter, plaintext) {
    // noble encrypts in one piece: the parts are views of its output.
    const sealed = cipher === "AESGCM" ? pageChannelProvider.aesGcmSeal(key, counter, EMPTY, plaintext) : pageChannelProvider.seal(key, counter, EMPTY, plaintext);
    const split = sealed.length - 16;
    return [sealed.subarray(0, split), sealed.subarray(split)];
  },
  defer: (fn) => queueMicrotask(fn),
};
