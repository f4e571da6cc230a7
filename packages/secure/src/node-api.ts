// The public functions bound to the Node provider: libsodium's
// ChaCha20-Poly1305 when sodium-native loads, node:crypto for the rest.
import type { Connection } from "@xppg/transport";
import { nodeCryptoProvider } from "./crypto/node-provider.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { loadSodiumAead } from "./crypto/sodium-loader.js";
import { sodiumCryptoProvider } from "./crypto/sodium-provider.js";
import { generateIdentityWith, identityFromSecretKeyWith, type Identity } from "./identity.js";
import { loadOrCreateStoredIdentityWith } from "./identity-store.js";
import type { SecureConnection } from "./secure-channel.js";
import { secureConnectionWith, withQuickIdentityCheck } from "./record-secure-connection.js";
import type { SecureConnectionOptions } from "./secure-connection.js";

const sodium = loadSodiumAead();

/**
 * The crypto provider this entry uses: `"sodium"` (records sealed and
 * opened in place by libsodium through the optional `sodium-native`, the
 * rest on node:crypto) when that package is installed and loads, else
 * `"node"` (everything on node:crypto). `XPPG_CRYPTO_PROVIDER=node` in the
 * environment forces `"node"`. Both speak the same bytes.
 */
export const cryptoProvider: CryptoProvider = sodium === null ? nodeCryptoProvider : sodiumCryptoProvider(sodium);

/** The name of {@link cryptoProvider}: `"sodium"` or `"node"`. */
export const cryptoProviderName: string = cryptoProvider.name;

/**
 * {@link verifySignature}'s checks: libsodium's yes first, node:crypto's
 * verdict on its no, as the handshake's. A node checks its first peers'
 * signed records (peer exchange) as it connects: with node:crypto's verify,
 * that loaded node:crypto itself (about 1 MiB more resident in every node,
 * its built-in modules and key code) for nothing libsodium could not answer.
 */
const checks = withQuickIdentityCheck(cryptoProvider);

/**
 * A new random Ed25519 identity. Keep it across runs with
 * `loadOrCreateIdentity(path)` from `@xppg/secure/key-file` (Node), or
 * store `exportSecretKey()` yourself.
 */
export function generateIdentity(): Identity {
  return generateIdentityWith(cryptoProvider);
}

/**
 * The identity whose 32-byte Ed25519 secret key (seed) is `secretKey`, as
 * returned by `identity.exportSecretKey()`.
 *
 * @throws `XPPG_ERR_INVALID_KEY` unless `secretKey` is a 32-byte `Uint8Array`.
 */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  return identityFromSecretKeyWith(cryptoProvider, secretKey);
}

/**
 * True if `signature` is a valid Ed25519 signature of `data` by
 * `publicKey` (32 bytes; `publicKeyFromPeerId` gives it from a peer id).
 * Returns false, never throws, for malformed keys or signatures.
 */
export function verifySignature(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  return checks.ed25519Verify(publicKey, data, signature);
}

/**
 * A new random identity, resolved at once here (in a page it is made on
 * WebCrypto and signs with `signAsync`): the same call for both.
 */
export async function createIdentity(): Promise<Identity> {
  return generateIdentity();
}

/** {@link verifySignature}, resolved (a page's checks WebCrypto, which answers later): the same call for both. */
export async function verifySignatureAsync(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return verifySignature(publicKey, data, signature);
}

/**
 * Runs a Noise XX handshake (`Noise_XX_25519_ChaChaPoly_SHA256` by default,
 * `Noise_XX_25519_AESGCM_SHA256` with `cipher: "AESGCM"`) over any
 * connection and resolves with a {@link SecureConnection}: the same
 * interface, every frame encrypted and authenticated, plus the peer's proven
 * `remotePeerId`. The side that dialled (`conn.outbound`) starts.
 *
 * Rejects (and closes `conn`) with `XPPG_ERR_HANDSHAKE_FAILED`,
 * `XPPG_ERR_HANDSHAKE_TIMEOUT`, `XPPG_ERR_PEER_ID_MISMATCH` or (when
 * `signal` fires) `XPPG_ERR_ABORTED`; with `XPPG_ERR_INVALID_PEER_ID` for a
 * malformed `expectedPeerId`.
 */
export function secureConnection(conn: Connection, options: SecureConnectionOptions): Promise<SecureConnection> {
  return secureConnectionWith(cryptoProvider, conn, options);
}

/**
 * The browser's identity store (IndexedDB), here for the same names in both
 * entries: Node has no IndexedDB, so this rejects with
 * `XPPG_ERR_IDENTITY_STORE`; keep a Node identity with
 * `loadOrCreateIdentity(path)` from `@xppg/secure/key-file`.
 */
export function loadOrCreateStoredIdentity(name: string): Promise<Identity> {
  return loadOrCreateStoredIdentityWith(cryptoProvider, name);
}
