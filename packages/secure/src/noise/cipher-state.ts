import type { NoiseCipher } from "../constants.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { CipherStateBase, cipherStateInternals, MAX_NONCE } from "./cipher-state-core.js";

export { AES_GCM_BYTE_BUDGET } from "./cipher-state-core.js";

const EMPTY = new Uint8Array(0);

/**
 * Noise `CipherState` (spec rev. 34, section 5.1): a key and a nonce counter,
 * for one cipher function (`"AESGCM"` or `"ChaChaPoly"`, which differ in
 * the cipher and in the nonce's byte order). Without a key, encryption is
 * the identity (as during the first handshake message). `encryptParts`,
 * `encryptInto` and `decryptInto` are for keyed (transport) states only:
 * without a key they throw `XPPG_ERR_INVALID_KEY`. They are Node's record
 * layer's: the states a page's handshake splits into are {@link CipherStateBase}s,
 * without them (a page's build does not carry them).
 */
export class CipherState extends CipherStateBase {
  /** Records shorter than this are sealed and opened in place (0: never); worked out once from the provider. */
  readonly #inPlaceBelow: number;
  readonly #provider: CryptoProvider;

  /** `byteBudget`: bytes this key seals at most, by default {@link AES_GCM_BYTE_BUDGET} for AESGCM, no limit for ChaChaPoly. */
  constructor(provider: CryptoProvider, key: Uint8Array | null = null, cipher?: NoiseCipher, byteBudget?: number) {
    super(provider, key, cipher, byteBudget);
    this.#provider = provider;
    const limit = provider.inPlaceLimit;
    this.#inPlaceBelow = !this.inPlace ? 0 : typeof limit === "object" ? (limit[this.cipher] ?? Infinity) : (limit ?? Infinity);
  }

  /**
   * `EncryptWithAd` with empty associated data, for a keyed state (the record
   * layer): the ciphertext and the tag come back apart, to be sent as one
   * message without joining them.
   */
  encryptParts(plaintext: Uint8Array): [ciphertext: Uint8Array, tag: Uint8Array] {
    const k = cipherStateInternals.key(this, "CipherState.encryptParts");
    cipherStateInternals.spend(this, plaintext.byteLength);
    const provider = this.#provider;
    let out: [Uint8Array, Uint8Array];
    if (provider.sealParts !== undefined) out = provider.sealParts(this.cipher, k, this.nonce, plaintext);
    else {
      const sealed = this.cipher === "AESGCM" ? provider.aesGcmSeal(k, this.nonce, EMPTY, plaintext) : provider.seal(k, this.nonce, EMPTY, plaintext);
      out = [sealed.subarray(0, plaintext.length), sealed.subarray(plaintext.length)];
    }
    cipherStateInternals.advance(this);
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
    const k = cipherStateInternals.key(this, "CipherState.encryptInto");
    cipherStateInternals.spend(this, plaintext.byteLength);
    this.#provider.sealInto!(this.cipher, k, this.nonce, plaintext, out, tag);
    cipherStateInternals.advance(this);
  }

  /**
   * `DecryptWithAd` with empty associated data into `out` (which may be
   * `ciphertext` itself): false when authentication fails, and then the
   * nonce does not advance and `out` holds nothing usable.
   */
  decryptInto(ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean {
    const k = cipherStateInternals.key(this, "CipherState.decryptInto");
    if (this.nonce >= MAX_NONCE) return false;
    const ok = this.#provider.openInto!(this.cipher, k, this.nonce, ciphertext, tag, out);
    if (ok) cipherStateInternals.advance(this);
    return ok;
  }
}
