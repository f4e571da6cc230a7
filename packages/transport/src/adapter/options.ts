import { ERROR_TEXTS, badArgumentError } from "@xppg/errors";

/**
 * Throws a `RangeError` with the code `XPPG_ERR_INVALID_ARGUMENT` naming
 * `owner` and `option` unless `value` is a safe integer from `min` to `max`:
 * the check every numeric option of a transport gets. Its message is built
 * here once, from the option's name, what it got and the range.
 */
export function checkInteger(owner: string, option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw badArgumentError(RangeError, owner, option, ERROR_TEXTS && [`an integer ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}`, value, true]);
  }
}
