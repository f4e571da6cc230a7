import type { CryptoProvider, Ed25519Signer } from "./crypto/provider.js";
import { SECURE_ERROR_CODES, SecureError, invalidKeyError } from "./errors.js";
import { peerIdFromPublicKey } from "./peer-id.js";
import { ERROR_TEXTS, badArgumentError } from "@xppg/errors";

const IDENTITY_TAG: unique symbol = Symbol.for("@xppg/secure/identity");

/**
 * A node's long-term Ed25519 identity. The secret key stays inside: it is
 * not an enumerable property, so logging or serialising an identity does
 * not leak it; {@link Identity.exportSecretKey} is the one way out.
 */
export interface Identity {
  /** The text id peers know this node by (`"xp1..."`, 55 characters). */
  readonly peerId: string;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /**
   * A 64-byte Ed25519 signature of `data`.
   *
   * @throws `XPPG_ERR_SIGNS_ASYNC` for an identity made in a page on WebCrypto
   *   (`loadOrCreateStoredIdentity`, `createIdentity`), which signs with {@link Identity.signAsync} only.
   */
  sign(data: Uint8Array): Uint8Array;
  /** The same signature, resolved when made: every identity has it; one made on WebCrypto has only this one. */
  signAsync(data: Uint8Array): Promise<Uint8Array>;
  /** A copy of the 32-byte secret seed, for storing the identity (keep it secret). */
  exportSecretKey(): Uint8Array;
}

/** A signer that answers later (WebCrypto's), with its public key. */
export interface AsyncEd25519Signer {
  readonly publicKey: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

class Ed25519Identity implements Identity {
  readonly peerId: string;
  readonly #publicKey: Uint8Array;
  readonly #seed: Uint8Array;
  readonly #signer: Ed25519Signer | AsyncEd25519Signer;
  readonly #async: boolean;
  readonly [IDENTITY_TAG] = true;

  constructor(seed: Uint8Array, signer: Ed25519Signer | AsyncEd25519Signer, async = false) {
    this.#seed = seed;
    this.#signer = signer;
    this.#async = async;
    this.#publicKey = signer.publicKey;
    this.peerId = peerIdFromPublicKey(signer.publicKey);
  }

  get publicKey(): Uint8Array {
    // A copy: callers cannot alter the key the identity signs with.
    return this.#publicKey.slice();
  }

  sign(data: Uint8Array): Uint8Array {
    if (!(data instanceof Uint8Array)) throw badArgumentError(TypeError, "identity.sign", "data", ERROR_TEXTS && ["a Uint8Array (the bytes to sign)", data]);
    if (this.#async) {
      throw new SecureError(
        SECURE_ERROR_CODES.SIGNS_ASYNC,
        ERROR_TEXTS ? `The identity ${this.peerId} keeps its key in the page's WebCrypto, which signs asynchronously: use await identity.signAsync(data).` : [this.peerId],
      );
    }
    return (this.#signer as Ed25519Signer).sign(data);
  }

  async signAsync(data: Uint8Array): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw badArgumentError(TypeError, "identity.signAsync", "data", ERROR_TEXTS && ["a Uint8Array (the bytes to sign)", data]);
    return this.#signer.sign(data);
  }

  exportSecretKey(): Uint8Array {
    return this.#seed.slice();
  }

  toJSON(): { peerId: string } {
    return { peerId: this.peerId };
  }
}

/** A new random identity, with `provider`'s generator. */
export function generateIdentityWith(provider: Pick<CryptoProvider, "randomBytes" | "ed25519Signer">): Identity {
  return identityFromSecretKeyWith(provider, provider.randomBytes(32));
}

/** The identity whose 32-byte Ed25519 secret seed is `secretKey`. */
export function identityFromSecretKeyWith(provider: Pick<CryptoProvider, "ed25519Signer">, secretKey: Uint8Array): Identity {
  if (!(secretKey instanceof Uint8Array) || secretKey.byteLength !== 32) {
    throw invalidKeyError("Ed25519 secret key", ERROR_TEXTS ? "a Uint8Array of 32 bytes (the seed from exportSecretKey())" : []);
  }
  const seed = secretKey.slice();
  return new Ed25519Identity(seed, provider.ed25519Signer(seed));
}

/** The identity of `seed` whose signatures come later (WebCrypto's): its `sign` throws `XPPG_ERR_SIGNS_ASYNC`. */
export function identityFromAsyncSigner(seed: Uint8Array, signer: AsyncEd25519Signer): Identity {
  return new Ed25519Identity(seed.slice(), signer, true);
}

/** True if `value` is an identity made by this package (any installed copy). */
export function isIdentity(value: unknown): value is Identity {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[IDENTITY_TAG] === true;
}
