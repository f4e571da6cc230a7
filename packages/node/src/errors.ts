import { ERROR_TEXTS, XPPG_ERROR_CODES, XppgError, isXppgError, type XppgErrorOptions, type ErrorText } from "@xppg/errors";
import { SECURE_ERROR_CODES } from "@xppg/secure";
import { TRANSPORT_ERROR_CODES } from "@xppg/transport";

/** Stable codes of the errors `@xppg/node` reports. */
export const NODE_ERROR_CODES = {
  /** A method needs a started node: `await pg.start()` first. */
  NOT_STARTED: "XPPG_ERR_NOT_STARTED",
  /** `start()` was called on a node already started (or stopped): create a new `Playground` to start again. */
  ALREADY_STARTED: "XPPG_ERR_ALREADY_STARTED",
  /** This node was stopped (`pg.stop()`) while the operation ran, or before it was called. */
  STOPPED: "XPPG_ERR_STOPPED",
  /**
   * A send to a neighbour whose connection had closed (the peer left, was dropped or disconnected) while the send
   * waited, or before it was made: the message may not have reached it (the same code as `@xppg/transport`'s).
   */
  CONNECTION_CLOSED: TRANSPORT_ERROR_CODES.CONNECTION_CLOSED,
  /** The peer did not finish the handshake in time. */
  HANDSHAKE_TIMEOUT: XPPG_ERROR_CODES.HANDSHAKE_TIMEOUT,
  /** The peer runs another app (another `appName`). */
  APP_MISMATCH: "XPPG_ERR_APP_MISMATCH",
  /** The peer speaks a protocol version this node cannot. */
  PROTOCOL_MISMATCH: "XPPG_ERR_PROTOCOL_MISMATCH",
  /** The two nodes' clocks differ by more than `limits.broadcastMaxAgeMs`: their signed broadcasts and state would be refused. */
  CLOCK_SKEW: "XPPG_ERR_CLOCK_SKEW",
  /** The peer broke the protocol (bad first frame, bad control message, forged source). */
  PROTOCOL_VIOLATION: "XPPG_ERR_PROTOCOL_VIOLATION",
  /**
   * `join` named a `peerId` and another peer answered. Encrypted, `@xppg/secure`
   * reports it (the key proved another id); without encryption the node does
   * (the hello claims another id). The same code either way.
   */
  PEER_ID_MISMATCH: SECURE_ERROR_CODES.PEER_ID_MISMATCH,
  /** The peer is this node itself. */
  SELF_CONNECTION: "XPPG_ERR_SELF_CONNECTION",
  /** The other side already has as many peers as it accepts. */
  TOO_MANY_PEERS: "XPPG_ERR_TOO_MANY_PEERS",
  /** The peer sent messages faster than the rate limit (or, over an end-to-end channel, more than this node holds while its reading is paused: `limits.routedInboxBytes`, `limits.routedInboxTotalBytes`; reported as an `error` event naming the peer). */
  RATE_LIMITED: "XPPG_ERR_RATE_LIMITED",
  /** The peer does not read what is sent to it; too much waits for it. */
  SLOW_PEER: "XPPG_ERR_SLOW_PEER",
  /** The peer went silent for longer than the idle timeout. */
  PEER_TIMEOUT: "XPPG_ERR_PEER_TIMEOUT",
  /** A second connection to a peer already connected; the other one is kept. */
  DUPLICATE_CONNECTION: "XPPG_ERR_DUPLICATE_CONNECTION",
  /** `pg.findPeer(peerId)` found no DHT record of the peer, or none of its addresses reached it. */
  PEER_NOT_FOUND: "XPPG_ERR_PEER_NOT_FOUND",
  /** The connection ended without a goodbye: the peer's process ended or the network dropped. */
  PEER_GONE: "XPPG_ERR_PEER_GONE",
  /** This node or the peer dropped the connection on purpose (`disconnect`). */
  DISCONNECTED: "XPPG_ERR_DISCONNECTED",
  /** The port mapper failed (threw); the node runs without a mapped port. */
  PORT_MAPPING_FAILED: "XPPG_ERR_PORT_MAPPING_FAILED",
  /** The other side is shutting down. */
  PEER_SHUTDOWN: "XPPG_ERR_PEER_SHUTDOWN",
  /** The peer id or host is banned (by `ban`, or after repeated violations). */
  BANNED: "XPPG_ERR_BANNED",
  /** The peer id is not on the allow-list. */
  NOT_ALLOWED: "XPPG_ERR_NOT_ALLOWED",
  /** A broadcast whose origin signature is missing or wrong (dropped and counted). */
  BAD_SIGNATURE: "XPPG_ERR_BAD_SIGNATURE",
  /** `send` named a peer id that is not connected. */
  UNKNOWN_PEER: "XPPG_ERR_UNKNOWN_PEER",
  /** A message kind reserved for xppg itself. */
  RESERVED_KIND: "XPPG_ERR_RESERVED_KIND",
  /** An argument of the wrong type or out of range. */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** A file transfer failed (read error, checksum mismatch, peer left, refused). */
  FILE_TRANSFER_FAILED: "XPPG_ERR_FILE_TRANSFER_FAILED",
  /** An operation did not get its answer in time. */
  TIMEOUT: "XPPG_ERR_TIMEOUT",
  /** A message handler or event listener threw; the node carried on. */
  HANDLER_FAILED: "XPPG_ERR_HANDLER_FAILED",
  /** The caller's `AbortSignal` aborted the call (`start`, `join`, `requestState`, `shareFile`). */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
  /** No transport of this node can dial the address. */
  NO_TRANSPORT: "XPPG_ERR_NO_TRANSPORT",
  /** This node failed in its own code (a bug); the peer is not blamed. */
  INTERNAL: "XPPG_ERR_INTERNAL",
  /** No way to the peer: not a neighbour and no route through the mesh, or its end of a routed channel did not answer. */
  UNREACHABLE: "XPPG_ERR_UNREACHABLE",
  /** `request` reached the peer, which has no handler for that kind (`pg.handle`). */
  NO_HANDLER: "XPPG_ERR_NO_HANDLER",
  /** `request`: the peer's handler threw; its message is passed on only when it threw a `ReplyError`. */
  REQUEST_FAILED: "XPPG_ERR_REQUEST_FAILED",
  /** `request`: too many requests wait for answers (this node's limits, or the peer's for requests it serves). */
  TOO_MANY_REQUESTS: "XPPG_ERR_TOO_MANY_REQUESTS",
  /** A browser page cannot do this (listen, files, key files, port mapping, LAN discovery); in development builds the message says what to do instead. */
  NOT_IN_BROWSER: "XPPG_ERR_NOT_IN_BROWSER",
  /** A browser page could not download a part of its code it loads on first use (`import()` failed); it tries again. */
  CODE_NOT_LOADED: "XPPG_ERR_CODE_NOT_LOADED",
} as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[keyof typeof NODE_ERROR_CODES];

