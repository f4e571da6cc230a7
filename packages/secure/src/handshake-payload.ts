import { HANDSHAKE_PAYLOAD_VERSION, STATIC_KEY_SIGNATURE_PREFIX } from "./constants.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { handshakeFailedError } from "./errors.js";
import type { Identity } from "./identity.js";
import { peerIdFromPublicKey } from "./peer-id.js";
import { concatBytes } from "./concat-bytes.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

/** Bytes of the identity payload: version, Ed25519 public key, signature. */
export const HANDSHAKE_PAYLOAD_SIZE = 1 + 32 + 64;

const PREFIX = new TextEncoder().encode(STATIC_KEY_SIGNATURE_PREFIX);

/** The message an identity signs to vouch for a Noise static key: `"xppg-noise-v1:" || staticPublicKey`. */
export function staticKeySignedMessage(staticPublicKey: Uint8Array): Uint8Array {
  return concatBytes([PREFIX, staticPublicKey]);
}

/**
 * The payload each side sends (encrypted) in its handshake message carrying
 * its static key: `version (1 byte, = 1) || Ed25519 public key (32) ||
 * Ed25519 signature (64) of "xppg-noise-v1:" || X25519 static public key`.
 */
export function encodeHandshakePayload(identity: Identity, staticPublicKey: Uint8Array): Uint8Array {
  return handshakePayloadOf(identity.publicKey, identity.sign(staticKeySignedMessage(staticPublicKey)));
}

/** {@link encodeHandshakePayload} with the signature made by `identity.signAsync` (a page's WebCrypto identity). */
export async function encodeHandshakePayloadAsync(identity: Identity, staticPublicKey: Uint8Array): Promise<Uint8Array> {
  return handshakePayloadOf(identity.publicKey, await identity.signAsync(staticKeySignedMessage(staticPublicKey)));
}

function handshakePayloadOf(publicKey: Uint8Array, signature: Uint8Array): Uint8Array {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) throw new TypeError(ERROR_TEXTS ? "identity must give a 32-byte public key and 64-byte signatures" : valuesMessage("", []));
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
  provider: Pick<CryptoProvider, "ed25519Verify">,
  payload: Uint8Array,
  remoteStaticKey: Uint8Array,
  peerLabel: string,
): ProvenIdentity {
  const { publicKey, signature } = readPayload(payload, peerLabel);
  return proven(provider.ed25519Verify(publicKey, staticKeySignedMessage(remoteStaticKey), signature), publicKey, peerLabel);
}

/** {@link verifyHandshakePayload} with a check that may answer later (WebCrypto's). */
export async function verifyHandshakePayloadAsync(
  verify: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>,
  payload: Uint8Array,
  remoteStaticKey: Uint8Array,
  peerLabel: string,
): Promise<ProvenIdentity> {
  const { publicKey, signature } = readPayload(payload, peerLabel);
  return proven(await verify(publicKey, staticKeySignedMessage(remoteStaticKey), signature), publicKey, peerLabel);
}

function readPayload(payload: Uint8Array, peerLabel: string): { publicKey: Uint8Array; signature: Uint8Array } {
  if (payload.byteLength !== HANDSHAKE_PAYLOAD_SIZE) {
    throw handshakeFailedError(peerLabel, ERROR_TEXTS ? `its identity payload has ${payload.byteLength} bytes instead of ${HANDSHAKE_PAYLOAD_SIZE}` : [payload.byteLength, HANDSHAKE_PAYLOAD_SIZE]);
  }
  if (payload[0] !== HANDSHAKE_PAYLOAD_VERSION) {
    throw handshakeFailedError(peerLabel, ERROR_TEXTS ? `its identity payload has version ${payload[0]}; this version reads ${HANDSHAKE_PAYLOAD_VERSION}` : [payload[0], HANDSHAKE_PAYLOAD_VERSION]);
  }
  return { publicKey: payload.slice(1, 33), signature: payload.subarray(33, 97) };
}

function proven(valid: boolean, publicKey: Uint8Array, peerLabel: string): ProvenIdentity {
  if (!valid) throw handshakeFailedError(peerLabel, ERROR_TEXTS ? "its identity signature over the session key does not verify (a forged or replayed identity)" : []);
  return { publicKey, peerId: peerIdFromPublicKey(publicKey) };
}
