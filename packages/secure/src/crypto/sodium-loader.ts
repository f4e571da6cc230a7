import { lazyNodeCrypto } from "./node-crypto.js";
import { sodiumKeys, type KeysBinding, type SodiumKeys } from "./sodium-keys.js";

// Node's own node:fs, not an ES module import of it: such an import reads each of its exports, which loads
// fs/promises and the file streams (node:module too, needed only without the prebuilt binary: a bulk receiver's resident set, issue 15).
const { existsSync, readFileSync } = process.getBuiltinModule("node:fs");
// node:path and node:url the same way: an ES module import of a built-in makes a module of it in every process that loads this one (issue 15).
const { basename, dirname, join } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");

/**
 * The libsodium AEAD calls this package makes, in place (`out` may be
 * the very bytes of `input`): ChaCha20-Poly1305 IETF, detached (with or
 * without associated data) or a record in one piece (without).
 */
export interface SodiumAead {
  /** How it was loaded: `"prebuilt"` (the package's prebuilt binary, straight) or `"package"` (through its JavaScript entry). */
  readonly via: "prebuilt" | "package";
  /**
   * Ed25519 keys and signing, X25519, SHA-256 and HMAC-SHA256 on libsodium, and the quick identity check
   * (`ed25519Accepts`, when libsodium proves the stricter verifier), when the prebuilt binary is called straight
   * and passes their known answers (`sodium-keys.ts`).
   */
  readonly keys?: SodiumKeys | null;
  /** Where the keys' random bytes come from, when the prebuilt binary is called straight: libsodium's `randombytes_buf`, or node:crypto's where that fails its check. */
  readonly randomSource?: "sodium" | "node";
  /** Encrypts `plaintext` into `out` (same length) and writes the 16-byte tag into `tag`; `ad`, the associated data, defaults to none. */
  seal(out: Uint8Array, tag: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array, ad?: Uint8Array): void;
  /** Decrypts `ciphertext` into `out` if `tag` verifies (over `ad` too, when given); false otherwise (libsodium then zeroes `out`). */
  open(out: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, nonce: Uint8Array, key: Uint8Array, ad?: Uint8Array): boolean;
  /**
   * A record in one piece, no associated data: encrypts `plaintext` into `record` (16 bytes longer: the
   * ciphertext, then the tag). `plaintext` may be the record's own first bytes. One native call with one
   * array fewer than `seal`, and no view of the tag to make.
   */
  sealRecord(record: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  /** The inverse of `sealRecord`: decrypts `record` into `out` (16 bytes shorter; may be the record's first bytes) if its tag verifies, checked before anything is written; false otherwise. */
  openRecord(out: Uint8Array, record: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
}

// The exact version whose prebuilt binary is called straight (package.json pins it).
const PINNED_VERSION = "5.1.0";

/**
 * The native binding's own functions: (out, tag, in, ad, nonce, key), which
 * returns the tag's length or a negative status, and (out, in, tag, ad,
 * nonce, key), which returns 0 when the tag verifies; and the same in one
 * piece (ciphertext then tag).
 */
interface Binding extends Partial<KeysBinding> {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | undefined, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(m: Uint8Array, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | undefined, npub: Uint8Array, k: Uint8Array): number;
  /** Fills `length` bytes of `buf` from `offset` with random bytes (libsodium's system generator); no bounds checks. */
  randombytes_buf?(buf: ArrayBuffer, offset: number, length: number): void;
  /** (c, m, ad, nonce, key): the ciphertext then the tag into `c`; returns c's length or a negative status. */
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | undefined, npub: Uint8Array, k: Uint8Array): number;
  /** (m, c, ad, nonce, key): returns m's length when the tag verifies, else a negative status. */
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, c: Uint8Array, ad: Uint8Array | undefined, npub: Uint8Array, k: Uint8Array): number;
}

