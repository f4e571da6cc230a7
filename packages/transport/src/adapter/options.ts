import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

/**
 * Throws a `RangeError` naming `owner` and `option` unless `value` is a
 * safe integer from `min` to `max`: the check every numeric option of a
 * transport gets.
 */
export function checkInteger(owner: string, option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(ERROR_TEXTS ? `${owner}: ${option} must be an integer from ${min} to ${max}, got ${String(value)}.` : valuesMessage("", [owner, option, min, max, String(value)]));
  }
}
