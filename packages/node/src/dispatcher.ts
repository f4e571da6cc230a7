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

/**
 * A kind's handlers, each with whether it borrows its payload (see
 * `HandlerOptions.borrow`), and whether they all do.
 */
interface KindHandlers {
  readonly handlers: Map<MessageHandler, boolean>;
  /** True while every handler of the kind borrows (and with none). */
  borrows: boolean;
}

export class Dispatcher {
  readonly #handlers = new Map<string, KindHandlers>();
  readonly #report: (error: XppgError, peerId: string | undefined) => void;
  readonly #unhandled: (src: string, kind: string) => void;
  /** The kind last dispatched that has handlers, and its entry. */
  #lastKind: string | undefined;
  #lastEntry: KindHandlers | undefined;
  /** Moves on at every handler added or removed: a dispatch during which it moved lent its payload to a set that changed. */
  #changes = 0;

  constructor(report: (error: XppgError, peerId: string | undefined) => void, unhandled: (src: string, kind: string) => void) {
    this.#report = report;
    this.#unhandled = unhandled;
  }

  /**
   * Adds a handler; returns the function that removes it. An aborted
   * `signal` removes it too. `borrow`: the handler keeps no reference to
   * the payload's bytes after it returns (see `HandlerOptions.borrow`). The
   * same function added twice is one handler, which borrows only if every
   * adding said so.
   */
  add(kind: string, handler: MessageHandler, signal: AbortSignal | undefined, borrow = false): () => void {
    let entry = this.#handlers.get(kind);
    if (entry === undefined) this.#handlers.set(kind, (entry = { handlers: new Map(), borrows: true }));
    const handlers = entry.handlers;
    handlers.set(handler, borrow && handlers.get(handler) !== false);
    this.#changed(entry);
    return removedOnAbort(() => {
      if (handlers.delete(handler)) this.#changed(entry);
    }, signal);
  }

  /** A kind's handlers changed: whether they all borrow is worked out again (rarely: not per message). */
  #changed(entry: KindHandlers): void {
    this.#changes++;
    let borrows = true;
    for (const borrowing of entry.handlers.values()) borrows &&= borrowing;
    entry.borrows = borrows;
  }

  /**
   * Calls every handler of `kind`; with none, reports the message as
   * unhandled (with no payload). True when nothing can have kept the
   * payload: there was no handler, or every handler borrows, none threw,
   * and none was added or removed while they ran. The caller may then reuse the memory
   * of the payload's bytes (it still may not before this returns).
   */
  dispatch(src: string, kind: string, payload: unknown): boolean {
    // A stream of messages mostly repeats its kind (an interned string: one comparison); a kind's entry, once made, stays its entry.
    let entry = this.#lastEntry;
    if (kind !== this.#lastKind) {
      entry = this.#handlers.get(kind);
      if (entry !== undefined) {
        this.#lastKind = kind;
        this.#lastEntry = entry;
      }
    }
    if (entry === undefined || entry.handlers.size === 0) {
      this.#unhandled(src, kind);
      return true;
    }
    const changes = this.#changes;
    let threw = false;
    for (const handler of entry.handlers.keys()) {
      try {
        const result = handler(src, kind, payload);
        if (result !== undefined && typeof result.then === "function") {
          result.catch((error: unknown) => this.#report(asHandlerError(error, ERROR_TEXTS ? `the "${kind}" handler` : [kind]), src));
        }
      } catch (error) {
        // What it threw outlives the handler (the report's `cause`, kept by an error listener) and may view the payload.
        threw = true;
        this.#report(asHandlerError(error, ERROR_TEXTS ? `the "${kind}" handler` : [kind]), src);
      }
    }
    // Read after the handlers ran: one of them may have added a handler that keeps (counted in #changes too).
    return entry.borrows && changes === this.#changes && !threw;
  }
}

/** A thrown value as an xppg error: itself when it is one, else `XPPG_ERR_HANDLER_FAILED` naming `where`. */
export function asHandlerError(error: unknown, where: ErrorText): XppgError {
  if (isXppgError(error)) return error;
  const e = toError(error);
  return new PlaygroundError(NODE_ERROR_CODES.HANDLER_FAILED, ERROR_TEXTS ? `${where} threw: ${e.message}. The node carries on; fix the handler.` : [where, e.message], { cause: e });
}
