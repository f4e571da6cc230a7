import { XppgError, type XppgErrorOptions } from "@xppg/errors";

/** Stable codes of the errors transports report. */
export const TRANSPORT_ERROR_CODES = {
  CONNECTION_CLOSED: "XPPG_ERR_CONNECTION_CLOSED",
  CONNECTION_RESET: "XPPG_ERR_CONNECTION_RESET",
  DIAL_FAILED: "XPPG_ERR_DIAL_FAILED",
  DIAL_TIMEOUT: "XPPG_ERR_DIAL_TIMEOUT",
  ABORTED: "XPPG_ERR_ABORTED",
  BAD_ADDRESS: "XPPG_ERR_BAD_ADDRESS",
  LISTEN_FAILED: "XPPG_ERR_LISTEN_FAILED",
  FRAME_TOO_LARGE: "XPPG_ERR_FRAME_TOO_LARGE",
  PROTOCOL: "XPPG_ERR_TRANSPORT_PROTOCOL",
} as const;

/** Any error a transport reports; `code` is one of {@link TRANSPORT_ERROR_CODES}. */
export class TransportError extends XppgError {
  constructor(code: (typeof TRANSPORT_ERROR_CODES)[keyof typeof TRANSPORT_ERROR_CODES], message: string, options?: XppgErrorOptions) {
    super(code, message, options);
  }
}

/** The error `send` rejects with once a connection is closed. */
export function connectionClosedError(remoteAddress: string, cause?: unknown): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.CONNECTION_CLOSED,
    `The connection to ${remoteAddress} is closed; nothing more can be sent on it. Dial again to reconnect.`,
    cause === undefined ? undefined : { cause },
  );
}

/** The error for an address a transport cannot read. */
export function badAddressError(transport: string, address: string, expected: string): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.BAD_ADDRESS,
    `The ${transport} transport cannot use the address "${address}". Give it in the form ${expected}.`,
    { details: { address } },
  );
}
