import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/**
 * What a {@link SharedState} holds under a key: plain data that survives a
 * MessagePack round trip unchanged. Objects are plain (`{}` or
 * `Object.create(null)`), strings are well-formed UTF-16 (no lone
 * surrogates), `Uint8Array` travels as bytes. `undefined` is not a value:
 * use `delete`.
 */
export type StateValue = null | boolean | number | string | Uint8Array | readonly StateValue[] | StateObject;

/** A plain object whose properties are {@link StateValue}s. */
export interface StateObject {
  readonly [key: string]: StateValue;
}

/** The bounds a value must stay within; both come from the state's options. */
export interface ValueLimits {
  /** Largest approximate encoded size, in bytes. */
  readonly maxValueSize: number;
  /** Deepest nesting of arrays and objects. */
  readonly maxValueDepth: number;
}

/** A value checked, copied and frozen, with its approximate encoded size. */
export interface CheckedValue {
  readonly value: StateValue;
  readonly size: number;
}

/**
 * Size, in bytes, of a string encoded as UTF-8, or -1 if it holds a lone
 * surrogate (MessagePack would replace it with U+FFFD, so the key or value
 * would change in transit and replicas would disagree).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
    else bytes += 3;
  }
  return bytes;
}

/** Approximate MessagePack size of a string: its UTF-8 bytes and a 5-byte header (an upper bound). */
export function stringSize(text: string): number {
  return Math.max(utf8Length(text), text.length) + 5;
}

/** True for a `Uint8Array` (a Node `Buffer` included), from this realm or another. */
export function isBytes(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === "[object Uint8Array]";
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

class ValueProblem {
  constructor(
    readonly code: typeof STATE_ERROR_CODES.INVALID_VALUE | typeof STATE_ERROR_CODES.VALUE_TOO_LARGE,
    readonly why: ErrorText,
  ) {}
}

class Walker {
  size = 0;
  constructor(private readonly limits: ValueLimits) {}

  add(bytes: number): void {
    this.size += bytes;
    // Checked as we go, so a huge array costs at most maxValueSize steps.
    if (this.size > this.limits.maxValueSize) {
      throw new ValueProblem(STATE_ERROR_CODES.VALUE_TOO_LARGE, ERROR_TEXTS ? `it is larger than maxValueSize (${this.limits.maxValueSize} bytes)` : [this.limits.maxValueSize]);
    }
  }

  copy(value: unknown, depth: number, path: string): StateValue {
    switch (typeof value) {
      case "boolean":
        this.add(1);
        return value;
      case "number":
        this.add(9);
        // MessagePack writes -0 as the integer 0: store what the peers will see.
        return value === 0 ? 0 : value;
      case "string": {
        const bytes = utf8Length(value);
        if (bytes < 0) throw new ValueProblem(STATE_ERROR_CODES.INVALID_VALUE, ERROR_TEXTS ? `the string at ${path} holds a lone UTF-16 surrogate` : [path]);
        this.add(bytes + 5);
        return value;
      }
      case "object":
        if (value === null) {
          this.add(1);
          return null;
        }
        return this.copyObject(value, depth, path);
      default:
        throw new ValueProblem(
          STATE_ERROR_CODES.INVALID_VALUE,
          ERROR_TEXTS ? `${path} is ${value === undefined ? "undefined (use delete to remove a key)" : `a ${typeof value}`}` : [path, value === undefined ? "undefined" : typeof value],
        );
    }
  }

  private copyObject(value: object, depth: number, path: string): StateValue {
    if (isBytes(value)) {
      this.add(value.byteLength + 5);
      // new Uint8Array(view) copies the bytes (Buffer#slice would share them).
      return new Uint8Array(value);
    }
    if (depth >= this.limits.maxValueDepth) {
      throw new ValueProblem(
        STATE_ERROR_CODES.INVALID_VALUE,
        ERROR_TEXTS ? `${path} nests deeper than maxValueDepth (${this.limits.maxValueDepth}), or the value has a cycle` : [path, this.limits.maxValueDepth],
      );
    }
    this.add(5);
    if (Array.isArray(value)) {
      const out: StateValue[] = [];
      const items = value as readonly unknown[];
      for (let i = 0; i < items.length; i++) out.push(this.copy(items[i], depth + 1, `${path}[${i}]`));
      return Object.freeze(out);
    }
    if (!isPlainObject(value)) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new ValueProblem(STATE_ERROR_CODES.INVALID_VALUE, ERROR_TEXTS ? `${path} is a ${typeof name === "string" ? name : "non-plain object"}, not plain data` : [path, typeof name === "string" ? [name] : []]);
    }
    const out: Record<string, StateValue> = {};
    for (const key of Object.keys(value)) {
      // The envelope decoder refuses __proto__ keys, so such a value could never reach a peer.
      if (key === "__proto__") throw new ValueProblem(STATE_ERROR_CODES.INVALID_VALUE, ERROR_TEXTS ? `${path} has a "__proto__" property` : [path]);
      const bytes = utf8Length(key);
      if (bytes < 0) throw new ValueProblem(STATE_ERROR_CODES.INVALID_VALUE, ERROR_TEXTS ? `a property name in ${path} holds a lone UTF-16 surrogate` : [path]);
      this.add(bytes + 5);
      out[key] = this.copy((value as Record<string, unknown>)[key], depth + 1, `${path}.${key}`);
    }
    return Object.freeze(out);
  }
}

/**
 * Checks that `value` is a {@link StateValue} within `limits`, and returns a
 * frozen deep copy (so later changes by the caller cannot change the state
 * behind its back) with its approximate encoded size.
 *
 * Throws a {@link StateError}: `XPPG_ERR_STATE_INVALID_VALUE` or
 * `XPPG_ERR_STATE_VALUE_TOO_LARGE`; `what` names the value in the message.
 */
export function checkValue(value: unknown, limits: ValueLimits, what: string): CheckedValue {
  const walker = new Walker(limits);
  try {
    const copy = walker.copy(value, 0, "the value");
    return { value: copy, size: walker.size };
  } catch (problem) {
    if (problem instanceof ValueProblem) {
      throw new StateError(problem.code, ERROR_TEXTS ? `${what} cannot be stored: ${problem.why}. Store plain data: objects, arrays, strings, numbers, booleans, null and Uint8Array.` : [what, problem.why], {
        details: { maxValueSize: limits.maxValueSize, maxValueDepth: limits.maxValueDepth },
      });
    }
    // A getter that throws, a Proxy, a stack overflow in a hostile structure.
    throw new StateError(STATE_ERROR_CODES.INVALID_VALUE, ERROR_TEXTS ? `${what} cannot be stored: reading it threw (${describe(problem)}).` : [what, describe(problem)], { cause: problem });
  }
}

/**
 * Approximate MessagePack size of a value already checked by
 * {@link checkValue} (the same measure `maxValueSize` uses), in bytes.
 */
export function measureValue(value: StateValue): number {
  if (value === null || typeof value === "boolean") return 1;
  if (typeof value === "number") return 9;
  if (typeof value === "string") return stringSize(value);
  if (isBytes(value)) return value.byteLength + 5;
  let size = 5;
  if (Array.isArray(value)) {
    for (const item of value as readonly StateValue[]) size += measureValue(item);
    return size;
  }
  for (const [key, item] of Object.entries(value)) size += stringSize(key) + measureValue(item);
  return size;
}
