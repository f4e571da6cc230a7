/**
 * Checks of what an application passes to the public API. Each failure is
 * `XPPG_ERR_INVALID_ARGUMENT` with a message that names the call and shows
 * the right way to write it: a mistake is never ignored silently.
 */

import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/** The error for a bad argument of `call` (as the user wrote it, e.g. `pg.join(host, port?, options?)`). */
export function invalidArgument(call: string, problem: ErrorText, rightCall?: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.INVALID_ARGUMENT,
    ERROR_TEXTS ? `${call}: ${problem as string}.${rightCall === undefined ? "" : ` Write it as ${rightCall}.`}` : [call, problem],
  );
}

/** How a value looks in an error message: short, never the whole of a large value. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** True for `{ ... }` written as an object literal (or with a null prototype). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is an options object (or undefined) whose keys are all
 * in `known`; a typo such as `{ prot: 7444 }` throws, with the closest known key.
 */
export function checkOptions(value: unknown, known: readonly string[], call: string, where = "options"): Record<string, unknown> {
  const nest = (inner: string): string => (where === "options" ? inner : `{ ${where}: ${inner} }`);
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalidArgument(call, ERROR_TEXTS ? `${where} must be an object, got ${show(value)}` : [where, show(value)], `${call.slice(0, call.indexOf("("))}(..., ${nest(`{ ${known[0]}: ... }`)})`);
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const hint = near === undefined ? "" : ` (did you mean "${near}"?)`;
    throw invalidArgument(call, ERROR_TEXTS ? `${where} has no option "${key}"${hint}; the known ones are ${known.join(", ")}` : [where, key, hint, known.join(", ")], nest(`{ ${near ?? known[0]}: ... }`));
  }
  return value;
}

/** The known key nearest to a misspelt one, if it is near enough to be a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** A string of 1 to `max` characters. */
export function checkString(value: unknown, name: string, call: string, rightCall: string, max = 4096): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw invalidArgument(call, ERROR_TEXTS ? `${name} must be a non-empty string of at most ${max} characters, got ${show(value)}` : [name, max, show(value)], rightCall);
  }
  return value;
}

/** An integer from `min` to `max`. */
export function checkInteger(value: unknown, name: string, call: string, rightCall: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw invalidArgument(call, ERROR_TEXTS ? `${name} must be an integer ${range}, got ${show(value)}` : [name, range, show(value)], rightCall);
  }
  return value;
}

/** A number above zero; `Infinity` only when `infinite` allows it (a limit turned off). */
export function checkPositive(value: unknown, name: string, call: string, rightCall: string, infinite: boolean): number {
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0 || (!infinite && !Number.isFinite(value))) {
    const what = infinite ? "a number above 0 (or Infinity to turn it off)" : "a finite number above 0";
    throw invalidArgument(call, ERROR_TEXTS ? `${name} must be ${what}, got ${show(value)}` : [name, show(value)], rightCall);
  }
  return value;
}

export function checkBoolean(value: unknown, name: string, call: string, rightCall: string): boolean {
  if (typeof value !== "boolean") throw invalidArgument(call, ERROR_TEXTS ? `${name} must be true or false, got ${show(value)}` : [name, show(value)], rightCall);
  return value;
}

export function checkFunction<F>(value: unknown, name: string, call: string, rightCall: string): F {
  if (typeof value !== "function") throw invalidArgument(call, ERROR_TEXTS ? `${name} must be a function, got ${show(value)}` : [name, show(value)], rightCall);
  return value as F;
}

/**
 * How one option is checked, as a row of a table: its type (`limit` is a
 * number above 0 that may be `Infinity`, `number` one that may not), the
 * example value the error message shows (a whole right call when it starts
 * with `{`), and its bounds (the least integer; the most characters or the
 * largest integer).
 */
export type OptionRule = readonly [type: "string" | "integer" | "number" | "limit" | "boolean" | "function", example: string, min?: number, max?: number];

/**
 * Checks the keys of `given` that are set, each by its row of `rules`, in
 * the table's order; `group` is where they sit (`reach` for
 * `reach.maxRelays`). Returns the values checked (the keys left out stay out).
 */
export function checkRules(given: Record<string, unknown>, rules: Readonly<Record<string, OptionRule>>, call: string, group?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in rules) {
    const value = given[key];
    if (value === undefined) continue;
    const [type, example, min = 0, max] = rules[key]!;
    const name = group === undefined ? key : `${group}.${key}`;
    const inner = `{ ${key}: ${example} }`;
    const right = example[0] === "{" ? example : group === undefined ? inner : `{ ${group}: ${inner} }`;
    out[key] =
      type === "string" ? checkString(value, name, call, right, max)
      : type === "integer" ? checkInteger(value, name, call, right, min, max)
      : type === "boolean" ? checkBoolean(value, name, call, right)
      : type === "function" ? checkFunction(value, name, call, right)
      : checkPositive(value, name, call, right, type === "limit");
  }
  return out;
}

/** An `AbortSignal`, or undefined. */
export function checkSignal(value: unknown, call: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgument(call, ERROR_TEXTS ? `signal must be an AbortSignal, got ${show(value)}` : [show(value)], ERROR_TEXTS ? "{ signal: controller.signal } with const controller = new AbortController()" : undefined);
  return value;
}
