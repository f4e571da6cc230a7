const TAG = Symbol.for("@xppg/node/ReplyError");

/**
 * Thrown by a request handler (`pg.handle`) to fail the request with a
 * message the asker sees: its `request` rejects with
 * `XPPG_ERR_REQUEST_FAILED` carrying this message (at most 1024
 * characters, made safe to show). Anything else a handler throws fails the
 * request without its message, which may hold what the asker should not
 * see.
 *
 * ```ts
 * // fragment: inside a handler
 * throw new ReplyError("no such item");
 * ```
 */
export class ReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplyError";
    Object.defineProperty(this, TAG, { value: true });
  }
}

/** True for a {@link ReplyError}, from any installed copy of this package. */
export function isReplyError(value: unknown): value is ReplyError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TAG] === true;
}
