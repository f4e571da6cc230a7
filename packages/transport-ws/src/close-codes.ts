import { ERROR_TEXTS, valuesMessage, type XppgError } from "@xppg/errors";
import { TRANSPORT_ERROR_CODES, TransportError } from "@xppg/transport";
import { connectionResetError, protocolError } from "@xppg/transport/adapter";
import { CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_INVALID_PAYLOAD, CLOSE_MESSAGE_TOO_BIG, CLOSE_NORMAL, CLOSE_NO_STATUS, CLOSE_POLICY_VIOLATION, CLOSE_PROTOCOL_ERROR, CLOSE_UNSUPPORTED_DATA, CLOSE_XPPG_ERROR } from "./constants.js";

// Browser-safe: no node: imports here.

/**
 * The close code and reason Node sends for a local `close(error)`. (Browsers
 * may only send 1000 and 3000-4999: a page always sends
 * {@link CLOSE_XPPG_ERROR} with the error code as the reason.)
 */
export function closeFrameFor(error: XppgError): { code: number; reason: string } {
  if (error.code === TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE) return { code: CLOSE_MESSAGE_TOO_BIG, reason: error.code };
  if (error.code === TRANSPORT_ERROR_CODES.PROTOCOL) return { code: CLOSE_PROTOCOL_ERROR, reason: error.code };
  // The reason of a close frame is at most 123 bytes; codes are short ASCII.
  return { code: CLOSE_XPPG_ERROR, reason: error.code.slice(0, 123) };
}

/**
 * The error `closed` reports when the peer closed with `code`; `undefined`
 * for a clean close (1000, 1001, 1005).
 */
export function errorForCloseCode(code: number, reason: string, remoteAddress: string): XppgError | undefined {
  const details = { remoteAddress, closeCode: code, closeReason: reason };
  switch (code) {
    case CLOSE_NORMAL:
    case CLOSE_GOING_AWAY:
    case CLOSE_NO_STATUS:
      return undefined;
    case CLOSE_MESSAGE_TOO_BIG:
      return new TransportError(
        TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE,
        ERROR_TEXTS ? `The peer at ${remoteAddress} closed the connection because a message was over its size limit (close code 1009). ` +
          "Send smaller frames, or use the same maxFrameSize on both peers." : [remoteAddress],
        { details },
      );
    case CLOSE_PROTOCOL_ERROR:
    case CLOSE_UNSUPPORTED_DATA:
    case CLOSE_INVALID_PAYLOAD:
    case CLOSE_POLICY_VIOLATION:
      return new TransportError(
        TRANSPORT_ERROR_CODES.PROTOCOL,
        ERROR_TEXTS ? `The peer at ${remoteAddress} closed the connection for a protocol violation (close code ${code}${reason ? `: ${reason}` : ""}). ` +
          "Both ends must be xppg WebSocket transports sending binary messages." : [remoteAddress, code, reason ? [reason] : []],
        { details },
      );
    case CLOSE_ABNORMAL:
      return connectionResetError(remoteAddress);
    case CLOSE_XPPG_ERROR:
      // A browser peer cannot send 1009 or 1002: it sends 4000 with the code as the reason.
      if (reason === TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE) return errorForCloseCode(CLOSE_MESSAGE_TOO_BIG, reason, remoteAddress);
      if (reason === TRANSPORT_ERROR_CODES.PROTOCOL) return errorForCloseCode(CLOSE_PROTOCOL_ERROR, reason, remoteAddress);
      return resetWith(code, reason, remoteAddress);
    default:
      return resetWith(code, reason, remoteAddress);
  }
}

function resetWith(code: number, reason: string, remoteAddress: string): XppgError {
  const error = connectionResetError(remoteAddress, new Error(ERROR_TEXTS ? `close code ${code}${reason ? `, reason "${reason}"` : ""}` : valuesMessage("", [code, reason ? [reason] : []])));
  return new TransportError(TRANSPORT_ERROR_CODES.CONNECTION_RESET, error.message, {
    cause: error.cause,
    details: { remoteAddress, closeCode: code, closeReason: reason },
  });
}

/**
 * Node's reading of a close by a page that held more of what this side sent
 * than its `maxHeldBytes` (code 4000, that error code as the reason); `null`
 * for any other close. Node only: a Node peer never sends it, so a page
 * never reads it (and its bundle keeps none of this).
 */
export function peerBufferFullError(code: number, reason: string, remoteAddress: string): XppgError | null {
  if (code !== CLOSE_XPPG_ERROR || reason !== TRANSPORT_ERROR_CODES.RECEIVE_BUFFER_FULL) return null;
  return new TransportError(
    TRANSPORT_ERROR_CODES.RECEIVE_BUFFER_FULL,
    ERROR_TEXTS ? `The peer at ${remoteAddress} closed the connection because it held more of what this side sent than its maxHeldBytes allows while it was paused (close code 4000). ` +
      "Its socket cannot stop reading (a browser page): keep to a window (send only what its reader has acknowledged), or in smaller bursts." : [remoteAddress],
    { details: { remoteAddress, closeCode: code, closeReason: reason } },
  );
}

/** The error for a text message, which carries no xppg frame. */
export function textMessageError(remoteAddress: string): XppgError {
  return protocolError(remoteAddress, ERROR_TEXTS ? "it sent a text WebSocket message; xppg frames travel only as binary messages" : []);
}

/** The error for a received message over `maxFrameSize`. */
export function messageTooLargeError(remoteAddress: string, maxFrameSize: number): XppgError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE,
    ERROR_TEXTS ? `The peer at ${remoteAddress} sent a WebSocket message over maxFrameSize (${maxFrameSize} bytes). ` +
      "It is misbehaving or uses a larger maxFrameSize; the connection is dropped." : [remoteAddress, maxFrameSize],
    { details: { remoteAddress, maxFrameSize } },
  );
}