/** An error from `@xppg/node`; `code` is one of {@link NODE_ERROR_CODES}. */
export class PlaygroundError extends XppgError {
  constructor(code: NodeErrorCode, message: ErrorText, options?: XppgErrorOptions) {
    super(code, message, options, new.target === PlaygroundError ? "PlaygroundError" : undefined);
  }
}

/**
 * Why a peer closed the connection, in its own words: its goodbye's `code`
 * and reason. The code is the remote peer's choice, so it may be one this
 * version does not know (a newer peer's, or made up): compare it with
 * {@link NODE_ERROR_CODES}, never assume it is one. `remote` is always true.
 */
export class RemotePeerError extends XppgError {
  /** Always true: the other side chose this code. */
  readonly remote = true;

  constructor(code: string, message: ErrorText, options?: XppgErrorOptions) {
    // `details.remote` as well, for code that reads the plain JSON form.
    super(code, message, { ...options, details: { ...options?.details, remote: true } }, new.target === RemotePeerError ? "RemotePeerError" : undefined);
  }
}

/** True for an error whose code the remote peer chose (its goodbye). */
export function isRemotePeerError(error: unknown): error is RemotePeerError {
  return isXppgError(error) && error.details?.remote === true;
}

/**
 * The error for a peer over one of its rate limits: `what` is counted per
 * second (`"messages"`, `"bytes"`, `"signed broadcasts"`), `option` the
 * limit to raise if the traffic is expected.
 */
export function rateLimitedError(peer: string, what: string, rate: number, burst: number, option: string, extraAdvice = ""): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.RATE_LIMITED,
    ERROR_TEXTS ? `The peer ${peer} sent more than ${rate} ${what} a second (burst ${burst}); it is disconnected. ` +
      `Raise limits.${option} if this traffic is expected${extraAdvice}.` : [peer, rate, what, burst, option, extraAdvice],
    { details: { limit: option, rate, burst } },
  );
}

/**
 * The error for a failure in this node's own code while `doing` something
 * for a peer: reported, never counted against the peer (it is no strike).
 */
export function internalError(doing: ErrorText, cause: unknown): PlaygroundError {
  const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new PlaygroundError(
    NODE_ERROR_CODES.INTERNAL,
    ERROR_TEXTS ? `This node failed while ${doing} (${message}). This is a bug in xppg, not the peer's doing; please report it with this message.` : [doing, message],
    { cause },
  );
}
