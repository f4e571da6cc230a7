/** The handlers a chat's user registers (`quick-chat.ts`): messages from other peers, and problems that did not stop the chat. */

import type { XppgError } from "@xppg/errors";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";
import type { ChatErrorHandler, ChatMessageHandler, ChatMessageInfo } from "./options.js";
import { handlerError } from "./reported-errors.js";

/** The message and error handlers of one chat: each is called in turn; one that throws (or rejects) is reported, and the others still run. */
export class ChatHandlers {
  readonly #messageHandlers = new Set<ChatMessageHandler>();
  readonly #errorHandlers = new Set<ChatErrorHandler>();

  /** Adds a message handler (`QuickChat.onMessage`); returns a function that removes it. */
  onMessage(handler: ChatMessageHandler): () => void {
    if (typeof handler !== "function") throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "onMessage(handler): handler must be a function (user, text) => void.");
    this.#messageHandlers.add(handler);
    return () => {
      this.#messageHandlers.delete(handler);
    };
  }

  /** Adds an error handler (`QuickChat.onError`); returns a function that removes it. */
  onError(handler: ChatErrorHandler): () => void {
    if (typeof handler !== "function") throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "onError(handler): handler must be a function (error, peerId) => void.");
    this.#errorHandlers.add(handler);
    return () => {
      this.#errorHandlers.delete(handler);
    };
  }

  /** A message from `src`, parsed and checked, to every message handler; one that throws or rejects is reported. */
  message(src: string, kind: ChatMessageInfo["kind"], user: string, text: string): void {
    for (const handler of [...this.#messageHandlers]) {
      try {
        const result = handler(user, text, { peerId: src, kind });
        if (result !== undefined && typeof result.then === "function") {
          result.catch((error: unknown) => this.report(handlerError(error, "an onMessage handler"), src));
        }
      } catch (error) {
        this.report(handlerError(error, "an onMessage handler"), src);
      }
    }
  }

  /** A problem that did not stop the chat, to every error handler. */
  report(error: XppgError, peerId: string | undefined): void {
    for (const handler of [...this.#errorHandlers]) {
      try {
        handler(error, peerId);
      } catch {
        // An error handler that throws has nowhere left to report to.
      }
    }
  }
}
