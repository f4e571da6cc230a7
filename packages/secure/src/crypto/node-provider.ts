import type { KeyObject } from "node:crypto";
import { lazyNodeCrypto } from "./node-crypto.js";
import { writeAesGcmNonce } from "./aes-gcm-nonce.js";
import { writeNonce, type CryptoProvider, type Ed25519Signer, type X25519KeyPair } from "./provider.js";

// node:crypto's functions, loaded at the first call of any (node-crypto.ts: a first connection on libsodium needs none).
const createCipheriv = lazyNodeCrypto("createCipheriv");
const createDecipheriv = lazyNodeCrypto("createDecipheriv");
const createHash = lazyNodeCrypto("createHash");
const createHmac = lazyNodeCrypto("createHmac");
const createPrivateKey = lazyNodeCrypto("createPrivateKey");
const createPublicKey = lazyNodeCrypto("createPublicKey");
const createSecretKey = lazyNodeCrypto("createSecretKey");
const diffieHellman = lazyNodeCrypto("diffieHellman");
const generateKeyPairSync = lazyNodeCrypto("generateKeyPairSync");
const randomBytes = lazyNodeCrypto("randomBytes");
const sign = lazyNodeCrypto("sign");
const verify = lazyNodeCrypto("verify");

// DER wrappers that let node:crypto import raw 32-byte keys (RFC 8410 structures).
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const TAG = 16;
const EMPTY = new Uint8Array(0);
const VERIFY_CACHE_LIMIT = 256;

function der(prefix: Buffer, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + 32);
  prefix.copy(out, 0);
  out.set(key, prefix.length);
  return out;
}

/**
 * KeyObjects looked up by the byte array of their raw key, as long as those
 * bytes stay what they were: a caller that overwrites a key array in place
 * gets a fresh import, never the old key.
 */
class KeyObjectCache {
  readonly #entries = new WeakMap<Uint8Array, { bytes: Uint8Array; object: KeyObject }>();

  get(key: Uint8Array, make: (key: Uint8Array) => KeyObject): KeyObject {
    const entry = this.#entries.get(key);
    if (entry !== undefined && sameKeyBytes(entry.bytes, key)) return entry.object;
    const object = make(checkLength(key));
    this.set(key, object);
    return object;
  }

  set(key: Uint8Array, object: KeyObject): void {
    this.#entries.set(key, { bytes: key.slice(), object });
  }
}

function sameKeyBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// OpenSSL 3 decodes DER keys slowly (~130 us); raw keys imported as JWK take
// ~20 us. Private keys this provider generated are kept as KeyObjects, so a
// handshake imports only peer keys.
const privateKeys = new KeyObjectCache();

function x25519Private(secretKey: Uint8Array): KeyObject {
  return privateKeys.get(secretKey, (raw) => createPrivateKey({ key: der(X25519_PKCS8, raw), format: "der", type: "pkcs8" }));
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

function okpPublicKey(crv: "X25519" | "Ed25519", key: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv, x: base64url(checkLength(key)) }, format: "jwk" });
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
    key = okpPublicKey("Ed25519", publicKey);
    if (verifyKeys.size >= VERIFY_CACHE_LIMIT) verifyKeys.delete(verifyKeys.keys().next().value!);
    verifyKeys.set(id, key);
  }
  return key;
}

type AeadAlgorithm = "chacha20-poly1305" | "aes-256-gcm";

// A cipher made from a KeyObject skips importing the raw key each time
// (about 2.5 us of the ~8 us a cipher costs): a session's two keys are
// imported once.
const secretKeys = new KeyObjectCache();

function secretKey(key: Uint8Array): KeyObject {
  return secretKeys.get(key, (raw) => createSecretKey(raw));
}

/** Encrypts with a 16-byte tag; returns the ciphertext and the tag as two buffers. */
function aeadSealParts(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Buffer, ad: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
  // One call per literal: @types/node types each AEAD mode by its own overload.
  const cipher =
    algorithm === "aes-256-gcm"
      ? createCipheriv(algorithm, secretKey(key), nonce, { authTagLength: TAG })
      : createCipheriv(algorithm, secretKey(key), nonce, { authTagLength: TAG });
  if (ad.byteLength > 0) cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
  const body = cipher.update(plaintext);
  cipher.final();
  return [body, cipher.getAuthTag()];
}

