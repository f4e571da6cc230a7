import { DEFAULT_NOISE_CIPHER, type NoiseCipher } from "../constants.js";
import type { AsyncAead, CryptoProvider } from "../crypto/provider.js";
import { keyExhaustedError, noKeyError } from "../errors.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

// 2^53: JavaScript numbers count exactly up to here. Noise allows 2^64 - 1
// nonces; a connection that sends 2^53 records is closed long before.
const MAX_NONCE = Number.MAX_SAFE_INTEGER;
const EMPTY = new Uint8Array(0);

/**
 * Bytes one AES-GCM key seals (one direction of a connection) before it
 * seals no more and the connection closes with `XPPG_ERR_KEY_EXHAUSTED`:
 * 2^38 (256 GiB), far inside AES-GCM's bounds for one key (NIST SP 800-38D;
 * its advantage bound grows with the data sealed). Noise has no rekey here
 * and the wire does not change: the application opens a new connection.
 * ChaChaPoly has no such budget (only the nonce cap).
 */
export const AES_GCM_BYTE_BUDGET = 2 ** 38;

/**
 * Noise `CipherState` (spec rev. 34, section 5.1): a key and a nonce counter,
 * for one cipher function (`"AESGCM"` or `"ChaChaPoly"`, which differ in
 * the cipher and in the nonce's byte order). Without a key, encryption is
 * the identity (as during the first handshake message). `encryptParts`,
 * `encryptInto` and `decryptInto` are for keyed (transport) states only:
 * without a key they throw `XPPG_ERR_INVALID_KEY`.
 */
export class CipherState {
  /** The Noise cipher function this state encrypts with. */
  readonly cipher: NoiseCipher;
  readonly #provider: CryptoProvider;
  readonly #aesGcm: boolean;
  /** Records shorter than this are sealed and opened in place (0: never); worked out once from the provider. */
  readonly #inPlaceBelow: number;
  #k: Uint8Array | null = null;
  #n = 0;
  /** Bytes this key may still seal (see {@link AES_GCM_BYTE_BUDGET}). */
  #budget: number;

  /** `byteBudget`: bytes this key seals at most, by default {@link AES_GCM_BYTE_BUDGET} for AESGCM, no limit for ChaChaPoly. */
  constructor(provider: CryptoProvider, key: Uint8Array | null = null, cipher: NoiseCipher = DEFAULT_NOISE_CIPHER, byteBudget = cipher === "AESGCM" ? AES_GCM_BYTE_BUDGET : Infinity) {
    if (cipher !== "AESGCM" && cipher !== "ChaChaPoly") throw new RangeError(ERROR_TEXTS ? `unknown Noise cipher ${String(cipher)}; expected "AESGCM" or "ChaChaPoly"` : valuesMessage("", [String(cipher)]));
    this.#provider = provider;
    this.#k = key;
    this.cipher = cipher;
    this.#aesGcm = cipher === "AESGCM";
    this.#budget = byteBudget;
    const limit = provider.inPlaceLimit;
    this.#inPlaceBelow = !this.inPlace ? 0 : typeof limit === "object" ? (limit[cipher] ?? Infinity) : (limit ?? Infinity);
  }

  /** `InitializeKey(key)`: sets the key and resets the nonce. */
  initializeKey(key: Uint8Array | null): void {
    this.#k = key;
    this.#n = 0;
  }

  /** `HasKey()`. */
  hasKey(): boolean {
    return this.#k !== null;
  }

  /** The next nonce to be used. */
  get nonce(): number {
    return this.#n;
  }

