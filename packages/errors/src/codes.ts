/**
 * The error codes that mean the same thing in every xppg package, defined
 * once here. A package whose errors can carry one of them lists it in its own
 * code table by reference (`INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT`),
 * never as a second string literal; `test/error-code-registry.test.ts` checks it.
 */
export const XPPG_ERROR_CODES = {
  /** A public function or constructor was called with an argument it cannot use; in Node and development builds the message shows the right call. */
  INVALID_ARGUMENT: "XPPG_ERR_INVALID_ARGUMENT",
  /** The caller's `AbortSignal` fired before the call finished; `cause` is the signal's reason. */
  ABORTED: "XPPG_ERR_ABORTED",
  /** A handshake with a peer did not finish within its deadline. */
  HANDSHAKE_TIMEOUT: "XPPG_ERR_HANDSHAKE_TIMEOUT",
  /** A frame is larger than the `maxFrameSize` limit in force. */
  FRAME_TOO_LARGE: "XPPG_ERR_FRAME_TOO_LARGE",
} as const;

/** One of the {@link XPPG_ERROR_CODES} values. */
export type XppgErrorCode = (typeof XPPG_ERROR_CODES)[keyof typeof XPPG_ERROR_CODES];
