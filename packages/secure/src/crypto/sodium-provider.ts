import type { NoiseCipher } from "../constants.js";
import { nodeCryptoProvider } from "./node-provider.js";
import { writeNonce, type CryptoProvider } from "./provider.js";
import type { SodiumAead } from "./sodium-loader.js";

const TAG = 16;
/**
 * Records this long or longer, when they are sealed or opened into a new
 * buffer (`seal`, `open`, `sealParts`), go to OpenSSL (node:crypto) instead.
 * Measured here (Node 20, AVX-512 Xeon): sealing 100 B costs 0.7 us on
 * libsodium and 5.9 us on node:crypto (a cipher object per record), 16 KiB
 * 11 against 17.5 us, but 64 KiB 43 against 37 us: OpenSSL's AVX-512 loops
 * win once the cipher object is paid for.
 *
 * The record layer seals and opens every ChaChaPoly record in place
 * (`sealInto`, `openInto`), at any size, on libsodium: node:crypto returns each record
 * in a new buffer, and under bulk traffic those dead 64 KiB buffers piled
 * up for V8 to collect (it waits for tens of MiB of them), which made most
 * of the sender's peak RSS (issue 15). In place, a record costs a few
 * microseconds more CPU and no memory.
 */
const LARGE = 32 * 1024;

/**
 * The Node provider with ChaCha20-Poly1305 records on libsodium
 * (`sodium-native`): detached and in place, so a record is sealed
 * in the buffer it was written into and opened in the buffer it arrived in,
 * with no cipher object and no allocation; about 8 times cheaper than
 * node:crypto for a small record, which builds a cipher object per record.
 * Larger records and AES-GCM stay on node:crypto. When the binding passes its
 * known answers (`sodium-keys.ts`), Ed25519 keys and signing, X25519,
 * SHA-256 and HMAC-SHA256 are libsodium's, and so is `ed25519Accepts`, the
 * quick check whose yes the handshake and `verifySignature` take; every other
 * signature check, and the verdict on libsodium's no, is node:crypto's (`ed25519Verify`).
 * Both libraries compute the same RFC 8439 AEAD: the bytes do not change.
 */
