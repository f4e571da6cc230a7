/** The errors a peer session ends with, worded for the user who meets them (`peer-session.ts`). */

import { NODE_ERROR_CODES, PlaygroundError, RemotePeerError } from "./errors.js";
import { parseBye } from "./protocol.js";

/** The peer did not finish both handshakes in time. */
export function handshakeTimeoutError(address: string, timeoutMs: number): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.HANDSHAKE_TIMEOUT,
    `The peer at ${address} did not complete the handshake within ${timeoutMs} ms. Check that it runs an xppg node on that address and port.`,
    { details: { address, timeoutMs } },
  );
}

/** A send on a session that has ended. */
export function sessionClosedError(who: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.STOPPED, `The connection to ${who} is closed; nothing more can be sent on it.`);
}

/** The peer does not read what it is sent. */
export function slowPeerError(who: string, reason: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.SLOW_PEER, `The peer ${who} is not reading: ${reason}. It is disconnected; await each send so that a slow peer slows you down instead.`);
}

/** The peer broke the protocol (`what` it did). */
export function sessionViolation(who: string, what: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${who} broke the xppg protocol: ${what}. It is disconnected.`);
}

/** The connection closed before the handshake finished, without a reason from either side. */
export function closedInHandshakeError(address: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.PROTOCOL_VIOLATION,
    `The connection to ${address} closed before the handshake finished. Check that an xppg node of the same app listens there.`,
  );
}

/** An open connection closed without a goodbye; `unread`: the peer connected again before its last messages on it were read here (they were dropped). */
export function peerGoneError(peerId: string, unread = false): PlaygroundError {
  const dropped = unread ? " It connected again before its last messages on that connection were read here: those were dropped." : "";
  return new PlaygroundError(NODE_ERROR_CODES.PEER_GONE, `The connection to ${peerId} closed without a goodbye: its process ended or the network dropped.${dropped} Join it again when it is back.`);
}

/** The peer's goodbye (`xppg/bye`): its code is the peer's choice, a RemotePeerError never taken for one of this node's own. */
export function byeError(payload: unknown): RemotePeerError {
  const bye = parseBye(payload);
  return new RemotePeerError(
    bye?.code ?? NODE_ERROR_CODES.PROTOCOL_VIOLATION,
    bye === null ? "The peer closed the connection with a malformed reason." : `The peer closed the connection: ${bye.reason}`,
  );
}
