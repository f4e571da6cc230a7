/**
 * The tag that marks every xppg error. `Symbol.for` puts it in the global
 * symbol registry, so two installed copies of `@xppg/errors` still recognise
 * each other's errors (an `instanceof` check would not).
 */
export const XPPG_ERROR_TAG: unique symbol = Symbol.for("@xppg/error");

/** Options accepted by every {@link XppgError} constructor. */
export interface XppgErrorOptions {
  /** The lower-level error that led to this one. */
  cause?: unknown;
  /** Machine-readable facts about the failure (limits, sizes, addresses). */
  details?: Record<string, unknown>;
}

/**
 * The base of every error thrown or reported by an xppg package.
 *
 * `code` is stable across releases (`XPPG_ERR_FRAME_TOO_LARGE`, ...): match on
 * it, never on the message. Messages say what happened and what to do next.
 *
 * `name` is the class's name. A page's bundler renames classes when it
 * minifies, so each subclass passes its name as the fourth argument (a string
 * survives minification); without it, `name` is taken from the class itself.
 */
export class XppgError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly [XPPG_ERROR_TAG] = true;

  constructor(code: string, message: string, options: XppgErrorOptions = {}, name: string = new.target.name) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.name = name;
  }

  /** A plain object for logs and for sending a reason over the wire. */
  toJSON(): { name: string; code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True for any xppg error, from any installed copy of the packages.
 * Pass `code` to test for one code in particular.
 */
export function isXppgError(value: unknown, code?: string): value is XppgError {
  if (typeof value !== "object" || value === null) return false;
  if ((value as Record<symbol, unknown>)[XPPG_ERROR_TAG] !== true) return false;
  return code === undefined || (value as XppgError).code === code;
}

/**
 * Wraps anything thrown into an `Error`, so callers can always read
 * `.message`. An `Error` is returned as it is.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : `non-error thrown: ${String(value)}`);
}
