import { DEFAULT_NOISE_CIPHER, type NoiseCipher } from "../constants.js";
import type { AsyncAead, CryptoProvider } from "../crypto/provider.js";
import { keyExhaustedError, noKeyError } from "../errors.js";

// 2^53: JavaScript numbers count exactly up to here. Noise allows 2^64 - 1
// nonces; a connection that sends 2^53 records is closed long before.
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;

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
 * The part of a Noise `CipherState` a page's build takes (see
 * `CipherState` in `cipher-state.ts` for the whole): the key, the nonce, the
 * byte budget, and encryption with associated data at once or through an
 * AEAD that answers later. Node's transport-only methods (`encryptParts`,
 * `encryptInto`, `decryptInto`) are the subclass's; a page's handshake
 * (`SymmetricState`, through `#cipher-state`) makes states of this class.
 */
/**
 * What the subclass in `cipher-state.ts` reaches of a state's private key,
 * nonce and byte budget (set once, by the class's static block). It is this
 * module's and that one's: neither package entry exports it, so code holding
 * a state cannot read its key or raise its budget.
 */
export interface CipherStateInternals {
  /** The key of a keyed state, for a transport-only method (`what` names it in the error); throws `XPPG_ERR_INVALID_KEY` without one. */
  key(state: CipherStateBase, what: string): Uint8Array;
  /** Takes `length` bytes from the key's budget (the caller takes the nonce); throws `XPPG_ERR_KEY_EXHAUSTED` past the budget or the nonces. */
  spend(state: CipherStateBase, length: number): void;
  /** Moves to the next nonce, once the one in {@link CipherStateBase.nonce} has sealed or opened a record. */
  advance(state: CipherStateBase): void;
}

// Assigned once, by CipherStateBase's static block below.
export let cipherStateInternals: CipherStateInternals;

export class CipherStateBase {
  static {
    cipherStateInternals = {
      key: (state, what) => {
        const k = state.#k;
        if (k === null) throw noKeyError(what);
        return k;
      },
      spend: (state, length) => state.#spend(length),
      advance: (state) => {
        state.#n++;
      },
    };
  }

  /** The Noise cipher function this state encrypts with. */
  readonly cipher: NoiseCipher;
  readonly #provider: CryptoProvider;
  #k: Uint8Array | null = null;
  #n = 0;
  /** Bytes this key may still seal (see {@link AES_GCM_BYTE_BUDGET}). */
  #budget: number;

  /** `byteBudget`: bytes this key seals at most, by default {@link AES_GCM_BYTE_BUDGET} for AESGCM, no limit for ChaChaPoly. */
  constructor(provider: CryptoProvider, key: Uint8Array | null = null, cipher: NoiseCipher = DEFAULT_NOISE_CIPHER, byteBudget = cipher === "AESGCM" ? AES_GCM_BYTE_BUDGET : Infinity) {
    if (cipher !== "AESGCM" && cipher !== "ChaChaPoly") throw new RangeError(`unknown Noise cipher ${String(cipher)}; expected "AESGCM" or "ChaChaPoly"`);
    this.#provider = provider;
    this.#k = key;
    this.cipher = cipher;
    this.#budget = byteBudget;
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
    const k = this.#k;
    if (k === null) return plaintext;
    this.#spend(plaintext.byteLength);
    const p = this.#provider;
    const out = this.cipher === "AESGCM" ? p.aesGcmSeal(k, this.#n, ad, plaintext) : p.seal(k, this.#n, ad, plaintext);
    this.#n++;
    return out;
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
   * nonce taken now (as {@link CipherStateBase.encryptWithAdAsync}). Unlike
   * {@link CipherStateBase.decryptWithAd}, the nonce advances even when it
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
    const p = this.#provider;
    const out = this.cipher === "AESGCM" ? p.aesGcmOpen(this.#k, this.#n, ad, ciphertext) : p.open(this.#k, this.#n, ad, ciphertext);
    if (out !== null) this.#n++;
    return out;
  }
}

/** What `#cipher-state` gives a page's build: the states its handshake makes, without Node's transport-only methods. */
export { CipherStateBase as CipherState };
