import type { Ed25519Signer, X25519KeyPair } from "./provider.js";

/**
 * Key operations on libsodium for the first connection of a fresh process
 * (issue 15): an Ed25519 identity from its seed and signing, X25519 keys and
 * Diffie-Hellman, SHA-256 and HMAC-SHA256. On node:crypto each goes through KeyObjects and
 * DER, about 4.5 ms of CPU the first time in a process (their JavaScript is
 * cold) against about 0.4 ms here; later calls are cheaper here too. The
 * results are the same bytes (RFC 8032, RFC 7748, FIPS 180-4), checked
 * against known answers before these are used. Verification stays on
 * node:crypto: libsodium refuses some signatures that RFC 8032 accepts
 * (small-order keys, non-canonical points), and every node must judge a
 * broadcast's signature alike, whichever provider it runs. Only its yes is
 * used ({@link SodiumKeys.ed25519Accepts}): a signature libsodium accepts
 * (a canonical S below L, a canonical key that is no small-order point,
 * and the same cofactorless equation compared on R's bytes) node:crypto
 * accepts too, so a yes needs no second opinion and a no asks node:crypto.
 */
export interface SodiumKeys {
  ed25519Signer(seed: Uint8Array): Ed25519Signer;
  x25519Generate(): X25519KeyPair;
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  /** HMAC-SHA256 (RFC 2104) over {@link sha256}: the Noise handshake's HKDF. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * True when libsodium accepts `signature` of `data` by `publicKey`
   * (stricter than RFC 8032: what it accepts is valid). False says nothing:
   * the caller then asks node:crypto. Never throws. Absent when the binding
   * lacks the call or fails the start-up check that it is the stricter one
   * (it must refuse {@link MUST_REFUSE}).
   */
  ed25519Accepts?(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
  /** `length` random bytes: the generator these keys were made with (the provider's own, in its place). */
  randomBytes(length: number): Uint8Array;
}

/**
 * The native binding's functions used here: each returns 0 on success, but
 * `crypto_sign_verify_detached`, which returns whether the signature verifies.
 * The binding does no bounds checks in release builds: the sizes are checked
 * below before each call.
 */
export interface KeysBinding {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): number;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): number;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): number;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): number;
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): number;
  /** Each argument as its buffer, offset and length; true when the signature verifies. */
  crypto_sign_verify_detached?(
    sig: ArrayBufferLike, sigOffset: number, sigLength: number,
    m: ArrayBufferLike, mOffset: number, mLength: number,
    pk: ArrayBufferLike, pkOffset: number, pkLength: number,
  ): boolean;
}

const NAMES = ["crypto_sign_seed_keypair", "crypto_sign_detached", "crypto_scalarmult_base", "crypto_scalarmult", "crypto_hash_sha256"] as const;

function check32(bytes: Uint8Array, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== 32) throw new RangeError(`expected a 32-byte ${what}, got ${bytes?.byteLength} bytes`);
  return bytes;
}

/**
 * The key operations over `binding`, or null when it lacks one of them or
 * one fails its known answer. `randomBytes` is the provider's generator.
 */