/** The package's documented API (with `nsec` and assertions). */
interface SodiumNative {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(m: Uint8Array, nsec: null, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): void;
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

/**
 * Loads `sodium-native` (an optional dependency), or returns null when it
 * is not installed, cannot load on this platform, or fails the known-answer
 * check below. Loading the package's JavaScript entry costs 15 to 40 ms
 * (its addon resolver and assertion wrappers); the pinned version's prebuilt
 * binary for this platform opens in under 1 ms and is used straight when it
 * is there. Either way the result must reproduce RFC 8439's AEAD test
 * vector before it is trusted. `XPPG_CRYPTO_PROVIDER=node` in the
 * environment skips it.
 */
export function loadSodiumAead(): SodiumAead | null {
  if (process.env["XPPG_CRYPTO_PROVIDER"] === "node") return null;
  let require: NodeJS.Require | undefined;
  const requireHere = (): NodeJS.Require => (require ??= process.getBuiltinModule("node:module").createRequire(import.meta.url));
  let root: string;
  try {
    root = nearestPackage("sodium-native") ?? dirname(requireHere().resolve("sodium-native/package.json"));
  } catch {
    return null; // not installed
  }
  for (const load of [() => fromPrebuilt(root), () => fromPackage(requireHere())]) {
    let aead: SodiumAead | null;
    try {
      aead = load();
    } catch {
      aead = null;
    }
    if (aead !== null && passesKnownAnswer(aead)) return aead;
  }
  return null;
}

/** True if `aead` reproduces the known answer; false if it differs or throws. */
function passesKnownAnswer(aead: SodiumAead): boolean {
  try {
    return knownAnswer(aead);
  } catch {
    return false;
  }
}

/**
 * The folder of `name` as Node's `node_modules` lookup finds it from this
 * module (the nearest `node_modules/<name>` above it), or undefined when
 * none is there (the caller then asks `require.resolve`, which also knows
 * NODE_PATH and the global folders). One `existsSync` per folder:
 * the CommonJS resolver, used nowhere else by a node, costs about 3 ms of
 * CPU the first time in a process (issue 15, the first connection).
 */
function nearestPackage(name: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (basename(dir) !== "node_modules") {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function fromPrebuilt(root: string): SodiumAead | null {
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version;
  if (version !== PINNED_VERSION || process.platform !== "linux" && process.platform !== "darwin" && process.platform !== "win32") return null;
  const file = join(root, "prebuilds", `${process.platform}-${process.arch}`, "sodium-native.node");
  if (!existsSync(file)) return null;
  const module = { exports: {} as Binding };
  process.dlopen(module, file);
  const b = module.exports;
  for (const name of ["crypto_aead_chacha20poly1305_ietf_encrypt_detached", "crypto_aead_chacha20poly1305_ietf_decrypt_detached", "crypto_aead_chacha20poly1305_ietf_encrypt", "crypto_aead_chacha20poly1305_ietf_decrypt"] as const) {
    if (typeof b[name] !== "function") return null;
  }
  const random = randomOf(b);
  return {
    via: "prebuilt",
    keys: sodiumKeys(b, random.bytes),
    randomSource: random.source,
    seal(out, tag, plaintext, nonce, key, ad) {
      if (b.crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, plaintext, ad, nonce, key) < 0) throw new Error("libsodium could not encrypt");
    },
    open: (out, ciphertext, tag, nonce, key, ad) => b.crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, ciphertext, tag, ad, nonce, key) === 0,
    sealRecord(record, plaintext, nonce, key) {
      if (b.crypto_aead_chacha20poly1305_ietf_encrypt(record, plaintext, undefined, nonce, key) < 0) throw new Error("libsodium could not encrypt");
    },
    // libsodium checks the tag first, and zeroes `out` instead of decrypting into it when the tag is wrong.
    openRecord: (out, record, nonce, key) => b.crypto_aead_chacha20poly1305_ietf_decrypt(out, record, undefined, nonce, key) === out.length,
  };
}

const nodeRandomBytes = lazyNodeCrypto("randomBytes");

/**
 * The keys' random bytes: libsodium's `randombytes_buf` (the system's
 * generator, as node:crypto's is seeded from), so a first connection needs
 * no node:crypto (about 3 to 4 ms of CPU to load in a fresh process, issue
 * 15); node:crypto's where the binding lacks it or fails the check below.
 * The binding writes into an `ArrayBuffer` at an offset and length it does
 * not check: it is only ever given a fresh buffer of exactly that length.
 */
function randomOf(b: Binding): { bytes: (length: number) => Uint8Array; source: "sodium" | "node" } {
  const nodeRandom = { bytes: (length: number): Uint8Array => new Uint8Array(nodeRandomBytes(length)), source: "node" as const };
  const fill = b.randombytes_buf;
  if (typeof fill !== "function") return nodeRandom;
  const sodiumRandom = (length: number): Uint8Array => {
    // The binding reads a length that is not a plain number as 0 and writes nothing: such a call must throw, as node:crypto's does.
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
      throw new RangeError(`randomBytes: the length must be a whole number from 0 to ${MAX_RANDOM_BYTES}, got ${String(length)}; pass a byte count`);
    }
    const out = new ArrayBuffer(length);
    if (length > 0) fill.call(b, out, 0, length);
    return new Uint8Array(out);
  };
  // A binding whose call does not fill what it is given (another signature) would hand out constant keys.
  return fillsRandomly(sodiumRandom) ? { bytes: sodiumRandom, source: "sodium" } : nodeRandom;
}

/** node:crypto's `randomBytes` limit, kept for the same calls. */
const MAX_RANDOM_BYTES = 2 ** 31 - 1;

