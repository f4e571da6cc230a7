import { ERROR_TEXTS, XPPG_ERROR_CODES, XppgError, isXppgError, type XppgErrorOptions, type ErrorText } from "@xppg/errors";
import { TRANSPORT_ERROR_CODES, TransportError, type CloseInfo } from "@xppg/transport";

/** Stable codes of the errors `@xppg/secure` throws or reports. */
export const SECURE_ERROR_CODES = {
  /** The Noise handshake failed: a malformed or forged message, a bad identity proof, or the link closed mid-way. */
  HANDSHAKE_FAILED: "XPPG_ERR_HANDSHAKE_FAILED",
  /** The handshake did not finish within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: XPPG_ERROR_CODES.HANDSHAKE_TIMEOUT,
  /** The handshake's `AbortSignal` fired (the transports' code for an aborted call). */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
  /** A record failed authentication: it was tampered with, replayed, reordered or dropped, or the link corrupts data. */
  DECRYPT_FAILED: "XPPG_ERR_DECRYPT_FAILED",
  /** The link closed cleanly without the peer's authenticated end of stream: the tail of the data may have been cut off. */
  STREAM_TRUNCATED: "XPPG_ERR_STREAM_TRUNCATED",
  /** The peer proved an identity other than the `expectedPeerId` that was dialled. */
  PEER_ID_MISMATCH: "XPPG_ERR_PEER_ID_MISMATCH",
  /** A peer id string that is not a well-formed `xp1...` id. */
  INVALID_PEER_ID: "XPPG_ERR_INVALID_PEER_ID",
  /** A key (secret key, public key, signature) of the wrong type or size. */
  INVALID_KEY: "XPPG_ERR_INVALID_KEY",
  /** The code reading this connection threw from its frame handler (a bug on this side, not the peer's doing). */
  FRAME_HANDLER_FAILED: "XPPG_ERR_FRAME_HANDLER_FAILED",
  /** A key file that cannot be read, written, parsed, or that has unsafe permissions. */
  KEY_FILE: "XPPG_ERR_KEY_FILE",
  /** The page's identity store (IndexedDB) cannot be opened, read or written, or holds a record this version cannot read. */
  IDENTITY_STORE: "XPPG_ERR_IDENTITY_STORE",
  /** (browser) An identity made on WebCrypto was asked to sign synchronously: it signs with `signAsync`. */
  SIGNS_ASYNC: "XPPG_ERR_SIGNS_ASYNC",
  /** A connection's key sealed as much as it may (an AES-GCM key's byte budget, or its nonces): it is closed; open a new one. */
  KEY_EXHAUSTED: "XPPG_ERR_KEY_EXHAUSTED",
} as const;

/** One of the {@link SECURE_ERROR_CODES}. */
export type SecureErrorCode = (typeof SECURE_ERROR_CODES)[keyof typeof SECURE_ERROR_CODES];

/** Any error from `@xppg/secure`; `code` is one of {@link SECURE_ERROR_CODES}. */
export class SecureError extends XppgError {
  constructor(code: SecureErrorCode, message: ErrorText, options?: XppgErrorOptions) {
    super(code, message, options, new.target === SecureError ? "SecureError" : undefined);
  }
}

const CODES = SECURE_ERROR_CODES;

/** The handshake failed for `why`; the connection is closed. */
export function handshakeFailedError(remoteAddress: string, why: ErrorText, cause?: unknown): SecureError {
  return new SecureError(
    CODES.HANDSHAKE_FAILED,
    ERROR_TEXTS ? `The secure handshake with ${remoteAddress} failed: ${why}. The connection was closed; the peer is not running xppg secure, is buggy or hostile, or the link broke. Dial again to retry.` : [remoteAddress, why],
    { cause, details: { remoteAddress } },
  );
}

/** The handshake took longer than `timeoutMs`. */
export function handshakeTimeoutError(remoteAddress: string, timeoutMs: number): SecureError {
  return new SecureError(
    CODES.HANDSHAKE_TIMEOUT,
    ERROR_TEXTS ? `The secure handshake with ${remoteAddress} did not finish within ${timeoutMs} ms and was given up; the connection was closed. The peer may not speak xppg secure, or the link is very slow (raise handshakeTimeoutMs).` : [remoteAddress, timeoutMs],
    { details: { remoteAddress, timeoutMs } },
  );
}

/** The handshake was aborted by its `AbortSignal`. */
export function handshakeAbortedError(remoteAddress: string, reason?: unknown): SecureError {
  return new SecureError(
    CODES.ABORTED,
    ERROR_TEXTS ? `The secure handshake with ${remoteAddress} was aborted by its AbortSignal; the connection was closed.` : [remoteAddress],
    { cause: reason, details: { remoteAddress } },
  );
}

/** A record did not authenticate. */
export function decryptFailedError(remoteAddress: string, recordIndex: number, why: ErrorText = "it failed authentication"): SecureError {
  return new SecureError(
    CODES.DECRYPT_FAILED,
    ERROR_TEXTS ? `Encrypted record #${recordIndex} from ${remoteAddress} was rejected: ${why}. Someone on the path tampered with, replayed, reordered or dropped data, or the link corrupts it. The connection was closed; dial again.` : [recordIndex, remoteAddress, why],
    { details: { remoteAddress, recordIndex } },
  );
}

