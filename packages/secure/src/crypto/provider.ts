import type { NoiseCipher } from "../constants.js";

/** An X25519 key pair, raw 32-byte keys. */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Signs with one Ed25519 key; implementations may keep a prepared key object inside. */
export interface Ed25519Signer {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** A 64-byte RFC 8032 signature over `data`. */
  sign(data: Uint8Array): Uint8Array;
}

/**
 * The audited primitives this package builds on, behind one small interface
 * so Node uses `node:crypto` and browsers use `@noble/*`. Every method is a
 * thin call into those libraries; nothing here is home-made cryptography.
 */
export interface CryptoProvider {
  /** Short name for logs and benchmarks (`"sodium"`, `"node"`, `"noble"`). */
  readonly name: string;
  /** `length` bytes from the platform's cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;
  /** A signer for the Ed25519 key whose 32-byte secret seed is `seed`. */
  ed25519Signer(seed: Uint8Array): Ed25519Signer;
  /** True if `signature` is a valid Ed25519 signature of `data` by `publicKey`; never throws. */
  ed25519Verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
  /**
   * @internal Not part of the published types (stripped from the
   * declarations): its false is no verdict, and only the handshake and the
   * Node entry's `verifySignature`, which fall back on
   * {@link CryptoProvider.ed25519Verify}, may ask it.
   * Optional: a quicker check that answers true only for signatures
   * `ed25519Verify` accepts too (it may refuse some that one accepts); false
   * says nothing. The handshake asks it first, so a fresh process checks its
   * first peer's identity without warming `ed25519Verify`'s library up
   * (libsodium's, in the `sodium` provider, offered only when its start-up
   * self-test finds it the stricter one).
   */
  ed25519Accepts?(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
  /** A fresh X25519 key pair. */
  x25519Generate(): X25519KeyPair;
  /** The X25519 public key of a 32-byte secret key. */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /** X25519 Diffie-Hellman. Throws for a public key that gives an all-zero result. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** SHA-256 of `data`. */
  sha256(data: Uint8Array): Uint8Array;
  /** HMAC-SHA-256 of `data` under `key`. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * ChaCha20-Poly1305 (RFC 8439) encryption with the Noise ChaChaPoly nonce:
   * 4 zero bytes then `counter` as 64-bit little-endian. Returns ciphertext then the 16-byte tag.
   */
  seal(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The inverse of {@link CryptoProvider.seal}; `null` when the tag does not verify. */
  open(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  /**
   * AES-256-GCM (NIST SP 800-38D, 32-byte key) encryption with the Noise
   * AESGCM nonce: 4 zero bytes then `counter` as 64-bit big-endian.
   * Returns ciphertext then the 16-byte tag.
   */
  aesGcmSeal(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The inverse of {@link CryptoProvider.aesGcmSeal}; `null` when the tag does not verify. */
  aesGcmOpen(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  /**
   * Encrypts `plaintext` with empty associated data, as {@link CryptoProvider.aesGcmSeal}
   * (`"AESGCM"`) or {@link CryptoProvider.seal} (`"ChaChaPoly"`) would, but
   * returns the ciphertext and the tag apart: a record layer sends both
   * without joining them. The caller owns both buffers. Optional: without
   * it, records are sealed in one piece and split.
   */
  sealParts?(cipher: NoiseCipher, key: Uint8Array, counter: number, plaintext: Uint8Array): [ciphertext: Uint8Array, tag: Uint8Array];
  /**
   * Encrypts `plaintext` with empty associated data into `out` (its length;
   * it may be the very bytes of `plaintext`: in place) and writes the
   * 16-byte tag into `tag`. Optional: a record layer that finds it seals
   * without allocating.
   */
  sealInto?(cipher: NoiseCipher, key: Uint8Array, counter: number, plaintext: Uint8Array, out: Uint8Array, tag: Uint8Array): void;
  /**
   * Records of this many bytes or more are cheaper through
   * {@link CryptoProvider.sealParts} and {@link CryptoProvider.open} than in
   * place: one limit for both ciphers, or one per cipher (a cipher left out
   * has none). Without it, every record goes in place when the provider can.
   */
  readonly inPlaceLimit?: number | Readonly<Partial<Record<NoiseCipher, number>>>;
  /**
   * The inverse of {@link CryptoProvider.sealInto}: decrypts `ciphertext`
   * into `out` (may be the same bytes) if `tag` verifies, and returns
   * whether it did; on `false` nothing in `out` may be used.
   */
  openInto?(cipher: NoiseCipher, key: Uint8Array, counter: number, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean;
  /**
   * @internal Not part of the published types (stripped from the
   * declarations). True when {@link CryptoProvider.sealInto} and
   * {@link CryptoProvider.openInto} also take a record in one piece: an
   * empty `tag`, and `out` (sealInto) or `ciphertext` (openInto) 16 bytes
   * longer than the other, the tag its last 16 bytes. The record layer then
   * hands over no view of the tag, and libsodium one array fewer. The
   * sodium provider sets it as a non-enumerable property: a provider spread
   * from it does not inherit it (its own sealInto/openInto may not take an
   * empty tag).
   */
  readonly wholeRecords?: boolean;
  /**
   * Loads the code `cipher` needs, when the provider keeps it out of the
   * first download (the browser's AES-GCM): a handshake with that cipher
   * waits for it. Returns `undefined` when nothing needs loading.
   */
  prepare?(cipher: NoiseCipher): Promise<void> | undefined;
  /**
   * True when this provider's AESGCM is the faster cipher and a handshake it
   * starts with no `cipher` set offers it (a page's: WebCrypto's AES-GCM is
   * native, ChaCha20-Poly1305 would be JavaScript). @default false
   */
  readonly offersAesGcm?: boolean;
  /** See {@link HandshakeCrypto.takesAesGcm}. @default true */
  readonly takesAesGcm?: boolean;
  /**
   * Runs `fn` once the current synchronous work and its promise callbacks are
   * done (`process.nextTick` in Node): the sends of one tick after the
   * first (which is sealed at once) are coalesced into one record.
   */
  defer(fn: () => void): void;
}

/**
 * The primitives the Noise handshake hashes and agrees keys with. Any
 * {@link CryptoProvider} is one (its results come at once); a page passes
 * WebCrypto's, whose results come later (`crypto.subtle` is asynchronous),
 * so that its first download holds no X25519 or SHA-256 code of its own.
 */
export interface HandshakeCrypto {
  /** A fresh X25519 key pair. */
  x25519Generate(): X25519KeyPair | Promise<X25519KeyPair>;
  /** X25519 Diffie-Hellman; throws (or rejects) for a public key that gives an all-zero result. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** SHA-256 of `data`. */
  sha256(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** HMAC-SHA-256 of `data` under `key`. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * An AEAD that answers later (a page's WebCrypto AES-GCM): when present,
   * the handshake's payloads and the records are sealed and opened with it
   * rather than with the provider. @default none
   */
  readonly aead?: AsyncAead;
  /** As {@link CryptoProvider.offersAesGcm}, for the side whose handshake crypto this is. @default false */
  readonly offersAesGcm?: boolean;
  /**
   * False when this side's AES-GCM is slower than its ChaCha20-Poly1305 (a
   * page without WebCrypto, on noble's JavaScript): a responder with no
   * `cipher` set then answers an offer of AESGCM with ChaChaPoly.
   * @default true (Node's providers, WebCrypto)
   */
  readonly takesAesGcm?: boolean;
}

/**
 * Seals and opens asynchronously, with the Noise nonce of `cipher` for
 * `counter`. The bytes given are read before the promise settles but may be
 * read after the call returns: keep them unchanged until then.
 */
export interface AsyncAead {
  /** Ciphertext then the 16-byte tag. */
  seal(cipher: NoiseCipher, key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** The plaintext, or `null` when the tag does not verify. */
  open(cipher: NoiseCipher, key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null>;
}

/** Writes the 12-byte ChaChaPoly nonce of Noise (spec section 12.3): 4 zero bytes, then `counter` as 64-bit little-endian. */
export function writeNonce(out: Uint8Array, counter: number): void {
  const low = counter >>> 0;
  const high = Math.floor(counter / 0x1_0000_0000) >>> 0;
  out[0] = out[1] = out[2] = out[3] = 0;
  out[4] = low & 0xff;
  out[5] = (low >>> 8) & 0xff;
  out[6] = (low >>> 16) & 0xff;
  out[7] = low >>> 24;
  out[8] = high & 0xff;
  out[9] = (high >>> 8) & 0xff;
  out[10] = (high >>> 16) & 0xff;
  out[11] = high >>> 24;
}
