export {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  ENVELOPE_VERSION,
  FRAME_HEADER_SIZE,
  MAX_FRAME_SIZE_LIMIT,
  MAX_HOP_LIMIT,
  MAX_KIND_LENGTH,
  MAX_PEER_ID_LENGTH,
} from "./constants.js";
export { FRAMING_ERROR_CODES, FramingError, frameTooLargeError } from "./errors.js";
export type { FramingErrorCode } from "./errors.js";
export { encodeFrame, encodeFrames, encodedFrameLength, writeFrameHeader } from "./frame-encoder.js";
export { FRAME_RELEASED, FrameDecoder } from "./frame-decoder.js";
export type { FrameDecoderOptions } from "./frame-decoder.js";
export { EnvelopeCodec, SIGNATURE_LENGTH } from "./envelope.js";
export type { Envelope, EnvelopeCodecOptions, EnvelopeLink, ReadEnvelope } from "./envelope.js";
export { scopeReads, type FrameTarget } from "./envelope-reader.js";
export { isSignedEnvelope } from "./envelope-peek.js";
/** True where the compact direct envelope (`lean/1`) is written and read: in Node, not in a page. */
export { LEAN } from "#lean";
/** The common direct message in the compact layout, for a sender that knows its shape (Node's only; a page's never writes it). */
export { encodeLeanBytesInto, encodeLeanBytesWithView } from "#lean";
export { scanMsgpack } from "./msgpack-scan.js";
