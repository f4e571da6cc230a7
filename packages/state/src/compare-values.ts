import { isBytes, type StateValue } from "./value.js";
import { nativeCompare } from "#native-compare";

function rank(value: StateValue): number {
  if (value === null) return 0;
  switch (typeof value) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "string":
      return 3;
    default:
      if (isBytes(value)) return 4;
      return Array.isArray(value) ? 5 : 6;
  }
}

function sign(a: number | string | boolean, b: number | string | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number, b: number): number {
  // NaN sorts above every number and equals itself, so the order stays total.
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
  return sign(a, b);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  // A replica compares a value with the copy it already holds each time a peer sends it back: for 64 KiB values that is most of the cost.
  if (nativeCompare !== undefined) return nativeCompare(a, b);
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.byteLength - b.byteLength;
}

function compareArrays(a: readonly StateValue[], b: readonly StateValue[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i] as StateValue, b[i] as StateValue);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: Readonly<Record<string, StateValue>>, b: Readonly<Record<string, StateValue>>): number {
  // Property order counts: it is the order every replica sees (JavaScript's
  // own order, which a MessagePack round trip keeps), and counting it makes
  // "compares equal" mean "is the same data".
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  const n = Math.min(ak.length, bk.length);
  for (let i = 0; i < n; i++) {
    const ka = ak[i] as string;
    const kb = bk[i] as string;
    if (ka !== kb) return sign(ka, kb);
    const c = compareValues(a[ka] as StateValue, b[kb] as StateValue);
    if (c !== 0) return c;
  }
  return ak.length - bk.length;
}

/**
 * A total order on {@link StateValue}s that every replica computes alike:
 * null < booleans < numbers < strings < bytes < arrays < objects, then by
 * content (strings by UTF-16 code units, bytes and arrays element-wise,
 * objects property by property in their own order). Returns a negative
 * number, zero or a positive number. Zero means the values are the same data.
 *
 * Used to break ties between two writes of one key at one version, so the
 * winner does not depend on which arrived first.
 */
export function compareValues(a: StateValue, b: StateValue): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
    case 3:
      return sign(a as boolean | string, b as boolean | string);
    case 2:
      return compareNumbers(a as number, b as number);
    case 4:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case 5:
      return compareArrays(a as readonly StateValue[], b as readonly StateValue[]);
    default:
      return compareObjects(a as Readonly<Record<string, StateValue>>, b as Readonly<Record<string, StateValue>>);
  }
}

/** True when two values are the same data (see {@link compareValues}). */
export function valuesEqual(a: StateValue, b: StateValue): boolean {
  return a === b || compareValues(a, b) === 0;
}
