// noble's Ed25519, X25519 and SHA-256 for a page, in their own module: a page
// whose WebCrypto has them (a secure context) never loads this one (see
// `pageCrypto` in `web-crypto.ts`); a plain-http page on a LAN address has
// no `crypto.subtle` and loads it at its first need.
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { pageChannelProvider } from "./page-provider.js";
import type { PageCrypto } from "./web-crypto.js";

/** {@link PageCrypto} on the audited `@noble/*` libraries (their answers come at once). */
export const noblePageCrypto: PageCrypto = {
  name: "noble",
  // noble's AES-GCM is 2 to 3 times slower than its ChaCha20-Poly1305: an offer of AESGCM is answered with ChaChaPoly.
  takesAesGcm: false,
  // The page's provider's own ciphers, answered at once (each loaded by the handshake that chooses it).
  aead: {
    seal: async (cipher, key, counter, ad, plaintext) => (cipher === "AESGCM" ? pageChannelProvider.aesGcmSeal : pageChannelProvider.seal)(key, counter, ad, plaintext),
    open: async (cipher, key, counter, ad, ciphertext) => (cipher === "AESGCM" ? pageChannelProvider.aesGcmOpen : pageChannelProvider.open)(key, counter, ad, ciphertext),
  },
  x25519Generate() {
    const secretKey = x25519.utils.randomSecretKey();
    return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
  },
  x25519: (secretKey, publicKey) => x25519.getSharedSecret(secretKey, publicKey),
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  async ed25519Signer(seed) {
    const secret = seed.slice();
    return { publicKey: ed25519.getPublicKey(secret), sign: async (data) => ed25519.sign(data, secret) };
  },
  async ed25519Verify(publicKey, data, signature) {
    try {
      // zip215 off: the strict RFC 8032 rules, as OpenSSL and WebCrypto apply them.
      return ed25519.verify(signature, data, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};
