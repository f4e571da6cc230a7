import { ERROR_TEXTS } from "#texts";
import { XPPG_ERROR_CODES } from "./codes.js";
import { XPPG_ERROR_TAG, XppgError, valuesMessage, type ErrorText } from "./xppg-error.js";

/**
 * A `RangeError` or `TypeError` for a bad argument or option that also
 * carries the code `XPPG_ERR_INVALID_ARGUMENT` and the xppg tag: `code`
 * and {@link isXppgError} recognise it as every other xppg error, and
 * `instanceof RangeError` / `instanceof TypeError`, which callers of the
 * checks that threw plain ones may test, still holds. The message says
 * which option or argument, what it got, and what is allowed.
 */
export function argumentError<E extends RangeError | TypeError>(Kind: new (message: string) => E, message: ErrorText): E & { readonly code: typeof XPPG_ERROR_CODES.INVALID_ARGUMENT } {
  // A Kind made here, so its stack runs from this call down to the caller's code, given the code and the tag an
  // XppgError has (its `details` reads undefined) and XppgError's toJSON (`{ name, code, message }`) as a method, not
  // an enumerable field that logs and spreads would show.
  const code = XPPG_ERROR_CODES.INVALID_ARGUMENT;
  const error = Object.assign(new Kind(typeof message === "string" ? message : valuesMessage(code, message)), { code, [XPPG_ERROR_TAG]: true });
  return Object.defineProperty(error, "toJSON", { value: XppgError.prototype.toJSON });
}

/** What a bad argument's words say: what is allowed (`"a Uint8Array"`), what it got, and whether leaving it out gives the default. */
export type ArgumentWords = readonly [allowed: string, value: unknown, optional?: boolean];

/**
 * The {@link argumentError} of a check: `call` got a bad value for its
 * argument or option `name`. The message names the call and the option, shows
 * what it got (short: a long string cut, an object shown by its kind), what to
 * pass and, for an option, that leaving it out gives the default. A caller
 * passes the words as `ERROR_TEXTS && [allowed, value, optional]`, so that a
 * page's production build carries none: its message is the code, `call` and
 * `name`. `Kind` is the `RangeError` or `TypeError` the check threw before.
 */
export function badArgumentError<E extends RangeError | TypeError>(Kind: new (message: string) => E, call: string, name: string, words: ArgumentWords | false): E & { readonly code: typeof XPPG_ERROR_CODES.INVALID_ARGUMENT } {
  return argumentError(
    Kind,
    ERROR_TEXTS && words ? `${call}: ${name} must be ${words[0]}, got ${shownValue(words[1])}. Pass ${words[0]}${words[2] === true ? `, or leave ${name} out for its default` : ""}.` : [call, name],
  );
}

/** How a bad argument's message shows it: printable and short, never the whole of a large value. */
function shownValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === "object" && value !== null) {
    try {
      return Array.isArray(value) ? "an array" : "an object";
    } catch {
      return "an object"; // a revoked Proxy
    }
  }
  return typeof value === "function" ? "a function" : typeof value === "symbol" ? "a symbol" : typeof value === "bigint" ? `${value}n` : String(value);
}
