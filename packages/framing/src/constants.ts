/** Bytes in the big-endian length prefix that starts every frame. */
export const FRAME_HEADER_SIZE = 4;

/**
 * Largest frame a decoder accepts unless told otherwise: 1 MiB. Large data
 * (files) travels as many frames; raise this only if you send single
 * messages that big.
 */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

/** The largest frame the 32-bit length prefix can describe. */
export const MAX_FRAME_SIZE_LIMIT = 0xffff_ffff;

/** Version of the envelope layout written by {@link encodeEnvelope}. */
export const ENVELOPE_VERSION = 1;

/** Deepest nesting of arrays and maps a payload may have. */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 32;

/** Longest message kind, in characters. */
export const MAX_KIND_LENGTH = 128;

/** Longest peer id (source or destination), in characters. */
export const MAX_PEER_ID_LENGTH = 256;

/** Largest hop limit an envelope may carry. */
export const MAX_HOP_LIMIT = 255;
