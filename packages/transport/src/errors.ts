import { ERROR_TEXTS, XPPG_ERROR_CODES, XppgError, type XppgErrorOptions, type ErrorText } from "@xppg/errors";
import { FRAMING_ERROR_CODES } from "@xppg/framing";

/** Stable codes of the errors transports report. */
export const TRANSPORT_ERROR_CODES = {
  /** `send` on a connection that is closed. */
  CONNECTION_CLOSED: "XPPG_ERR_CONNECTION_CLOSED",
  /** The peer aborted the connection, the link broke, or this side failed to write a frame (`closed` reports it). */
  CONNECTION_RESET: "XPPG_ERR_CONNECTION_RESET",
  /** Nothing answered at the dialled address. */
  DIAL_FAILED: "XPPG_ERR_DIAL_FAILED",
  /** The dial took longer than its timeout. */
  DIAL_TIMEOUT: "XPPG_ERR_DIAL_TIMEOUT",
  /** The dial's `AbortSignal` fired. */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
  /** An address the transport cannot read. */
  BAD_ADDRESS: "XPPG_ERR_BAD_ADDRESS",
  /** `listen` could not bind (the port or name is taken). */
  LISTEN_FAILED: "XPPG_ERR_LISTEN_FAILED",
  /**
   * A frame over `maxFrameSize`: `send` rejects, or `closed` reports a
   * received one. The code of `@xppg/framing`, whose `frameTooLargeError`
   * transports use.
   */
  FRAME_TOO_LARGE: FRAMING_ERROR_CODES.FRAME_TOO_LARGE,
  /** The peer broke the transport's wire rules (a truncated frame, a text WebSocket message). */
  PROTOCOL: "XPPG_ERR_TRANSPORT_PROTOCOL",
  /**
   * The peer sent more than `maxHeldBytes` while this side was not reading
   * (paused), over a socket that cannot stop reading (a browser's
   * WebSocket): the frames held are dropped and so is the connection.
   * `closed` reports it on both sides (a WebSocket peer reads it from the
   * close reason).
   */
  RECEIVE_BUFFER_FULL: "XPPG_ERR_RECEIVE_BUFFER_FULL",
} as const;

/**
 * The code a layer above a connection reports when the connection broke its
 * contract, never a connection itself: a table of its own, so that a page's
 * download that never reports it does not carry it.
 */
export const TRANSPORT_CONTRACT_ERROR_CODES = {
  /**
   * A connection broke the `Connection` contract: its `send` or `close`
   * threw, or `send` rejected with an error that is not an xppg error, where
   * the contract says it returns a promise that rejects with a typed error.
   * `cause` is what it threw; fix the transport, or report it to its authors.
   */
  CONTRACT_BROKEN: "XPPG_ERR_TRANSPORT_CONTRACT",
} as const;

/** One of the {@link TRANSPORT_ERROR_CODES} or {@link TRANSPORT_CONTRACT_ERROR_CODES}. */
export type TransportErrorCode =
  | (typeof TRANSPORT_ERROR_CODES)[keyof typeof TRANSPORT_ERROR_CODES]
  | (typeof TRANSPORT_CONTRACT_ERROR_CODES)[keyof typeof TRANSPORT_CONTRACT_ERROR_CODES];

/** Any error a transport reports; `code` is one of {@link TRANSPORT_ERROR_CODES}. */
export class TransportError extends XppgError {
  constructor(code: TransportErrorCode, message: ErrorText, options?: XppgErrorOptions) {
    super(code, message, options, new.target === TransportError ? "TransportError" : undefined);
  }
}

/** The error `send` rejects with once a connection is closed. */
export function connectionClosedError(remoteAddress: string, cause?: unknown): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.CONNECTION_CLOSED,
    ERROR_TEXTS ? `The connection to ${remoteAddress} is closed; nothing more can be sent on it. Dial again to reconnect.` : [remoteAddress],
    { cause },
  );
}

/** The error for an address a transport cannot read. */
export function badAddressError(transport: string, address: string, expected: string): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.BAD_ADDRESS,
    ERROR_TEXTS ? `The ${transport} transport cannot use the address "${address}". Give it in the form ${expected}.` : [transport, address, expected],
    { details: { address } },
  );
}

/** The error a dial rejects with when nothing answers at `address`. */
export function dialFailedError(address: string, cause?: unknown): TransportError {
  const why = cause instanceof Error ? ` (${cause.message})` : "";
  return new TransportError(
    TRANSPORT_ERROR_CODES.DIAL_FAILED,
    ERROR_TEXTS ? `Could not connect to ${address}${why}. Check that the peer is running and listening there, and that nothing blocks the way.` : [address, why],
    { cause, details: { address } },
  );
}

/** The error a dial rejects with when it took longer than `timeoutMs`. */
export function dialTimeoutError(address: string, timeoutMs: number): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.DIAL_TIMEOUT,
    ERROR_TEXTS ? `Connecting to ${address} took longer than ${timeoutMs} ms and was given up. The peer may be down or unreachable; try again, or raise timeoutMs.` : [address, timeoutMs],
    { details: { address, timeoutMs } },
  );
}

/** The error a dial rejects with when its `AbortSignal` fired. */
export function abortedError(address: string, reason?: unknown): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.ABORTED,
    ERROR_TEXTS ? `The dial to ${address} was aborted by its AbortSignal; no connection was kept.` : [address],
    { cause: reason, details: { address } },
  );
}

