import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { writeNonce, type CryptoProvider, type Ed25519Signer, type X25519KeyPair } from "./provider.js";

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

/**
 * The browser (and any-runtime) provider: the audited `@noble/curves`,
 * `@noble/ciphers` and `@noble/hashes`, with randomness from
 * `crypto.getRandomValues`. Slower than `node:crypto` in Node; used where
 * `node:crypto` does not exist.
 */
export const nobleCryptoProvider: CryptoProvider = {
  name: "noble",
  randomBytes: (length) => randomBytes(length),
  ed25519Signer(seed: Uint8Array): Ed25519Signer {
    const secret = seed.slice();
    return { publicKey: ed25519.getPublicKey(secret), sign: (data) => ed25519.sign(data, secret) };
  },
  ed25519Verify(publicKey, data, signature) {
    try {
      // zip215 off: the strict RFC 8032 rules, as OpenSSL applies them in Node.
      return ed25519.verify(signature, data, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  x25519Generate(): X25519KeyPair {
    const secretKey = x25519.utils.randomSecretKey();
    return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
  },
  x25519PublicKey: (secretKey) => x25519.getPublicKey(secretKey),
  x25519: (secretKey, publicKey) => x25519.getSharedSecret(secretKey, publicKey),
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
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
    const sealed = cipher === "AESGCM" ? nobleCryptoProvider.aesGcmSeal(key, counter, EMPTY, plaintext) : nobleCryptoProvider.seal(key, counter, EMPTY, plaintext);
    const split = sealed.length - 16;
    return [sealed.subarray(0, split), sealed.subarray(split)];
  },
  defer: (fn) => queueMicrotask(fn),
};
