/** Argument checks of the QuickChat API: limits, port and the text given to `send`. */

import type { ChatLimits } from "./chat-message.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/**
 * `value`, or `fallback` when it is undefined.
 * @throws `XPPG_ERR_INVALID_ARGUMENT` unless `value` is a positive integer.
 */
export function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `${what} must be a positive integer, got ${String(value)}.`);
  return value;
}

/** @throws `XPPG_ERR_INVALID_ARGUMENT` unless `port` is undefined or an integer from 0 to 65535. */
export function checkPort(port: number | undefined): void {
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `port must be an integer from 0 to 65535 (0 picks any free port), got ${String(port)}.`);
  }
}

/** @throws `XPPG_ERR_INVALID_ARGUMENT` for an empty text, `XPPG_ERR_CHAT_TOO_LONG` past the limit. */
export function checkText(text: string, limits: ChatLimits): void {
  if (typeof text !== "string" || text.trim().length === 0) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `send(text): text must be a non-empty string, got ${typeof text === "string" ? "an empty one" : typeof text}.`);
  }
  if (text.length > limits.maxTextLength) {
    throw new QuickChatError(
      QUICKCHAT_ERROR_CODES.CHAT_TOO_LONG,
      `The message has ${text.length} characters; the limit is ${limits.maxTextLength}. Split it into shorter ones. Nothing was sent.`,
      { details: { length: text.length, maxTextLength: limits.maxTextLength } },
    );
  }
}