export function sodiumCryptoProvider(aead: SodiumAead): CryptoProvider {
  // Every call below is synchronous: one nonce buffer serves them all.
  const nonce = new Uint8Array(12);

  function check(key: Uint8Array, a: Uint8Array, b: Uint8Array, tag: Uint8Array): void {
    // The binding is called without the package's assertions: sizes are checked here.
    if (key.byteLength !== 32) throw new RangeError(`expected a 32-byte key, got ${key.byteLength} bytes`);
    if (a.byteLength !== b.byteLength) throw new RangeError(`input and output differ in length (${a.byteLength} and ${b.byteLength} bytes)`);
    if (tag.byteLength !== TAG) throw new RangeError(`expected a 16-byte tag, got ${tag.byteLength} bytes`);
  }

  function sealChaCha(key: Uint8Array, counter: number, plaintext: Uint8Array, out: Uint8Array, tag: Uint8Array, ad?: Uint8Array): void {
    check(key, plaintext, out, tag);
    writeNonce(nonce, counter);
    aead.seal(out, tag, plaintext, nonce, key, ad);
  }

  function openChaCha(key: Uint8Array, counter: number, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array, ad?: Uint8Array): boolean {
    check(key, ciphertext, out, tag);
    writeNonce(nonce, counter);
    return aead.open(out, ciphertext, tag, nonce, key, ad);
  }

  function checkRecord(key: Uint8Array, plaintext: Uint8Array, record: Uint8Array): void {
    if (key.byteLength !== 32) throw new RangeError(`expected a 32-byte key, got ${key.byteLength} bytes`);
    if (record.byteLength !== plaintext.byteLength + TAG) throw new RangeError(`expected a record 16 bytes longer than its plaintext, got ${record.byteLength} and ${plaintext.byteLength} bytes`);
    // libsodium works in place only from the record's first byte: a plaintext shifted inside the record's memory
    // would be read after part of it was overwritten (sealing) or written over what is still to be read (opening).
    // The record layer's own in-place call stops at the first test: `.buffer` is a slow read, so it comes last.
    if (
      plaintext.byteOffset !== record.byteOffset &&
      plaintext.byteLength > 0 &&
      plaintext.byteOffset < record.byteOffset + record.byteLength &&
      record.byteOffset < plaintext.byteOffset + plaintext.byteLength &&
      plaintext.buffer === record.buffer
    ) {
      throw new RangeError(`the plaintext (from byte ${plaintext.byteOffset}) overlaps its record (from byte ${record.byteOffset}) at another offset: start it at the record's first byte or pass it in separate memory`);
    }
  }

  /** `plaintext` into `record`, 16 bytes longer: the ciphertext, then the tag. */
  function sealRecord(cipher: NoiseCipher, key: Uint8Array, counter: number, plaintext: Uint8Array, record: Uint8Array): void {
    checkRecord(key, plaintext, record);
    if (cipher !== "ChaChaPoly") {
      const [body, tag] = nodeCryptoProvider.sealParts!(cipher, key, counter, plaintext);
      record.set(body);
      record.set(tag, body.byteLength);
      return;
    }
    writeNonce(nonce, counter);
    aead.sealRecord(record, plaintext, nonce, key);
  }

  /** The inverse of sealRecord: `record` into `out`, 16 bytes shorter, if the tag verifies. */
  function openRecord(cipher: NoiseCipher, key: Uint8Array, counter: number, record: Uint8Array, out: Uint8Array): boolean {
    checkRecord(key, out, record);
    if (cipher !== "ChaChaPoly") {
      const plain = nodeCryptoProvider.aesGcmOpen(key, counter, new Uint8Array(0), record);
      if (plain === null) return false;
      out.set(plain);
      return true;
    }
    writeNonce(nonce, counter);
    return aead.openRecord(out, record, nonce, key);
  }

  const provider: CryptoProvider = {
    ...nodeCryptoProvider,
    // Keys, signing and hashing on libsodium too when it has them (issue 15: cold start), and the handshake's quick
    // identity check (ed25519Accepts, whose yes is taken); ed25519Verify, the verdict, stays on node:crypto.
    ...aead.keys,
    name: "sodium",
    // AES-GCM has no in-place path here (it goes through node:crypto and copies): large records are handed over as they come.
    inPlaceLimit: { AESGCM: LARGE },
    // Handshake messages (sealed over the handshake hash as associated data) too: a first
    // connection then builds no node:crypto cipher, about 1 ms of cold code (issue 15).
    seal(key, counter, ad, plaintext) {
      const out = new Uint8Array(plaintext.byteLength + TAG);
      sealChaCha(key, counter, plaintext, out.subarray(0, plaintext.byteLength), out.subarray(plaintext.byteLength), ad.byteLength > 0 ? ad : undefined);
      return out;
    },
    open(key, counter, ad, ciphertext) {
      if (ciphertext.byteLength >= LARGE) return nodeCryptoProvider.open(key, counter, ad, ciphertext);
      if (ciphertext.byteLength < TAG) return null;
      const length = ciphertext.byteLength - TAG;
      const out = new Uint8Array(length);
      return openChaCha(key, counter, ciphertext.subarray(0, length), ciphertext.subarray(length), out, ad.byteLength > 0 ? ad : undefined) ? out : null;
    },
    sealParts(cipher: NoiseCipher, key, counter, plaintext) {
      if (cipher !== "ChaChaPoly" || plaintext.byteLength >= LARGE) return nodeCryptoProvider.sealParts!(cipher, key, counter, plaintext);
      const out = new Uint8Array(plaintext.byteLength);
      const tag = new Uint8Array(TAG);
      sealChaCha(key, counter, plaintext, out, tag);
      return [out, tag];
    },
    // A record in one piece (an empty tag: see wholeRecords, set below), the record layer's way: one native call each.
    sealInto(cipher: NoiseCipher, key, counter, plaintext, out, tag) {
      // `.length` (no elements, no bytes), read inline by V8; the checks before the binding keep `byteLength`.
      if (tag.length === 0) sealRecord(cipher, key, counter, plaintext, out);
      else if (cipher === "ChaChaPoly") sealChaCha(key, counter, plaintext, out, tag);
      else copySealed(nodeCryptoProvider.sealParts!(cipher, key, counter, plaintext), out, tag);
    },
    openInto(cipher: NoiseCipher, key, counter, ciphertext, tag, out) {
      if (tag.length === 0) return openRecord(cipher, key, counter, ciphertext, out);
      if (cipher === "ChaChaPoly") return openChaCha(key, counter, ciphertext, tag, out);
      return openJoined(nodeCryptoProvider, key, counter, ciphertext, tag, out);
    },
  };
  // Not enumerable: a provider spread from this one (`{ ...sodium, sealInto, openInto }`) does not inherit
  // it, so sealInto and openInto of its own are never handed a record in one piece (an empty tag) they may
  // not take; it gets the detached calls, which every sealInto/openInto takes.
  Object.defineProperty(provider, "wholeRecords", { value: true, enumerable: false });
  return provider;
}

function copySealed([body, tag]: [Uint8Array, Uint8Array], out: Uint8Array, tagOut: Uint8Array): void {
  out.set(body);
  tagOut.set(tag);
}

/** AES-GCM through the joined interface, for providers without an in-place AES-GCM. */
function openJoined(provider: CryptoProvider, key: Uint8Array, counter: number, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean {
  const joined = new Uint8Array(ciphertext.byteLength + TAG);
  joined.set(ciphertext);
  joined.set(tag, ciphertext.byteLength);
  const plain = provider.aesGcmOpen(key, counter, new Uint8Array(0), joined);
  if (plain === null) return false;
  out.set(plain);
  return true;
}
