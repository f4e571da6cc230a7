/**
 * The dispatcher: the application's handlers by message kind. A handler that
 * throws or rejects is reported, never propagated into the peer's session.
 */

import { ERROR_TEXTS, isXppgError, toError, type ErrorText, type XppgError } from "@xppg/errors";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { removedOnAbort } from "./removed-on-abort.js";

/**
 * Handles one kind of message. `src` is the sender's peer id. The payload is
 * whatever the peer sent: check its shape before you use it (`P` is what you
 * expect, not what the network guarantees; the default `unknown` makes you
 * check). A handler that throws (or rejects) is reported on `events` as an
 * error; the peer stays.
 */
export type MessageHandler<P = unknown> = (src: string, kind: string, payload: P) => void | Promise<void>;

export class Dispatcher {
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #report: (error: XppgError, peerId: string | undefined) => void;
  readonly #unhandled: (src: string, kind: string) => void;
  /** The kind last dispatched that has a set of handlers, and that set. */
  #lastKind: string | undefined;
  #lastSet: Set<MessageHandler> | undefined;

  constructor(report: (error: XppgError, peerId: string | undefined) => void, unhandled: (src: string, kind: string) => void) {
    this.#report = report;
    this.#unhandled = unhandled;
  }

  /** Adds a handler; returns the function that removes it. An aborted `signal` removes it too. */
  add(kind: string, handler: MessageHandler, signal: AbortSignal | undefined): () => void {
    let set = this.#handlers.get(kind);
    if (set === undefined) this.#handlers.set(kind, (set = new Set()));
    set.add(handler);
    return removedOnAbort(() => set.delete(handler), signal);
  }

  /** Calls every handler of `kind`; with none, reports the message as unhandled. */
  dispatch(src: string, kind: string, payload: unknown): void {
    // A stream of messages mostly repeats its kind (an interned string: one comparison); a kind's set, once made, stays its set.
    let set = this.#lastSet;
    if (kind !== this.#lastKind) {
      set = this.#handlers.get(kind);
      if (set !== undefined) {
        this.#lastKind = kind;
        this.#lastSet = set;
      }
    }
    if (set === undefined || set.size === 0) {
      this.#unhandled(src, kind);
      return;
    }
    for (const handler of set) {
      try {
        const result = handler(src, kind, payload);
        if (result !== undefined && typeof result.then === "function") {
          result.catch((error: unknown) => this.#report(asHandlerError(error, ERROR_TEXTS ? `the "${kind}" handler` : [kind]), src));
        }
      } catch (error) {
        this.#report(asHandlerError(error, ERROR_TEXTS ? `the "${kind}" handler` : [kind]), src);
      }
    }
  }
}

/** A thrown value as an xppg error: itself when it is one, else `XPPG_ERR_HANDLER_FAILED` naming `where`. */
export function asHandlerError(error: unknown, where: ErrorText): XppgError {
  if (isXppgError(error)) return error;
  const e = toError(error);
  return new PlaygroundError(NODE_ERROR_CODES.HANDLER_FAILED, ERROR_TEXTS ? `${where} threw: ${e.message}. The node carries on; fix the handler.` : [where, e.message], { cause: e });
}