/** The error `listen` rejects with when it cannot bind `address`. */
export function listenFailedError(address: string, cause?: unknown): TransportError {
  const why = cause instanceof Error ? ` (${cause.message})` : "";
  return new TransportError(
    TRANSPORT_ERROR_CODES.LISTEN_FAILED,
    ERROR_TEXTS ? `Could not listen on ${address}${why}. Pick another port (0 picks a free one) or stop whatever holds it.` : [address, why],
    { cause, details: { address } },
  );
}

/** The error `closed` reports when the link broke or the peer aborted the connection. */
export function connectionResetError(remoteAddress: string, cause?: unknown): TransportError {
  const why = cause instanceof Error ? ` (${cause.message})` : "";
  return new TransportError(
    TRANSPORT_ERROR_CODES.CONNECTION_RESET,
    ERROR_TEXTS ? `The connection to ${remoteAddress} was reset${why}: the peer aborted it or the link broke. Frames in flight may be lost; dial again to reconnect.` : [remoteAddress, why],
    { cause, details: { remoteAddress } },
  );
}

/**
 * The error a `send` rejects with, and `closed` reports, when this side
 * failed while writing a frame (a record that could not be sealed, a link
 * that threw): a local failure, not the peer's doing.
 */
export function writeFailedError(remoteAddress: string, cause?: unknown): TransportError {
  const why = cause instanceof Error ? ` (${cause.message})` : "";
  return new TransportError(
    TRANSPORT_ERROR_CODES.CONNECTION_RESET,
    ERROR_TEXTS ? `Writing a frame to ${remoteAddress} failed on this side${why}, so the connection was closed: that frame and any not yet written are lost. The peer did nothing wrong; dial again to reconnect, and report the cause if it keeps happening.` : [remoteAddress, why],
    { cause, details: { remoteAddress, local: true } },
  );
}

/** The error `closed` reports when the peer broke the transport's wire rules. */
export function protocolError(remoteAddress: string, what: ErrorText, cause?: unknown): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.PROTOCOL,
    ERROR_TEXTS ? `The peer at ${remoteAddress} broke the transport protocol: ${what}. Its connection is dropped; the peer is buggy or hostile.` : [remoteAddress, what],
    { cause, details: { remoteAddress } },
  );
}

/**
 * The error `closed` reports when the peer sent more than `maxHeldBytes`
 * while this side held its frames (paused) and the socket could not stop
 * reading. `heldBytes` is what was held when the cap was passed, counted as
 * for the cap (each frame's payload and `HELD_FRAME_OVERHEAD`).
 */
export function receiveBufferFullError(remoteAddress: string, maxHeldBytes: number, heldBytes: number): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.RECEIVE_BUFFER_FULL,
    ERROR_TEXTS
      ? `The peer at ${remoteAddress} sent more than maxHeldBytes (${maxHeldBytes} bytes) while this side was paused, and this socket cannot stop reading (a browser's WebSocket): ${heldBytes} bytes were held. The frames held are dropped and so is the connection. ` +
        "A peer that keeps to the flow control never meets it: if this one is honest, pause for less time or raise maxHeldBytes."
      : [remoteAddress, maxHeldBytes, heldBytes],
    { details: { remoteAddress, maxHeldBytes, heldBytes } },
  );
}

/**
 * The error for a connection that broke the `Connection` contract: `call`
 * (`"send"`, `"close"`) threw `cause`, or rejected with it (`send`: untyped;
 * `close`: at all, as its contract says it resolves). Each with its own words.
 * For the layer above a connection it did not make (a node, a secure
 * channel): the transport's doing, not the peer's nor the caller's.
 */
export function contractBrokenError(connection: { readonly transport: string; readonly remoteAddress: string }, call: string, cause: unknown): TransportError {
  const why = described(cause);
  const { transport, remoteAddress } = connection;
  return new TransportError(
    TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN,
    ERROR_TEXTS
      ? call === "close"
        ? `The ${transport} transport's connection to ${remoteAddress} failed in its close (${why}), where its contract says close resolves (it never throws or rejects); the connection was taken as closed all the same. This is a bug in that transport, not the peer's doing: fix it (run @xppg/transport/compliance against it), or report it to its authors with this message.`
        : `The ${transport} transport's connection to ${remoteAddress} failed in its ${call} (${why}) instead of rejecting with a typed xppg error, as its contract says, so the connection was closed: what was being sent on it is lost. This is a bug in that transport, not the peer's doing: fix it (run @xppg/transport/compliance against it), or report it to its authors with this message.`
      : [transport, remoteAddress, call, why],
    { cause, details: { transport, remoteAddress, call } },
  );
}

/**
 * The error for a `sendLent(length)` that had no loan to send: no `lendRoom`
 * before it, a `send`, `sendParts` or `lendRoom` in between that ended the
 * loan, or a `length` past the room lent (or not a whole number). The
 * caller's mistake, not the transport's nor the peer's: what it wrote in the
 * room never left, so the connection closes (the peer would read on past a gap).
 */
export function loanMisusedError(remoteAddress: string, length: number): TransportError {
  return new TransportError(
    TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN,
    ERROR_TEXTS
      ? `sendLent(${length}) on the connection to ${remoteAddress} had no loan to send: lendRoom was not called first, a send, sendParts or lendRoom in between ended the loan, or ${length} is past the room lent. What was written never left, so the connection was closed. This is a bug in the code calling sendLent: call lendRoom right before writing the frame, write at most the room's length, and send nothing else on the connection until sendLent.`
      : [String(length), remoteAddress],
    { details: { remoteAddress, length } },
  );
}

/** What a transport threw, as text: never throws itself (`String` does for a null-prototype object or a throwing `toString`). */
function described(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  try {
    return String(cause);
  } catch {
    return `a value (${typeof cause}) that cannot be shown as text`;
  }
}
