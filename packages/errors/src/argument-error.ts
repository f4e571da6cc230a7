import { XPPG_ERROR_CODES } from "./codes.js";
import { XPPG_ERROR_TAG, valuesMessage, type ErrorText } from "./xppg-error.js";

/**
 * A `RangeError` or `TypeError` for a bad argument or option that also
 * carries the code `XPPG_ERR_INVALID_ARGUMENT` and the xppg tag: `code`
 * and {@link isXppgError} recognise it as every other xppg error, and
 * `instanceof RangeError` / `instanceof TypeError`, which callers of the
 * checks that threw plain ones may test, still holds. The message says
 * which option or argument, what it got, and what is allowed.
 */
export function argumentError<E extends RangeError | TypeError>(Kind: new (message: string) => E, message: ErrorText): E & { readonly code: typeof XPPG_ERROR_CODES.INVALID_ARGUMENT } {
  const code = XPPG_ERROR_CODES.INVALID_ARGUMENT;
  const error = new Kind(typeof message === "string" ? message : valuesMessage(code, message));
  return Object.assign(error, { code, details: undefined, [XPPG_ERROR_TAG]: true, toJSON: () => ({ name: error.name, code, message: error.message }) } as const);
}
