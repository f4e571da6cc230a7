import { HANDSHAKE_PAYLOAD_VERSION, STATIC_KEY_SIGNATURE_PREFIX } from "./constants.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { handshakeFailedError } from "./errors.js";
import type { Identity } from "./identity.js";
import { peerIdFromPublicKey } from "./peer-id.js";

/** Bytes of the identity payload: version, Ed25519 public key, signature. */
export const HANDSHAKE_PAYLOAD_SIZE = 1 + 32 + 64;

const PREFIX = new TextEncoder().encode(STATIC_KEY_SIGNATURE_PREFIX);

/** The message an identity signs to vouch for a Noise static key: `"xppg-noise-v1:" || staticPublicKey`. */
export function staticKeySignedMessage(staticPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX.byteLength + staticPublicKey.byteLength);
  out.set(PREFIX, 0);
  out.set(staticPublicKey, PREFIX.byteLength);
  return out;
}

/**
 * The payload each side sends (encrypted) in its handshake message carrying
 * its static key: `version (1 byte, = 1) || Ed25519 public key (32) ||
 * Ed25519 signature (64) of "xppg-noise-v1:" || X25519 static public key`.
 */
export function encodeHandshakePayload(identity: Identity, staticPublicKey: Uint8Array): Uint8Array {
  const signature = identity.sign(staticKeySignedMessage(staticPublicKey));
  const publicKey = identity.publicKey;
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) throw new TypeError("identity must give a 32-byte public key and 64-byte signatures");
  const out = new Uint8Array(HANDSHAKE_PAYLOAD_SIZE);
  out[0] = HANDSHAKE_PAYLOAD_VERSION;
  out.set(publicKey, 1);
  out.set(signature, 33);
  return out;
}

/** The identity a verified payload proves. */
export interface ProvenIdentity {
  publicKey: Uint8Array;
  peerId: string;
}

/**
 * Checks a peer's payload against the static key Noise authenticated for it.
 *
 * @throws `XPPG_ERR_HANDSHAKE_FAILED` for a payload of the wrong size or
 *   version, or a signature that does not verify.
 */
export function verifyHandshakePayload(
  provider: CryptoProvider,
  payload: Uint8Array,
  remoteStaticKey: Uint8Array,
  peerLabel: string,
): ProvenIdentity {
  if (payload.byteLength !== HANDSHAKE_PAYLOAD_SIZE) {
    throw handshakeFailedError(peerLabel, `its identity payload has ${payload.byteLength} bytes instead of ${HANDSHAKE_PAYLOAD_SIZE}`);
  }
  if (payload[0] !== HANDSHAKE_PAYLOAD_VERSION) {
    throw handshakeFailedError(peerLabel, `its identity payload has version ${payload[0]}; this version reads ${HANDSHAKE_PAYLOAD_VERSION}`);
  }
  const publicKey = payload.slice(1, 33);
  const signature = payload.subarray(33, 97);
  if (!provider.ed25519Verify(publicKey, staticKeySignedMessage(remoteStaticKey), signature)) {
    throw handshakeFailedError(peerLabel, "its identity signature over the session key does not verify (a forged or replayed identity)");
  }
  return { publicKey, peerId: peerIdFromPublicKey(publicKey) };
}