/**
 * True if two 64-byte draws of `random` have the length asked, no 16-byte
 * quarter all zeros and differ in every quarter (a generator that writes
 * nothing, or only the start of what it is given, fails it).
 */
export function fillsRandomly(random: (length: number) => Uint8Array): boolean {
  try {
    const [a, b] = [random(64), random(64)];
    if (a.byteLength !== 64 || b.byteLength !== 64) return false;
    for (let q = 0; q < 64; q += 16) {
      const qa = a.subarray(q, q + 16);
      const qb = b.subarray(q, q + 16);
      if (!qa.some((x) => x !== 0) || !qb.some((x) => x !== 0) || !qa.some((x, i) => x !== qb[i])) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function fromPackage(require: NodeJS.Require): SodiumAead {
  const s = require("sodium-native") as SodiumNative;
  return {
    via: "package",
    seal(out, tag, plaintext, nonce, key, ad) {
      s.crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, plaintext, ad ?? null, null, nonce, key);
    },
    open(out, ciphertext, tag, nonce, key, ad) {
      try {
        s.crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, null, ciphertext, tag, ad ?? null, nonce, key);
        return true;
      } catch {
        return false;
      }
    },
    sealRecord(record, plaintext, nonce, key) {
      s.crypto_aead_chacha20poly1305_ietf_encrypt(record, plaintext, null, null, nonce, key);
    },
    openRecord(out, record, nonce, key) {
      try {
        return s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, record, null, nonce, key) === out.byteLength;
      } catch {
        return false;
      }
    },
  };
}

// RFC 8439 section 2.8.2's key, nonce and the first 42 bytes of its
// plaintext, with empty associated data (the record layer's case): the
// ciphertext is the RFC's first 42 bytes; node:crypto and @noble/ciphers
// both give this tag.
const KAT_KEY = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
const KAT_NONCE = "070000004041424344454647";
const KAT_PLAIN = "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a";
const KAT_CIPHER = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282";
const KAT_TAG = "000b606bbb48584c95c48526f94b4d23";
// The same section's whole vector, with its associated data (the Noise
// handshake's case: each handshake message is sealed over the handshake hash).
const KAT_AD = "50515253c0c1c2c3c4c5c6c7";
const KAT_PLAIN_WHOLE = KAT_PLAIN + "204966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73637265656e20776f756c642062652069742e";
const KAT_CIPHER_WHOLE = KAT_CIPHER + "fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
const KAT_TAG_WHOLE = "1ae10b594f09e26a7e902ecbd0600691";

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

/** Seals and opens RFC 8439's vector in place, without and with associated data, and refuses each with one bit flipped. */
function knownAnswer(aead: SodiumAead): boolean {
  const [key, nonce] = [hex(KAT_KEY), hex(KAT_NONCE)];
  const buf = hex(KAT_PLAIN);
  const tag = new Uint8Array(16);
  aead.seal(buf, tag, buf, nonce, key);
  if (Buffer.from(buf).toString("hex") !== KAT_CIPHER || Buffer.from(tag).toString("hex") !== KAT_TAG) return false;
  if (!aead.open(buf, buf, tag, nonce, key) || Buffer.from(buf).toString("hex") !== KAT_PLAIN) return false;
  tag[0]! ^= 1;
  if (aead.open(buf, buf, tag, nonce, key)) return false;
  const ad = hex(KAT_AD);
  const whole = hex(KAT_PLAIN_WHOLE);
  aead.seal(whole, tag, whole, nonce, key, ad);
  if (Buffer.from(whole).toString("hex") !== KAT_CIPHER_WHOLE || Buffer.from(tag).toString("hex") !== KAT_TAG_WHOLE) return false;
  if (!aead.open(whole, whole, tag, nonce, key, ad) || Buffer.from(whole).toString("hex") !== KAT_PLAIN_WHOLE) return false;
  aead.seal(whole, tag, whole, nonce, key, ad);
  ad[0]! ^= 1;
  if (aead.open(whole, whole, tag, nonce, key, ad)) return false;
  // A record in one piece, in place: the same ciphertext and tag; refused with one bit of the tag flipped.
  const record = hex(KAT_PLAIN + "00".repeat(16));
  const body = record.subarray(0, record.byteLength - 16);
  aead.sealRecord(record, body, nonce, key);
  if (Buffer.from(record).toString("hex") !== KAT_CIPHER + KAT_TAG) return false;
  if (!aead.openRecord(body, record, nonce, key) || Buffer.from(body).toString("hex") !== KAT_PLAIN) return false;
  aead.sealRecord(record, body, nonce, key);
  record[record.byteLength - 1]! ^= 1;
  return !aead.openRecord(body, record, nonce, key);
}
