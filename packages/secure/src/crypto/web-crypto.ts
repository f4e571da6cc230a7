// The Noise handshake's hashing and key agreement on the platform's
// WebCrypto (`crypto.subtle`: X25519, SHA-256, HMAC), for a page whose first
// download is to hold no such code of its own (issue 13). `crypto.subtle`
// exists only in a secure context (https, localhost); a browser without
// X25519 rejects the first call.
import { invalidKeyError } from "../errors.js";
import { writeAesGcmNonce } from "./aes-gcm-nonce.js";
import type { AsyncAead, CryptoProvider, HandshakeCrypto, X25519KeyPair } from "./provider.js";
import { concatBytes } from "../concat-bytes.js";
import { pageChannelProvider } from "./page-provider.js";
import { ERROR_TEXTS } from "@xppg/errors";

/* The few WebCrypto shapes used here (this package compiles without the DOM library). */
type Key = object;
interface Subtle {
  generateKey(algorithm: { name: string }, extractable: boolean, usages: string[]): Promise<unknown>;
  importKey(format: "raw" | "pkcs8", data: Uint8Array, algorithm: { name: string; hash?: string }, extractable: boolean, usages: string[]): Promise<Key>;
  exportKey(format: "raw" | "pkcs8", key: Key): Promise<ArrayBuffer>;
  exportKey(format: "jwk", key: Key): Promise<{ x?: string; d?: string }>;
  verify(algorithm: string, key: Key, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  deriveBits(algorithm: { name: string; public: Key }, key: Key, length: number): Promise<ArrayBuffer>;
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
  sign(algorithm: string, key: Key, data: Uint8Array): Promise<ArrayBuffer>;
  encrypt(algorithm: { name: string; iv: Uint8Array; additionalData: Uint8Array }, key: Key, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: { name: string; iv: Uint8Array; additionalData: Uint8Array }, key: Key, data: Uint8Array): Promise<ArrayBuffer>;
}

// An X25519 (OID 1.3.101.110) or Ed25519 (1.3.101.112) secret key as PKCS #8 (RFC 8410): this prefix, then the 32 bytes.
const PKCS8_X25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
const PKCS8_ED25519 = PKCS8_X25519.with(11, 0x70);

/**
 * Everything a page's node signs, checks, hashes and agrees keys with,
 * answered later (WebCrypto is asynchronous): the handshake's primitives
 * and Ed25519 by seed.
 */
export interface PageCrypto extends HandshakeCrypto {
  /** Short name: `"webcrypto"` or `"noble"`. */
  readonly name: string;
  /** A signer for the Ed25519 key of the 32-byte `seed`, and its public key. */
  ed25519Signer(seed: Uint8Array): Promise<{ publicKey: Uint8Array; sign(data: Uint8Array): Promise<Uint8Array> }>;
  /** True if `signature` is a valid Ed25519 signature of `data` by `publicKey` (strict RFC 8032); never rejects. */
  ed25519Verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A JWK's base64url field as bytes. */
function base64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * AES-256-GCM on `subtle` (native, in every browser's secure context), each
 * key imported once and non-extractable; ChaChaPoly on `chacha`'s
 * synchronous ChaCha20-Poly1305 (WebCrypto has none), which the handshake
 * loads when it chooses it.
 */
export function webCryptoAead(subtle: Subtle, chacha: Pick<CryptoProvider, "seal" | "open">): AsyncAead {
  // Keyed by the key's bytes object: a CipherState keeps one for its life (and a transport key for many records).
  const keys = new WeakMap<Uint8Array, Promise<Key>>();
  const keyOf = (key: Uint8Array): Promise<Key> => {
    let k = keys.get(key);
    if (k === undefined) {
      if (key.byteLength !== 32) return Promise.reject(invalidKeyError("AES-256-GCM key", ERROR_TEXTS ? "a Uint8Array of 32 bytes" : []));
      k = subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
      keys.set(key, k);
    }
    return k;
  };
  const params = (counter: number, ad: Uint8Array): { name: string; iv: Uint8Array; additionalData: Uint8Array } => {
    const iv = new Uint8Array(12);
    writeAesGcmNonce(iv, counter);
    return { name: "AES-GCM", iv, additionalData: ad };
  };
  return {
    async seal(cipher, key, counter, ad, plaintext) {
      if (cipher !== "AESGCM") return chacha.seal(key, counter, ad, plaintext);
      return new Uint8Array(await subtle.encrypt(params(counter, ad), await keyOf(key), plaintext));
    },
    async open(cipher, key, counter, ad, ciphertext) {
      if (cipher !== "AESGCM") return chacha.open(key, counter, ad, ciphertext);
      if (ciphertext.byteLength < 16) return null;
      const k = await keyOf(key);
      try {
        return new Uint8Array(await subtle.decrypt(params(counter, ad), k, ciphertext));
      } catch {
        // WebCrypto's OperationError: the tag does not verify.
        return null;
      }
    },
  };
}

/** A page's crypto over `subtle`: Ed25519, X25519, SHA-256, HMAC and (with `chacha` for ChaChaPoly) AES-GCM. */
export function webCrypto(subtle: Subtle, chacha?: Pick<CryptoProvider, "seal" | "open">): PageCrypto {
  // Public keys imported once, by their bytes (a peer's key checks many broadcasts).
  const verifyKeys = new Map<string, Promise<Key>>();
  const verifyKey = (publicKey: Uint8Array): Promise<Key> => {
    const id = String.fromCharCode(...publicKey);
    let key = verifyKeys.get(id);
    if (key === undefined) {
      if (verifyKeys.size >= 4096) verifyKeys.delete(verifyKeys.keys().next().value!);
      key = subtle.importKey("raw", publicKey.slice(), { name: "Ed25519" }, false, ["verify"]);
      verifyKeys.set(id, key);
      key.catch(() => verifyKeys.delete(id));
    }
    return key;
  };
  return {
    name: "webcrypto",
    ...webCryptoHandshake(subtle),
    ...(chacha === undefined ? {} : { aead: webCryptoAead(subtle, chacha), offersAesGcm: true }),
    async ed25519Signer(seed) {
      // Imported once to learn the public key (a JWK carries it), then kept non-extractable for signing.
      const pkcs8 = concatBytes([PKCS8_ED25519, seed]);
      const { x } = await subtle.exportKey("jwk", await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]));
      const publicKey = base64url(x ?? "");
      if (publicKey.length !== 32) throw invalidKeyError("Ed25519 public key", ERROR_TEXTS ? "a Uint8Array of 32 bytes" : []);
      const key = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
      return { publicKey, sign: async (data) => new Uint8Array(await subtle.sign("Ed25519", key, data)) };
    },
    async ed25519Verify(publicKey, data, signature) {
      if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false;
      try {
        return await subtle.verify("Ed25519", await verifyKey(publicKey), signature, data);
      } catch {
        return false;
      }
    },
  };
}

/** The handshake's crypto over `subtle`. */
export function webCryptoHandshake(subtle: Subtle): HandshakeCrypto {
  // A secret key imported once: the static key takes part in every handshake.
  const imported = new WeakMap<Uint8Array, Promise<Key>>();
  const importSecret = (secretKey: Uint8Array): Promise<Key> => {
    let key = imported.get(secretKey);
    if (key === undefined) {
      key = subtle.importKey("pkcs8", concatBytes([PKCS8_X25519, secretKey]), { name: "X25519" }, false, ["deriveBits"]);
      imported.set(secretKey, key);
    }
    return key;
  };
  return {
    async x25519Generate(): Promise<X25519KeyPair> {
      const pair = (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as { publicKey: Key; privateKey: Key };
      // The secret as a JWK's "d" (RFC 8037): its PKCS #8 form may be v1 or v2 (RFC 5958, with the public key after it).
      const [publicKey, { d }] = await Promise.all([subtle.exportKey("raw", pair.publicKey), subtle.exportKey("jwk", pair.privateKey)]);
      const secretKey = base64url(d ?? "");
      if (secretKey.length !== 32) throw invalidKeyError("X25519 secret key", ERROR_TEXTS ? "a Uint8Array of 32 bytes" : []);
      return { publicKey: new Uint8Array(publicKey), secretKey };
    },
    async x25519(secretKey, publicKey) {
      // Rejects for a low-order public key (an all-zero result), as the handshake wants.
      const peer = await subtle.importKey("raw", publicKey, { name: "X25519" }, false, []);
      return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, await importSecret(secretKey), 256));
    },
    sha256: async (data) => new Uint8Array(await subtle.digest("SHA-256", data)),
    async hmacSha256(key, data) {
      const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return new Uint8Array(await subtle.sign("HMAC", k, data));
    },
  };
}

let chosen: Promise<PageCrypto> | undefined;

/**
 * This page's crypto: WebCrypto's when it has Ed25519 and X25519 (tried
 * once), else noble's, loaded now (a plain-http page on a LAN address has
 * no `crypto.subtle`; it is not a secure context).
 */
export function pageCrypto(): Promise<PageCrypto> {
  chosen ??= (async () => {
    const subtle = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
    if (subtle !== undefined) {
      try {
        const web = webCrypto(subtle, pageChannelProvider);
        const probe = await web.ed25519Signer(new Uint8Array(32));
        if ((await web.x25519Generate()).publicKey.byteLength === 32 && (await web.ed25519Verify(probe.publicKey, probe.publicKey, await probe.sign(probe.publicKey)))) return web;
      } catch {
        // No Ed25519 or X25519 in this browser's WebCrypto: noble's below.
      }
    }
    return (await import("./noble-page.js")).noblePageCrypto;
  })();
  return chosen;
}
