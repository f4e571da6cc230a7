import { XPPG_ERROR_CODES, XppgError, type XppgErrorOptions } from "@xppg/errors";
import { MAX_GATEWAY_TEXT_CHARS } from "./constants.js";

/** Every code a {@link NatError} can carry. Stable across releases. */
export const NAT_ERROR_CODES = {
  /** No UPnP gateway answered discovery, or its description could not be read. */
  NO_GATEWAY: "XPPG_ERR_NAT_NO_GATEWAY",
  /** A device answered but offers no WANIPConnection / WANPPPConnection service. */
  UNSUPPORTED_GATEWAY: "XPPG_ERR_NAT_UNSUPPORTED_GATEWAY",
  /** A gateway was found but the mapping did not complete within `timeoutMs`. */
  TIMEOUT: "XPPG_ERR_NAT_TIMEOUT",
  /** The gateway answered AddPortMapping with an error (port taken, not allowed, ...). */
  MAPPING_REFUSED: "XPPG_ERR_NAT_MAPPING_REFUSED",
  /** Renewing the lease failed; it is retried while the mapping is alive. */
  RENEWAL_FAILED: "XPPG_ERR_NAT_RENEWAL_FAILED",
  /** `remove()` could not delete the mapping on the gateway. */
  REMOVE_FAILED: "XPPG_ERR_NAT_REMOVE_FAILED",
  /** The options passed to {@link tryUpnpMap} are invalid (a programming error). */
  INVALID_OPTIONS: "XPPG_ERR_NAT_INVALID_OPTIONS",
  /** The caller's `signal` fired before {@link tryUpnpMap} finished (shared with every package). */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
} as const;

/** One of the {@link NAT_ERROR_CODES} values. */
export type NatErrorCode = (typeof NAT_ERROR_CODES)[keyof typeof NAT_ERROR_CODES];

/**
 * The error type of `@xppg/nat`. Match on `code` (see {@link NAT_ERROR_CODES});
 * `details` may hold `upnpErrorCode`, `httpStatus`, `gateway` and timings.
 */
export class NatError extends XppgError {
  declare readonly code: NatErrorCode;

  constructor(code: NatErrorCode, message: string, options: XppgErrorOptions = {}) {
    super(code, message, options, new.target === NatError ? "NatError" : undefined);
  }
}

/**
 * A failed call to the gateway, as an `IgdClient` reports it.
 * Internal: turned into a {@link NatError} before anyone outside sees it.
 */
export class UpnpCallError extends Error {
  /** The UPnP `errorCode` from the SOAP fault, when the client could read one. */
  readonly upnpErrorCode: number | undefined;
  /** The HTTP status of the answer, if there was an answer. */
  readonly httpStatus: number | undefined;
  /** True when no answer arrived in time: the call may or may not have taken effect. */
  readonly outcomeUnknown: boolean;

  constructor(
    message: string,
    init: { upnpErrorCode?: number; httpStatus?: number; outcomeUnknown?: boolean; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "UpnpCallError";
    this.upnpErrorCode = init.upnpErrorCode;
    this.httpStatus = init.httpStatus;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
  }
}

// C0 controls, DEL and C1 controls: ESC, CSI (U+009B) and friends drive terminals.
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * Gateway-provided text made safe to quote in an error message, which apps
 * print: every run of control characters (C0, DEL, C1) becomes one space, and
 * the result is cut to `maxChars` code points (with "…" when cut).
 */
export function gatewayText(text: string, maxChars: number = MAX_GATEWAY_TEXT_CHARS): string {
  const clean = text.replace(CONTROL_RUNS, " ").trim();
  if (clean.length <= maxChars) return clean;
  // Count code points, not UTF-16 units, so no surrogate pair is split.
  let end = 0;
  for (let n = 0; n < maxChars && end < clean.length; n++) end += (clean.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  return end < clean.length ? `${clean.slice(0, end).trimEnd()}…` : clean;
}
