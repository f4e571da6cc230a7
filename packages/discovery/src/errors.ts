import { XPPG_ERROR_CODES, XppgError, type XppgErrorOptions } from "@xppg/errors";

/** Every code a {@link DiscoveryError} can carry. Stable across releases. */
export const DISCOVERY_ERROR_CODES = {
  /** The options are invalid (a programming error); the message says which and why. */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** The multicast DNS socket could not be opened or could not join the group. */
  UNAVAILABLE: "XPPG_ERR_DISCOVERY_UNAVAILABLE",
  /** An announcement or query could not be sent; discovery carries on. */
  SEND_FAILED: "XPPG_ERR_DISCOVERY_SEND_FAILED",
  /** A `peer`/`gone` listener threw; discovery carries on. */
  LISTENER_FAILED: "XPPG_ERR_DISCOVERY_LISTENER_FAILED",
  /** `start()` after `stop()`. */
  STOPPED: "XPPG_ERR_DISCOVERY_STOPPED",
  /** `start()` was aborted through its signal. */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
} as const;

/** One of the {@link DISCOVERY_ERROR_CODES} values. */
export type DiscoveryErrorCode = (typeof DISCOVERY_ERROR_CODES)[keyof typeof DISCOVERY_ERROR_CODES];

/** The error type of `@xppg/discovery`. Match on `code`. */
export class DiscoveryError extends XppgError {
  declare readonly code: DiscoveryErrorCode;

  constructor(code: DiscoveryErrorCode, message: string, options: XppgErrorOptions = {}) {
    super(code, message, options, new.target === DiscoveryError ? "DiscoveryError" : undefined);
  }
}
