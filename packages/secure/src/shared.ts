// Everything both entries (Node and browser) export unchanged.
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_NOISE_CIPHER,
  MAX_RECORD_PLAINTEXT,
  NOISE_MAX_MESSAGE_SIZE,
  NOISE_PROTOCOL_NAME,
  NOISE_PROTOCOL_NAMES,
  PEER_ID_LENGTH,
  PEER_ID_PREFIX,
  STATIC_KEY_SIGNATURE_PREFIX,
} from "./constants.js";
export type { NoiseCipher } from "./constants.js";
export type { CryptoProvider, Ed25519Signer, X25519KeyPair } from "./crypto/provider.js";
export { unconfirmedRecords } from "./unconfirmed-records.js";
export { SECURE_ERROR_CODES, SecureError } from "./errors.js";
export type { SecureErrorCode } from "./errors.js";
export { HANDSHAKE_PAYLOAD_SIZE } from "./handshake-payload.js";
export { isIdentity } from "./identity.js";
export type { AsyncEd25519Signer, Identity } from "./identity.js";
export { AES_GCM_BYTE_BUDGET, CipherState } from "./noise/cipher-state.js";
export { HandshakeState } from "./noise/handshake-state.js";
export type { HandshakeResult, HandshakeStateOptions } from "./noise/handshake-state.js";
export { SymmetricState } from "./noise/symmetric-state.js";
export { isPeerId, peerIdFromPublicKey, publicKeyFromPeerId } from "./peer-id.js";
export type { SecureConnection } from "./secure-channel.js";
export type { SecureConnectionOptions } from "./secure-connection.js";
