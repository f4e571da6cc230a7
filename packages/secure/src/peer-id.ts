import { base32Decode, base32Encode } from "./base32.js";
import { PEER_ID_LENGTH, PEER_ID_PREFIX } from "./constants.js";
import { invalidKeyError, invalidPeerIdError } from "./errors.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * The peer id of an Ed25519 public key: `"xp1"` followed by the 32 key bytes
 * in RFC 4648 base32, lowercase, without padding (55 characters in all).
 * `"xp1"` names the format version, so a later format can coexist.
 *
 * @throws `XPPG_ERR_INVALID_KEY` unless `publicKey` is 32 bytes.
 */
export function peerIdFromPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== 32) {
    throw invalidKeyError("Ed25519 public key", ERROR_TEXTS ? "a Uint8Array of 32 bytes" : []);
  }
  return PEER_ID_PREFIX + base32Encode(publicKey);
}

/**
 * The Ed25519 public key a peer id names. Strict: exactly one text form is
 * accepted for each key (lowercase, no padding, no spaces, zero trailing bits).
 *
 * @throws `XPPG_ERR_INVALID_PEER_ID` for anything malformed.
 */
export function publicKeyFromPeerId(peerId: string): Uint8Array {
  if (typeof peerId !== "string") throw invalidPeerIdError(peerId, "it is not a string");
  if (!peerId.startsWith(PEER_ID_PREFIX)) throw invalidPeerIdError(peerId, `it does not start with "${PEER_ID_PREFIX}"`);
  if (peerId.length !== PEER_ID_LENGTH) {
    throw invalidPeerIdError(peerId, `it has ${peerId.length} characters instead of ${PEER_ID_LENGTH}`);
  }
  const key = base32Decode(peerId.slice(PEER_ID_PREFIX.length));
  if (key === null || key.byteLength !== 32) {
    throw invalidPeerIdError(peerId, "its key part is not lowercase base32 of a 32-byte key");
  }
  return key;
}

/** True if `value` is a well-formed peer id; never throws. */
export function isPeerId(value: unknown): value is string {
  try {
    publicKeyFromPeerId(value as string);
    return true;
  } catch {
    return false;
  }
}
