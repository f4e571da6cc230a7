// The public functions of browsers. A page's node uses the asynchronous ones
// (createIdentity, loadOrCreateStoredIdentity, verifySignatureAsync,
// secureConnection): they run on WebCrypto in a secure context, and load
// noble's code only where WebCrypto lacks Ed25519 or X25519, so that a page's
// first download holds no Ed25519, X25519 or SHA-2 code (issue 13). The
// synchronous ones (generateIdentity, identityFromSecretKey, verifySignature,
// cryptoProvider) are the audited @noble/* libraries, for code that needs an
// answer at once.
import type { Connection } from "@xppg/transport";
import { nobleCryptoProvider } from "./crypto/noble-provider.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { pageChannelProvider } from "./crypto/page-provider.js";
import { pageCrypto } from "./crypto/web-crypto.js";
import { generateIdentityWith, identityFromAsyncSigner, identityFromSecretKeyWith, type Identity } from "./identity.js";
import { loadOrCreateStoredIdentityWith } from "./identity-store.js";
import type { SecureConnection } from "./secure-channel.js";
import { PageRecordLink } from "./page-record-link.js";
import { secureConnectionCore, type SecureConnectionOptions } from "./secure-connection.js";

/** The crypto provider this entry uses: the audited @noble/* libraries (browsers). */
export const cryptoProvider: CryptoProvider = nobleCryptoProvider;

/** The name of {@link cryptoProvider}: `"noble"` in this entry. */
export const cryptoProviderName: string = "noble";

/**
 * A new random Ed25519 identity. Keep it across runs with
 * `loadOrCreateIdentity(path)` from `@xppg/secure/key-file` (Node), or
 * store `exportSecretKey()` yourself.
 */
export function generateIdentity(): Identity {
  return generateIdentityWith(nobleCryptoProvider);
}

/**
 * The identity whose 32-byte Ed25519 secret key (seed) is `secretKey`, as
 * returned by `identity.exportSecretKey()`.
 *
 * @throws `XPPG_ERR_INVALID_KEY` unless `secretKey` is a 32-byte `Uint8Array`.
 */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  return identityFromSecretKeyWith(nobleCryptoProvider, secretKey);
}

/**
 * True if `signature` is a valid Ed25519 signature of `data` by
 * `publicKey` (32 bytes; `publicKeyFromPeerId` gives it from a peer id).
 * Returns false, never throws, for malformed keys or signatures.
 */
export function verifySignature(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  return nobleCryptoProvider.ed25519Verify(publicKey, data, signature);
}

/** {@link verifySignature} on WebCrypto (noble's where WebCrypto lacks Ed25519); resolves false, never rejects, for malformed input. */
export async function verifySignatureAsync(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (!(publicKey instanceof Uint8Array) || !(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  return (await pageCrypto()).ed25519Verify(publicKey, data, signature);
}

/** The identity of `seed`, its key in WebCrypto (non-extractable) where WebCrypto has Ed25519: it signs with `signAsync`. */
async function pageIdentity(seed: Uint8Array): Promise<Identity> {
  return identityFromAsyncSigner(seed, await (await pageCrypto()).ed25519Signer(seed));
}

/**
 * A new random identity made on WebCrypto (noble's Ed25519 where WebCrypto
 * lacks it), for a page's node: it signs with `signAsync` only (`sign`
 * throws `XPPG_ERR_SIGNS_ASYNC`). For an identity that signs at once, use
 * {@link generateIdentity}.
 */
export function createIdentity(): Promise<Identity> {
  return pageIdentity(pageChannelProvider.randomBytes(32));
}

/**
 * Runs a Noise XX handshake over any
 * connection and resolves with a {@link SecureConnection}: the same
 * interface, every frame encrypted and authenticated, plus the peer's proven
 * `remotePeerId`. The side that dialled (`conn.outbound`) starts. With no
 * `cipher` set, a page offers `Noise_XX_25519_AESGCM_SHA256` (WebCrypto's
 * AES-GCM) and runs `Noise_XX_25519_ChaChaPoly_SHA256` with a peer that does
 * not take it, loading ChaCha20-Poly1305 then (README, "Cipher negotiation").
 *
 * Rejects (and closes `conn`) with `XPPG_ERR_HANDSHAKE_FAILED`,
 * `XPPG_ERR_HANDSHAKE_TIMEOUT`, `XPPG_ERR_PEER_ID_MISMATCH` or (when
 * `signal` fires) `XPPG_ERR_ABORTED`; with `XPPG_ERR_INVALID_PEER_ID` for a
 * malformed `expectedPeerId`.
 */
export function secureConnection(conn: Connection, options: SecureConnectionOptions): Promise<SecureConnection> {
  return secureConnectionCore(pageChannelProvider, conn, options, (c, session, controller, o, crypto) => new PageRecordLink(crypto!.aead!, c, session, controller, o), pageCrypto);
}

/**
 * The page's identity stored under `name` in IndexedDB, created on first
 * use: the same peer id after a reload. Two tabs of one site with the same
 * `name` share it (give each its own name to run two peers). See
 * `storedIdentityProtection()` for how the key is kept at rest. The
 * identity signs with `signAsync` (on WebCrypto; `sign` throws
 * `XPPG_ERR_SIGNS_ASYNC`); identities stored by earlier versions load the same.
 *
 * @throws `XPPG_ERR_IDENTITY_STORE` when IndexedDB cannot be used (private window, storage blocked).
 */
export function loadOrCreateStoredIdentity(name: string): Promise<Identity> {
  return loadOrCreateStoredIdentityWith(pageChannelProvider, name, pageIdentity);
}
