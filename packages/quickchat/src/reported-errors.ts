/** The problems a chat reports to `onError`, built from what went wrong: a failed connect, a throwing handler, a malformed message. */

import { isXppgError, toError, type XppgError } from "@xppg/errors";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** Dial failures are wrapped in XPPG_ERR_CONNECT_FAILED; a refusal from the peer is reported as it is. */
const DIAL_ERROR_CODES = new Set(["XPPG_ERR_DIAL_FAILED", "XPPG_ERR_DIAL_TIMEOUT", "XPPG_ERR_BAD_ADDRESS", "XPPG_ERR_ABORTED", "XPPG_ERR_NO_TRANSPORT"]);

/** What a failed `connect(host, port)` reports: the peer's own refusal, else `XPPG_ERR_CONNECT_FAILED` with the cause. */
export function connectError(error: unknown, host: string, port: number | undefined): XppgError {
  // A peer that refused us said why (another room, full, ...): report its words as they are.
  if (isXppgError(error) && !DIAL_ERROR_CODES.has(error.code)) return error;
  const cause = toError(error);
  const code = isXppgError(error) ? error.code : undefined;
  return new QuickChatError(QUICKCHAT_ERROR_CODES.CONNECT_FAILED, `Could not connect to ${port === undefined ? host : `${host} port ${port}`}: ${cause.message}`, {
    cause,
    details: { host, port, causeCode: code },
  });
}

/** What a handler that threw reports: its own error when it is an XppgError, else `XPPG_ERR_HANDLER_FAILED`. */
export function handlerError(error: unknown, where: string): XppgError {
  if (isXppgError(error)) return error;
  const e = toError(error);
  return new QuickChatError(QUICKCHAT_ERROR_CODES.HANDLER_FAILED, `${where} threw: ${e.message}. The chat carries on; fix the handler.`, { cause: e });
}

/** What a message a peer sent that failed its checks reports: `XPPG_ERR_MALFORMED_CHAT`, the message ignored. */
export function malformedError(peerId: string, kind: string, reason: string): QuickChatError {
  return new QuickChatError(QUICKCHAT_ERROR_CODES.MALFORMED_CHAT, `Ignored a "${kind}" message from peer ${peerId}: ${reason}.`, { details: { peerId, kind, reason } });
}