  /** `EncryptWithAd(ad, plaintext)`. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === null) return plaintext;
    this.#spend(plaintext.byteLength);
    const out = this.#aesGcm ? this.#provider.aesGcmSeal(this.#k, this.#n, ad, plaintext) : this.#provider.seal(this.#k, this.#n, ad, plaintext);
    this.#n++;
    return out;
  }

  /**
   * `EncryptWithAd` with empty associated data, for a keyed state (the record
   * layer): the ciphertext and the tag come back apart, to be sent as one
   * message without joining them.
   */
  encryptParts(plaintext: Uint8Array): [ciphertext: Uint8Array, tag: Uint8Array] {
    const k = this.#k;
    if (k === null) throw noKeyError("CipherState.encryptParts");
    this.#spend(plaintext.byteLength);
    const provider = this.#provider;
    let out: [Uint8Array, Uint8Array];
    if (provider.sealParts !== undefined) out = provider.sealParts(this.cipher, k, this.#n, plaintext);
    else {
      const sealed = this.#aesGcm ? provider.aesGcmSeal(k, this.#n, EMPTY, plaintext) : provider.seal(k, this.#n, EMPTY, plaintext);
      out = [sealed.subarray(0, plaintext.length), sealed.subarray(plaintext.length)];
    }
    this.#n++;
    return out;
  }

  /** True when the provider can seal and open in place ({@link CipherState.encryptInto}, {@link CipherState.decryptInto}). */
  get inPlace(): boolean {
    return this.#provider.sealInto !== undefined && this.#provider.openInto !== undefined;
  }

  /** Whether a record of `length` bytes is best sealed or opened in place. */
  inPlaceFor(length: number): boolean {
    return length < this.#inPlaceBelow;
  }

  /**
   * `EncryptWithAd` with empty associated data into `out` (which may be
   * `plaintext` itself) and `tag`, for a keyed state whose provider has
   * `sealInto` (see {@link CipherState.inPlace}).
   */
  encryptInto(plaintext: Uint8Array, out: Uint8Array, tag: Uint8Array): void {
    const k = this.#k;
    if (k === null) throw noKeyError("CipherState.encryptInto");
    this.#spend(plaintext.byteLength);
    this.#provider.sealInto!(this.cipher, k, this.#n, plaintext, out, tag);
    this.#n++;
  }

  /**
   * `DecryptWithAd` with empty associated data into `out` (which may be
   * `ciphertext` itself): false when authentication fails, and then the
   * nonce does not advance and `out` holds nothing usable.
   */
  decryptInto(ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean {
    const k = this.#k;
    if (k === null) throw noKeyError("CipherState.decryptInto");
    if (this.#n >= MAX_NONCE) return false;
    const ok = this.#provider.openInto!(this.cipher, k, this.#n, ciphertext, tag, out);
    if (ok) this.#n++;
    return ok;
  }

  /**
   * `EncryptWithAd(ad, plaintext)` through an AEAD that answers later: the
   * nonce is taken now, so calls made one after the other use consecutive
   * nonces whatever order their answers come in. `plaintext` must stay
   * unchanged until the promise settles.
   */
  async encryptWithAdAsync(aead: AsyncAead, ad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    if (this.#k === null) return plaintext;
    // Before the first await: the nonce is taken by this call.
    this.#spend(plaintext.byteLength);
    return aead.seal(this.cipher, this.#k, this.#n++, ad, plaintext);
  }

  /** Takes `length` bytes from this key's budget (the caller takes the nonce); throws `XPPG_ERR_KEY_EXHAUSTED` past the budget or the nonces. */
  #spend(length: number): void {
    if (this.#n >= MAX_NONCE || (this.#budget -= length) < 0) throw keyExhaustedError();
  }

  /**
   * `DecryptWithAd(ad, ciphertext)` through an AEAD that answers later, the
   * nonce taken now (as {@link CipherState.encryptWithAdAsync}). Unlike
   * {@link CipherState.decryptWithAd}, the nonce advances even when it
   * resolves `null`: the caller (the handshake, a page's record layer) gives
   * up on this state then.
   */
  decryptWithAdAsync(aead: AsyncAead, ad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    if (this.#k === null) return Promise.resolve(ciphertext);
    if (this.#n >= MAX_NONCE) return Promise.resolve(null);
    return aead.open(this.cipher, this.#k, this.#n++, ad, ciphertext);
  }

  /**
   * `DecryptWithAd(ad, ciphertext)`: `null` when authentication fails, and
   * then (as the spec requires) the nonce does not advance.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (this.#k === null) return ciphertext;
    if (this.#n >= MAX_NONCE) return null;
    const out = this.#aesGcm ? this.#provider.aesGcmOpen(this.#k, this.#n, ad, ciphertext) : this.#provider.open(this.#k, this.#n, ad, ciphertext);
    if (out !== null) this.#n++;
    return out;
  }
}