/** Encrypts with a 16-byte tag; returns ciphertext then tag, as a plain (copyable) Uint8Array. */
function aeadSeal(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Buffer, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const [body, tag] = aeadSealParts(algorithm, key, nonce, ad, plaintext);
  // Unzeroed (every byte is written just below), and handed out as a plain
  // Uint8Array: Buffer's slice() makes a view, where callers expect a copy.
  const buf = Buffer.allocUnsafeSlow(body.length + TAG);
  buf.set(body, 0);
  buf.set(tag, body.length);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The inverse of {@link aeadSeal}; `null` when the tag does not verify. `ciphertext` holds at least the tag. */
function aeadOpen(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Buffer, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  const length = ciphertext.byteLength - TAG;
  const decipher =
    algorithm === "aes-256-gcm"
      ? createDecipheriv(algorithm, secretKey(key), nonce, { authTagLength: TAG })
      : createDecipheriv(algorithm, secretKey(key), nonce, { authTagLength: TAG });
  decipher.setAuthTag(ciphertext.subarray(length));
  if (ad.byteLength > 0) decipher.setAAD(ad, { plaintextLength: length });
  const body = decipher.update(ciphertext.subarray(0, length));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * The Node provider: everything on `node:crypto` (OpenSSL): Ed25519 and
 * X25519 through KeyObjects, `aes-256-gcm` and `chacha20-poly1305` with a
 * 16-byte tag, SHA-256 and HMAC. Measured several times faster than
 * `@noble/*` in Node for every operation used here (see `bench/secure-bench.mjs`).
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
    // KeyObject.export({ format: "jwk" }) hangs the process after a few
    // thousand calls in Node 20 (reproduced here), so keys leave OpenSSL as DER.
    const { privateKey, publicKey } = generateKeyPairSync("x25519");
    const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
    const spki = publicKey.export({ format: "der", type: "spki" });
    const secretKey = new Uint8Array(pkcs8.subarray(pkcs8.length - 32));
    privateKeys.set(secretKey, privateKey);
    return { publicKey: new Uint8Array(spki.subarray(spki.length - 32)), secretKey };
  },
  x25519PublicKey(secretKey) {
    const spki = createPublicKey(x25519Private(secretKey)).export({ format: "der", type: "spki" });
    return new Uint8Array(spki.subarray(spki.length - 32));
  },
  x25519(secretKey, publicKey) {
    const peer = okpPublicKey("X25519", publicKey);
    // OpenSSL refuses (throws) when the result is all zeros (a low-order public key).
    return new Uint8Array(diffieHellman({ privateKey: x25519Private(secretKey), publicKey: peer }));
  },
  sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
  seal(key, counter, ad, plaintext) {
    const nonce = Buffer.allocUnsafe(12);
    writeNonce(nonce, counter);
    return aeadSeal("chacha20-poly1305", key, nonce, ad, plaintext);
  },
  open(key, counter, ad, ciphertext) {
    if (ciphertext.byteLength < TAG) return null;
    const nonce = Buffer.allocUnsafe(12);
    writeNonce(nonce, counter);
    return aeadOpen("chacha20-poly1305", key, nonce, ad, ciphertext);
  },
  aesGcmSeal(key, counter, ad, plaintext) {
    const nonce = Buffer.allocUnsafe(12);
    writeAesGcmNonce(nonce, counter);
    return aeadSeal("aes-256-gcm", checkLength(key), nonce, ad, plaintext);
  },
  sealParts(cipher, key, counter, plaintext) {
    const nonce = Buffer.allocUnsafe(12);
    if (cipher === "AESGCM") {
      writeAesGcmNonce(nonce, counter);
      return aeadSealParts("aes-256-gcm", key, nonce, EMPTY, plaintext);
    }
    writeNonce(nonce, counter);
    return aeadSealParts("chacha20-poly1305", key, nonce, EMPTY, plaintext);
  },
  aesGcmOpen(key, counter, ad, ciphertext) {
    if (ciphertext.byteLength < TAG) return null;
    const nonce = Buffer.allocUnsafe(12);
    writeAesGcmNonce(nonce, counter);
    return aeadOpen("aes-256-gcm", checkLength(key), nonce, ad, ciphertext);
  },
  defer: (fn) => process.nextTick(fn),
};
