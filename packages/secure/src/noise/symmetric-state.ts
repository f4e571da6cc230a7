import type { NoiseCipher } from "../constants.js";
import type { CryptoProvider, HandshakeCrypto } from "../crypto/provider.js";
import { CipherState } from "./cipher-state.js";
import { concatBytes } from "../concat-bytes.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

const HASHLEN = 32;
const EMPTY = new Uint8Array(0);

/**
 * `HKDF(chaining_key, input_key_material, 2)` as Noise defines it (spec
 * section 4.3), on HMAC-SHA-256. Returns the two 32-byte outputs.
 */
export async function noiseHkdf(crypto: HandshakeCrypto, chainingKey: Uint8Array, ikm: Uint8Array): Promise<[Uint8Array, Uint8Array]> {
  const tempKey = await crypto.hmacSha256(chainingKey, ikm);
  const out1 = await crypto.hmacSha256(tempKey, Uint8Array.of(1));
  const out2 = await crypto.hmacSha256(tempKey, concatBytes([out1, Uint8Array.of(2)]));
  return [out1, out2];
}

/**
 * The cipher function a Noise protocol name names (its fourth field, as in
 * `Noise_XX_25519_AESGCM_SHA256`).
 *
 * @throws RangeError for a name without `AESGCM` or `ChaChaPoly` there.
 */
export function cipherOfProtocolName(protocolName: string): NoiseCipher {
  const cipher = protocolName.split("_")[3];
  if (cipher === "AESGCM" || cipher === "ChaChaPoly") return cipher;
  throw new RangeError(ERROR_TEXTS ? `the Noise protocol name ${protocolName} names no supported cipher (AESGCM or ChaChaPoly)` : valuesMessage("", [protocolName]));
}

/**
 * Noise `SymmetricState` (spec section 5.2) for SHA-256 and AESGCM or
 * ChaChaPoly. Hashing and key derivation go through a {@link HandshakeCrypto},
 * which may answer later (WebCrypto): the steps that hash resolve once done.
 * Call them one after the other, each awaited.
 */
export class SymmetricState {
  /** The cipher function of the protocol name. */
  readonly cipher: NoiseCipher;
  readonly #provider: CryptoProvider;
  readonly #crypto: HandshakeCrypto;
  readonly #cipher: CipherState;
  #ck: Uint8Array;
  #h: Uint8Array;
  /** A protocol name longer than a hash is hashed first: the first step waits for it. */
  #initial: Promise<void> | undefined;

  /**
   * `InitializeSymmetric(protocol_name)`. The cipher is the one the name
   * names (`..._AESGCM_SHA256` or `..._ChaChaPoly_SHA256`); `crypto` hashes
   * (the provider's own by default), `provider` encrypts.
   */
  constructor(provider: CryptoProvider, protocolName: string, crypto: HandshakeCrypto = provider) {
    this.cipher = cipherOfProtocolName(protocolName);
    this.#provider = provider;
    this.#crypto = crypto;
    const name = new TextEncoder().encode(protocolName);
    this.#h = new Uint8Array(HASHLEN);
    if (name.byteLength <= HASHLEN) this.#h.set(name);
    else {
      this.#initial = (async () => {
        this.#h = await crypto.sha256(name);
        this.#ck = this.#h.slice();
      })();
    }
    this.#ck = this.#h.slice();
    this.#cipher = new CipherState(provider, null, this.cipher);
  }

  /** The handshake hash `h`, which binds everything said so far. */
  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /** `MixKey(input_key_material)`. */
  async mixKey(ikm: Uint8Array): Promise<void> {
    await this.#initialized();
    const [ck, tempK] = await noiseHkdf(this.#crypto, this.#ck, ikm);
    this.#ck = ck;
    this.#cipher.initializeKey(tempK);
  }

  /** `MixHash(data)`. */
  async mixHash(data: Uint8Array): Promise<void> {
    await this.#initialized();
    this.#h = await this.#crypto.sha256(concatBytes([this.#h, data]));
  }

  /** `EncryptAndHash(plaintext)`. */
  async encryptAndHash(plaintext: Uint8Array): Promise<Uint8Array> {
    await this.#initialized();
    const aead = this.#crypto.aead;
    const ciphertext = aead === undefined ? this.#cipher.encryptWithAd(this.#h, plaintext) : await this.#cipher.encryptWithAdAsync(aead, this.#h, plaintext);
    await this.mixHash(ciphertext);
    return ciphertext;
  }

  /** `DecryptAndHash(ciphertext)`; `null` when authentication fails. */
  async decryptAndHash(ciphertext: Uint8Array): Promise<Uint8Array | null> {
    await this.#initialized();
    const aead = this.#crypto.aead;
    const plaintext = aead === undefined ? this.#cipher.decryptWithAd(this.#h, ciphertext) : await this.#cipher.decryptWithAdAsync(aead, this.#h, ciphertext);
    if (plaintext === null) return null;
    await this.mixHash(ciphertext);
    return plaintext;
  }

  async #initialized(): Promise<void> {
    if (this.#initial !== undefined) await this.#initial;
  }

  /** True once a key has been mixed in (payloads are encrypted from then on). */
  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /** `Split()`: the two transport cipher states, initiator-to-responder first. */
  async split(): Promise<[CipherState, CipherState]> {
    const [k1, k2] = await noiseHkdf(this.#crypto, this.#ck, EMPTY);
    return [new CipherState(this.#provider, k1, this.cipher), new CipherState(this.#provider, k2, this.cipher)];
  }
}
