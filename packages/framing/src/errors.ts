import { ERROR_TEXTS, XPPG_ERROR_CODES, XppgError, type XppgErrorOptions, type ErrorText } from "@xppg/errors";

/** Stable codes of the errors `@xppg/framing` throws. */
export const FRAMING_ERROR_CODES = {
  /** A frame (declared or given) is larger than `maxFrameSize`. */
  FRAME_TOO_LARGE: XPPG_ERROR_CODES.FRAME_TOO_LARGE,
  /** A call given an argument it cannot use (`envelopeOf` given another codec's or a made-up object). */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** Bytes that do not form a valid envelope. */
  MALFORMED_ENVELOPE: "XPPG_ERR_MALFORMED_ENVELOPE",
  /** A payload nested deeper than `maxDepth`. */
  PAYLOAD_TOO_DEEP: "XPPG_ERR_PAYLOAD_TOO_DEEP",
  /** A value that cannot be encoded (a function, a symbol, a cycle). */
  UNENCODABLE_PAYLOAD: "XPPG_ERR_UNENCODABLE_PAYLOAD",
  /** An envelope whose version this code does not read. */
  UNSUPPORTED_VERSION: "XPPG_ERR_UNSUPPORTED_ENVELOPE_VERSION",
} as const;

export type FramingErrorCode = (typeof FRAMING_ERROR_CODES)[keyof typeof FRAMING_ERROR_CODES];

/** An error from the frame or envelope codec. */
export class FramingError extends XppgError {
  constructor(code: FramingErrorCode, message: ErrorText, options?: XppgErrorOptions) {
    super(code, message, options, new.target === FramingError ? "FramingError" : undefined);
  }
}

/**
 * The error for a frame over the limit: the one every layer uses (the frame
 * and envelope codecs here, and each transport's `send` and receive path
 * through `@xppg/transport/adapter`).
 */
export function frameTooLargeError(size: number, maxFrameSize: number, direction: "received" | "sent"): FramingError {
  const advice =
    direction === "received"
      ? "The peer is misbehaving or uses a larger maxFrameSize; the connection is dropped."
      : "Nothing was sent. A connection whose own send refused it stays usable; a layer above that had promised the frame (a secure channel's record, a node's bundle of messages) closes it instead. Split the data into smaller frames (shareFile sends files in chunks), or raise maxFrameSize on both peers and on the transport below.";
  return new FramingError(
    FRAMING_ERROR_CODES.FRAME_TOO_LARGE,
    ERROR_TEXTS ? `A ${direction} frame of ${size} bytes exceeds maxFrameSize (${maxFrameSize} bytes). ${advice}` : [direction, size, maxFrameSize],
    { details: { size, maxFrameSize } },
  );
}