export function sodiumKeys(binding: Partial<KeysBinding>, randomBytes: (length: number) => Uint8Array): SodiumKeys | null {
  if (NAMES.some((n) => typeof binding[n] !== "function")) return null;
  const b = binding as KeysBinding;
  const publicOf = (secretKey: Uint8Array): Uint8Array => {
    const publicKey = new Uint8Array(32);
    if (b.crypto_scalarmult_base(publicKey, check32(secretKey, "X25519 secret key")) !== 0) throw new Error("libsodium could not derive an X25519 public key");
    return publicKey;
  };
  const sha256 = (data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(32);
    if (b.crypto_hash_sha256(out, data) !== 0) throw new Error("libsodium could not hash");
    return out;
  };
  const keys: SodiumKeys = {
    ed25519Signer(seed) {
      const publicKey = new Uint8Array(32);
      const secretKey = new Uint8Array(64);
      if (b.crypto_sign_seed_keypair(publicKey, secretKey, check32(seed, "Ed25519 seed")) !== 0) throw new Error("libsodium could not derive an Ed25519 key");
      return {
        publicKey,
        sign(data) {
          const signature = new Uint8Array(64);
          if (b.crypto_sign_detached(signature, data, secretKey) !== 0) throw new Error("libsodium could not sign");
          return signature;
        },
      };
    },
    x25519Generate() {
      const secretKey = randomBytes(32);
      return { publicKey: publicOf(secretKey), secretKey };
    },
    x25519PublicKey: publicOf,
    randomBytes,
    x25519(secretKey, publicKey) {
      const shared = new Uint8Array(32);
      // libsodium refuses (non-zero) when the result is all zeros (a low-order public key), as OpenSSL does.
      if (b.crypto_scalarmult(shared, check32(secretKey, "X25519 secret key"), check32(publicKey, "X25519 public key")) !== 0) {
        throw new Error("X25519 gave an all-zero shared secret (a low-order public key)");
      }
      return shared;
    },
    sha256,
    hmacSha256(key, data) {
      // RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K padded to the 64-byte block (hashed first if longer).
      const block = new Uint8Array(64);
      block.set(key.byteLength > 64 ? sha256(key) : key);
      const inner = new Uint8Array(64 + data.byteLength);
      for (let i = 0; i < 64; i++) inner[i] = block[i]! ^ 0x36;
      inner.set(data, 64);
      const outer = new Uint8Array(64 + 32);
      for (let i = 0; i < 64; i++) outer[i] = block[i]! ^ 0x5c;
      outer.set(sha256(inner), 64);
      return sha256(outer);
    },
  };
  try {
    if (!knownAnswers(keys)) return null;
  } catch {
    return null;
  }
  if (typeof b.crypto_sign_verify_detached !== "function") return keys;
  const verify = b.crypto_sign_verify_detached;
  const accepts: SodiumKeys["ed25519Accepts"] & {} = (publicKey, data, signature) => {
    // The binding does no bounds checks in release builds (it reads 64 and 32 bytes and the message's length from
    // the buffer it is given): these checks are the only barrier. A view of anything but a plain ArrayBuffer (a
    // SharedArrayBuffer, which another thread may change) is left to node:crypto, and a view's buffer, offset and
    // length are read through the typed array's own getters, which a subclass cannot override.
    if (!(publicKey instanceof Uint8Array) || !(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
    const [kb, db, sb] = [bufferOf(publicKey), bufferOf(data), bufferOf(signature)];
    if (!(kb instanceof ArrayBuffer) || !(db instanceof ArrayBuffer) || !(sb instanceof ArrayBuffer)) return false;
    if (lengthOf(publicKey) !== 32 || lengthOf(signature) !== 64) return false;
    return verify.call(b, sb, offsetOf(signature), 64, db, offsetOf(data), lengthOf(data), kb, offsetOf(publicKey), 32) === true;
  };
  // Offered only when libsodium proves stricter than node:crypto where the handshake relies on it; the rest stays libsodium's either way.
  try {
    return stricterAnswers(accepts) ? { ...keys, ed25519Accepts: accepts } : keys;
  } catch {
    return keys;
  }
}

// %TypedArray%.prototype's own getters, taken once: a Uint8Array subclass may override them to lie about its bounds.
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (name: string) => Object.getOwnPropertyDescriptor(typedArrayProto, name)!.get! as (this: Uint8Array) => unknown;
const [bufferGet, offsetGet, lengthGet] = [getter("buffer"), getter("byteOffset"), getter("byteLength")];
const bufferOf = (v: Uint8Array): unknown => bufferGet.call(v);
const offsetOf = (v: Uint8Array): number => offsetGet.call(v) as number;
const lengthOf = (v: Uint8Array): number => lengthGet.call(v) as number;

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const same = (a: Uint8Array, s: string): boolean => Buffer.from(a).toString("hex") === s;

const RFC8032_KEY = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const RFC8032_SIGNATURE = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

/**
 * Signatures libsodium must refuse for its yes to be taken without node:crypto's: the
 * RFC 8032 known answer with S replaced by S + L (node:crypto refuses it; a libsodium
 * built with ED25519_COMPAT checks only S's top bits and accepts it), and a signature
 * by the identity point, a small-order key (R = sB, S = s with s = 0x1234567; node:crypto
 * accepts it, so a libsodium that did too would no longer be the stricter one).
 * Each is (public key, message, signature) in hex.
 */
export const MUST_REFUSE: readonly (readonly [string, string, string])[] = [
  [RFC8032_KEY, "72", RFC8032_SIGNATURE.slice(0, 64) + "f52db7415978abc61b2c2eb6aeebfca0387b2eaeb4302aeeb00d291612bb0c10"],
  [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "72",
    "93c9449be4e3975f799a691f11d3bdab8ac6348ba2afbdfb9310fdb6b32ebdd7" + "6745230100000000000000000000000000000000000000000000000000000000",
  ],
];

/**
 * `accepts` takes the RFC 8032 known answer and refuses each of {@link MUST_REFUSE} (which also catches a check that
 * says yes to everything): three verifies, paid once at load by a process that loads the sodium provider.
 */
function stricterAnswers(accepts: NonNullable<SodiumKeys["ed25519Accepts"]>): boolean {
  if (!accepts(hex(RFC8032_KEY), hex("72"), hex(RFC8032_SIGNATURE))) return false;
  return MUST_REFUSE.every(([key, message, sig]) => !accepts(hex(key), hex(message), hex(sig)));
}

/** RFC 8032 section 7.1 test 2 (Ed25519), RFC 7748 section 6.1 (X25519), SHA-256 of "abc" (FIPS 180-4), RFC 4231 (HMAC-SHA256). */
function knownAnswers(k: SodiumKeys): boolean {
  const signer = k.ed25519Signer(hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  if (!same(signer.publicKey, RFC8032_KEY)) return false;
  if (!same(signer.sign(hex("72")), RFC8032_SIGNATURE)) return false;
  const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  if (!same(k.x25519PublicKey(alice), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")) return false;
  // Bob's public key is derived once and checked, then used for the shared secret (one scalar multiplication fewer at load).
  const bobPublic = k.x25519PublicKey(bob);
  if (!same(bobPublic, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")) return false;
  if (!same(k.x25519(alice, bobPublic), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")) return false;
  const text = new TextEncoder();
  if (!same(k.sha256(text.encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")) return false;
  // RFC 4231 test cases 2 (a short key) and 6 (a key longer than the block).
  if (!same(k.hmacSha256(text.encode("Jefe"), text.encode("what do ya want for nothing?")), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")) return false;
  const long = new Uint8Array(131).fill(0xaa);
  return same(k.hmacSha256(long, text.encode("Test Using Larger Than Block-Size Key - Hash Key First")), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
