import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { writeNonce, type CryptoProvider, type Ed25519Signer, type X25519KeyPair } from "./provider.js";

// DER wrappers that let node:crypto import raw 32-byte keys (RFC 8410 structures).
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
const TAG = 16;
const VERIFY_CACHE_LIMIT = 256;

function der(prefix: Buffer, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + 32);
  prefix.copy(out, 0);
  out.set(key, prefix.length);
  return out;
}

function x25519Private(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: der(X25519_PKCS8, checkLength(secretKey)), format: "der", type: "pkcs8" });
}

function checkLength(key: Uint8Array): Uint8Array {
  if (key.byteLength !== 32) throw new RangeError(`expected a 32-byte key, got ${key.byteLength} bytes`);
  return key;
}

// Importing a public key costs about as much as a verification: keep the
// last few (the peers of a node sign many messages each).
const verifyKeys = new Map<string, KeyObject>();

function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("base64");
  let key = verifyKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: der(ED25519_SPKI, publicKey), format: "der", type: "spki" });
    if (verifyKeys.size >= VERIFY_CACHE_LIMIT) verifyKeys.delete(verifyKeys.keys().next().value!);
    verifyKeys.set(id, key);
  }
  return key;
}

/**
 * The Node provider: everything on `node:crypto` (OpenSSL): Ed25519 and
 * X25519 through KeyObjects, `chacha20-poly1305` with a 16-byte tag,
 * SHA-256 and HMAC. Measured several times faster than `@noble/*` in Node
 * for every operation used here (see `bench/secure-bench.mjs`).
 */
export const nodeCryptoProvider: CryptoProvider = {
  name: "node",
  randomBytes: (length) => new Uint8Array(randomBytes(length)),
  ed25519Signer(seed: Uint8Array): Ed25519Signer {
    const privateKey = createPrivateKey({ key: der(ED25519_PKCS8, checkLength(seed)), format: "der", type: "pkcs8" });
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    return { publicKey, sign: (data) => new Uint8Array(sign(null, data, privateKey)) };
  },
  ed25519Verify(publicKey, data, signature) {
    if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false;
    try {
      return verify(null, data, ed25519PublicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
  x25519Generate(): X25519KeyPair {
    const { publicKey, privateKey } = generateKeyPairSync("x25519", {
      publicKeyEncoding: { format: "der", type: "spki" },
      privateKeyEncoding: { format: "der", type: "pkcs8" },
    });
    return {
      publicKey: new Uint8Array(publicKey.subarray(publicKey.length - 32)),
      secretKey: new Uint8Array(privateKey.subarray(privateKey.length - 32)),
    };
  },
  x25519PublicKey(secretKey) {
    const spki = createPublicKey(x25519Private(secretKey)).export({ format: "der", type: "spki" });
    return new Uint8Array(spki.subarray(spki.length - 32));
  },
  x25519(secretKey, publicKey) {
    const peer = createPublicKey({ key: der(X25519_SPKI, checkLength(publicKey)), format: "der", type: "spki" });
    // OpenSSL refuses (throws) when the result is all zeros (a low-order public key).
    return new Uint8Array(diffieHellman({ privateKey: x25519Private(secretKey), publicKey: peer }));
  },
  sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
  seal(key, counter, ad, plaintext) {
    const nonce = Buffer.allocUnsafe(12);
    writeNonce(nonce, counter);
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG });
    if (ad.byteLength > 0) cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
    const body = cipher.update(plaintext);
    cipher.final();
    const out = new Uint8Array(body.length + TAG);
    out.set(body, 0);
    out.set(cipher.getAuthTag(), body.length);
    return out;
  },
  open(key, counter, ad, ciphertext) {
    const length = ciphertext.byteLength - TAG;
    if (length < 0) return null;
    const nonce = Buffer.allocUnsafe(12);
    writeNonce(nonce, counter);
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG });
    decipher.setAuthTag(ciphertext.subarray(length));
    if (ad.byteLength > 0) decipher.setAAD(ad, { plaintextLength: length });
    const body = decipher.update(ciphertext.subarray(0, length));
    try {
      decipher.final();
    } catch {
      return null;
    }
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  },
  defer: (fn) => process.nextTick(fn),
};