/** The peer's identity is not the one that was expected. */
export function peerIdMismatchError(expected: string, actual: string, remoteAddress: string): SecureError {
  return new SecureError(
    CODES.PEER_ID_MISMATCH,
    ERROR_TEXTS ? `The peer at ${remoteAddress} proved the identity ${actual}, but ${expected} was expected. This is either a different node at that address or a man in the middle; the connection was closed. Check the address and the peer id you dial.` : [remoteAddress, actual, expected],
    { details: { expected, actual, remoteAddress } },
  );
}

/** A peer id that cannot be read. */
export function invalidPeerIdError(value: unknown, why: string): SecureError {
  const shown = typeof value === "string" ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value) : typeof value;
  return new SecureError(
    CODES.INVALID_PEER_ID,
    ERROR_TEXTS ? `${shown} is not a valid peer id: ${why}. A peer id is "xp1" followed by 52 lowercase base32 characters (a-z, 2-7); copy it again from the peer.` : [shown, why],
    { details: { why } },
  );
}

/** A key of the wrong size or type. */
export function invalidKeyError(what: string, expected: ErrorText): SecureError {
  return new SecureError(CODES.INVALID_KEY, ERROR_TEXTS ? `The ${what} is not valid: expected ${expected}. Pass the bytes exactly as exported.` : [what, expected], {
    details: { what },
  });
}

/** The link closed without the authenticated end-of-stream record. */
export function streamTruncatedError(remoteAddress: string, partialBytes: number): SecureError {
  return new SecureError(
    CODES.STREAM_TRUNCATED,
    ERROR_TEXTS ? `The connection to ${remoteAddress} ended without the peer's authenticated end of stream${partialBytes > 0 ? ` (in the middle of a frame, ${partialBytes} bytes of it received)` : ""}: the peer crashed, or someone on the path cut the data short. Frames received so far are genuine; later ones may be lost. Dial again.` : [remoteAddress, partialBytes > 0 ? [partialBytes] : []],
    { details: { remoteAddress, partialBytes } },
  );
}

/**
 * What a record layer's `closed` reports when the link below closed: a fault wins, the peer's (a record that
 * failed authentication) or, with `faultBy` "local", this side's own (a record it could not seal or open); a
 * peer that closed without its authenticated end of stream (`cleanEnd` false) cut the stream short; otherwise
 * the link's own word.
 */
export function linkCloseVerdict(
  info: CloseInfo,
  cleanEnd: boolean,
  bufferedBytes: number,
  remoteAddress: string,
  fault: XppgError | undefined,
  faultBy: "local" | "remote" = "remote",
): CloseInfo {
  if (fault !== undefined) return { initiator: faultBy, error: fault };
  if (info.initiator === "remote" && info.error === undefined && !cleanEnd) return { initiator: "remote", error: streamTruncatedError(remoteAddress, bufferedBytes) };
  return info;
}

/**
 * A send after this side's `closeWrite()`: its sending is over, its reading
 * goes on (the connection is not closed). The transports' code for a closed
 * connection, in words of its own.
 */
export function sendEndedError(remoteAddress: string): TransportError {
  return new TransportError(
    TRANSPORT_ERROR_CODES.CONNECTION_CLOSED,
    ERROR_TEXTS ? `This side ended its sending to ${remoteAddress} with closeWrite(); it still reads what the peer sends. Open a new connection to send more.` : [remoteAddress],
  );
}

/** `what` (a transport-only `CipherState` method, a page's record layer) was given a state without a key. */
export function noKeyError(what: string): SecureError {
  return new SecureError(
    CODES.INVALID_KEY,
    ERROR_TEXTS ? `${what} needs a key: it is for transport messages, after the handshake's split (or initializeKey); during a handshake use encryptWithAd or decryptWithAd.` : [what],
  );
}

/** This side's identity could not sign its handshake key (`cause`): no handshake message was sent. */
export function identitySignError(cause: unknown): SecureError {
  return new SecureError(
    CODES.INVALID_KEY,
    ERROR_TEXTS ? "This side's identity could not sign its handshake key (see cause), so the connection was closed before the handshake. Check the identity given to secureConnection." : [],
    { cause },
  );
}

/** A connection's sending key has sealed as much as it may (its byte budget or its nonces). */
export function keyExhaustedError(): SecureError {
  return new SecureError(CODES.KEY_EXHAUSTED, ERROR_TEXTS ? "This connection's key is used up, so it is closed: open a new connection." : []);
}

/**
 * What a record layer closes with when handing decrypted bytes up threw: the
 * frame decoder's own typed error (the peer's oversized frame) as it is,
 * anything else as the frame sink's bug.
 */
export function frameHandlerError(err: unknown): XppgError {
  return isXppgError(err)
    ? err
    : new SecureError(SECURE_ERROR_CODES.FRAME_HANDLER_FAILED, ERROR_TEXTS ? `A frame handler failed: ${String((err as Error)?.message ?? err)}. This is a bug in the code reading this connection.` : [String((err as Error)?.message ?? err)], { cause: err });
}
