import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { chachaOpen, chachaSeal } from "./noble-chacha.js";
import { pageChannelProvider } from "./page-provider.js";
import type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "./provider.js";

export { loadNobleAesGcm } from "./page-provider.js";

/**
 * The browser (and any-runtime) provider: the audited `@noble/curves`,
 * `@noble/ciphers` and `@noble/hashes`, with randomness from
 * `crypto.getRandomValues`. Slower than `node:crypto` in Node; used where
 * `node:crypto` does not exist. Its AES-GCM is loaded by `prepare("AESGCM")`.
 * A page's node takes only its ciphers (`page-provider.ts`) and signs and
 * agrees keys through WebCrypto.
 */
export const nobleCryptoProvider: CryptoProvider = {
  ...pageChannelProvider,
  // Loaded with this provider: code that takes it wants answers at once (a page's node takes pageChannelProvider).
  seal: chachaSeal,
  open: chachaOpen,
  prepare: (cipher) => (cipher === "AESGCM" ? pageChannelProvider.prepare!(cipher) : undefined),
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
};
