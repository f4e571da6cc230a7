import { XPPG_ERROR_CODES, XppgError, type XppgErrorOptions } from "@xppg/errors";
import { NODE_ERROR_CODES } from "@xppg/node";

/** Stable codes of the errors `@xppg/quickchat` throws or reports. */
export const QUICKCHAT_ERROR_CODES = {
  /** An argument of the wrong type or out of range (an empty name, a bad address). */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** `send` was given a text longer than `maxTextLength`; nothing was sent. */
  CHAT_TOO_LONG: "XPPG_ERR_CHAT_TOO_LONG",
  /** A peer sent a chat message that is not `{ user, text }` within the limits; it was ignored. */
  MALFORMED_CHAT: "XPPG_ERR_MALFORMED_CHAT",
  /** `run()` was called while it was already running. */
  ALREADY_RUNNING: "XPPG_ERR_ALREADY_RUNNING",
  /** The chat was stopped; create a new `QuickChat` to chat again. */
  STOPPED: NODE_ERROR_CODES.STOPPED,
  /**
   * Reported to `onError` when `connect` fails; `cause` is the error `connect`
   * rejected with (`XPPG_ERR_APP_MISMATCH`, a dial error, ...).
   */
  CONNECT_FAILED: "XPPG_ERR_CONNECT_FAILED",
  /** (Reported) the port mapper failed outright; the chat runs without a mapping. */
  PORT_MAPPING_FAILED: NODE_ERROR_CODES.PORT_MAPPING_FAILED,
  /** The key file is in use by another running chat (`start` rejects); give this one another name or key file. */
  KEY_FILE_IN_USE: "XPPG_ERR_KEY_FILE_IN_USE",
  /** (Reported) the default port was taken, so the chat listens on a free port instead; the message names it. */
  PORT_IN_USE: "XPPG_ERR_CHAT_PORT_IN_USE",
  /** An `onMessage` handler, `onError` handler or `run()` command threw; the chat carried on. */
  HANDLER_FAILED: NODE_ERROR_CODES.HANDLER_FAILED,
} as const;

/** One of {@link QUICKCHAT_ERROR_CODES}. */
export type QuickChatErrorCode = (typeof QUICKCHAT_ERROR_CODES)[keyof typeof QUICKCHAT_ERROR_CODES];

/**
 * An error from `@xppg/quickchat`. `code` is one of {@link QUICKCHAT_ERROR_CODES};
 * errors of the underlying Playground keep their own codes (`XPPG_ERR_APP_MISMATCH`, ...).
 */
export class QuickChatError extends XppgError {
  constructor(code: QuickChatErrorCode, message: string, options?: XppgErrorOptions) {
    super(code, message, options, new.target === QuickChatError ? "QuickChatError" : undefined);
  }
}

/** The error of a call on a chat that was stopped. */
export function stoppedError(what: string): QuickChatError {
  return new QuickChatError(QUICKCHAT_ERROR_CODES.STOPPED, `${what}() cannot run: this chat was stopped. Create a new QuickChat.`);
}
