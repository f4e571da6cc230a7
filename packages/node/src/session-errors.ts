/** The errors a peer session ends with, worded for the user who meets them (`peer-session.ts`). */

import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/** The peer did not finish both handshakes in time. */
export function handshakeTimeoutError(address: string, timeoutMs: number): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.HANDSHAKE_TIMEOUT,
    ERROR_TEXTS ? `The peer at ${address} did not complete the handshake within ${timeoutMs} ms. Check that it runs an xppg node on that address and port.` : [address, timeoutMs],
    { details: { address, timeoutMs } },
  );
}

/**
 * A send on a session that has ended: `XPPG_ERR_CONNECTION_CLOSED`, or, when
 * it ended because this node stops (`stopping`), `XPPG_ERR_STOPPED`, the
 * code a user checks to know that it was their own `stop()`.
 */
export function sessionClosedError(who: string, stopping: boolean): PlaygroundError {
  if (stopping) return new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? `This node was stopped, so its connection to ${who} is closed; the message may not have reached it.` : [who]);
  return new PlaygroundError(
    NODE_ERROR_CODES.CONNECTION_CLOSED,
    ERROR_TEXTS ? `The connection to ${who} is closed (the peer left or was dropped); the message may not have reached it. Send again once the peer is back (peer:joined).` : [who],
  );
}

/** A second connection to a peer already connected closed while the two were being decided (`join()` rejects with it): nothing was sent on it. */
export function standbyClosedError(who: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.CONNECTION_CLOSED,
    ERROR_TEXTS ? `The second connection to ${who} closed before the peer chose one of the two; nothing was sent on it. Join again.` : [who],
  );
}

/** The peer does not read what it is sent. */
export function slowPeerError(who: string, reason: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.SLOW_PEER, ERROR_TEXTS ? `The peer ${who} is not reading: ${reason}. It is disconnected; await each send so that a slow peer slows you down instead.` : [who, reason]);
}

/** The peer broke the protocol (`what` it did). */
export function sessionViolation(who: string, what: ErrorText): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${who} broke the xppg protocol: ${what}. It is disconnected.` : [who, what]);
}

/** The connection closed before the handshake finished, without a reason from either side. */
export function closedInHandshakeError(address: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.PROTOCOL_VIOLATION,
    ERROR_TEXTS ? `The connection to ${address} closed before the handshake finished. Check that an xppg node of the same app listens there.` : [address],
  );
}

/** An open connection closed without a goodbye. */
export function peerGoneError(peerId: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PEER_GONE, ERROR_TEXTS ? `The connection to ${peerId} closed without a goodbye: its process ended or the network dropped. Join it again when it is back.` : [peerId]);
}
