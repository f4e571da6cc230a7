/**
 * The Noise cipher functions this package speaks (Noise spec rev. 34,
 * section 12): `"AESGCM"` (AES-256-GCM) or `"ChaChaPoly"` (ChaCha20-Poly1305).
 */
export type NoiseCipher = "AESGCM" | "ChaChaPoly";

/**
 * The cipher `secureConnection` uses unless told otherwise: ChaCha20-Poly1305,
 * constant-time in software and fast in the browser provider, so every
 * platform agrees by default. AES-256-GCM is the option on CPUs with AES
 * instructions (both sides must set it).
 */
export const DEFAULT_NOISE_CIPHER: NoiseCipher = "ChaChaPoly";

/** The full Noise protocol name of each cipher (Noise spec section 8); it is hashed into the handshake, so both sides must use the same one. */
export const NOISE_PROTOCOL_NAMES: Readonly<Record<NoiseCipher, string>> = Object.freeze({
  AESGCM: "Noise_XX_25519_AESGCM_SHA256",
  ChaChaPoly: "Noise_XX_25519_ChaChaPoly_SHA256",
});

/** The Noise protocol name this package speaks by default (with {@link DEFAULT_NOISE_CIPHER}). */
export const NOISE_PROTOCOL_NAME = NOISE_PROTOCOL_NAMES[DEFAULT_NOISE_CIPHER];

/** Largest Noise message, handshake or transport, in bytes (Noise spec section 3). */
export const NOISE_MAX_MESSAGE_SIZE = 65_535;

/** Bytes of the authentication tag (the same for AESGCM and ChaChaPoly). */
export const NOISE_TAG_SIZE = 16;

/** Largest plaintext one encrypted record carries: {@link NOISE_MAX_MESSAGE_SIZE} minus the tag. */
export const MAX_RECORD_PLAINTEXT = NOISE_MAX_MESSAGE_SIZE - NOISE_TAG_SIZE;

/**
 * How much plaintext a full record carries when this side seals: a little
 * under the Noise maximum, so a sealed record plus a stream transport's
 * 4-byte frame header is exactly 64 KiB, the size of one socket read, and
 * the receiver rarely has to reassemble a record from two reads.
 */
export const RECORD_FILL_PLAINTEXT = 65_536 - 4 - NOISE_TAG_SIZE;

/** Version byte that starts every handshake identity payload. */
export const HANDSHAKE_PAYLOAD_VERSION = 1;

/**
 * Domain separation for the signature that binds a Noise static key to an
 * Ed25519 identity: the signed message is this prefix followed by the
 * 32-byte X25519 static public key.
 */
export const STATIC_KEY_SIGNATURE_PREFIX = "xppg-noise-v1:";

/** Prefix of every peer id; names the format version. */
export const PEER_ID_PREFIX = "xp1";

/** Length of a peer id: the prefix and 52 base32 characters of a 32-byte key. */
export const PEER_ID_LENGTH = 55;

/** Default time the handshake may take before it fails with `XPPG_ERR_HANDSHAKE_TIMEOUT`. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

// The frame and buffer defaults every connection shares (1 MiB each), re-exported.
export { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_SIZE } from "@xppg/transport/adapter";
