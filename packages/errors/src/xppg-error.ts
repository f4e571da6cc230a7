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
 * A message with its text left out: the values the text would have shown, in
 * its order. A page's production build passes it in place of the text
 * (`ERROR_TEXTS ? \`text\` : [values]`, see the README), and the error's
 * message becomes its code, the values and {@link TEXTS_LEFT_OUT}.
 */
export type ErrorValues = readonly unknown[];

/** An error's message: its full text, or its values with the text left out. */
export type ErrorText = string | ErrorValues;

/** The sentence ending a message whose text a page's production build left out. */
export const TEXTS_LEFT_OUT =
  "a page's production build left this error's text out; a development build shows it, and @xppg/errors/ERRORS.md explains each code";

/**
 * The message of an error whose text was left out: `<code>: <values> — <sentence>`,
 * the values flattened and joined by commas (`<code> — <sentence>` without values).
 * A plain error (`Error`, `RangeError`...) passes `""` as its code: it shows its
 * name before its message already (`RangeError: <values> — <sentence>`).
 * An empty, undefined or null value is not shown, and a value that is itself such
 * a message (another error's, embedded) loses its sentence: it ends the message once.
 */
export function valuesMessage(code: string, values: ErrorValues): string {
  const shown = values
    .flat(4)
    .map((v) => String(v ?? "").split(` — ${TEXTS_LEFT_OUT}`).join("").split(`: ${TEXTS_LEFT_OUT}`).join(""))
    .filter((v) => v && v !== TEXTS_LEFT_OUT)
    .join(", ");
  const head = code && shown ? `${code}: ${shown}` : code || shown;
  return `${head && `${head} — `}${TEXTS_LEFT_OUT}`;
}

/**
 * The base of every error thrown or reported by an xppg package.
 *
 * `code` is stable across releases (`XPPG_ERR_FRAME_TOO_LARGE`, ...): match on
 * it, never on the message. Messages say what happened and what to do next.
 * In place of the text, `message` may be the values it would have shown
 * ({@link ErrorValues}): what a page's production build passes.
 *
 * `name` is the class's name. A page's bundler renames classes when it
 * minifies, so each subclass passes its name as the fourth argument (a string
 * survives minification); without it, `name` is taken from the class itself.
 */
export class XppgError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly [XPPG_ERROR_TAG] = true;

  constructor(code: string, message: ErrorText, options: XppgErrorOptions = {}, name: string = new.target.name) {
    super(typeof message === "string" ? message : valuesMessage(code, message), options.cause === undefined ? undefined : { cause: options.cause });
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
