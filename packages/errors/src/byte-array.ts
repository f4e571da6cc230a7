import { ERROR_TEXTS } from "#texts";
import { badArgumentError } from "./argument-error.js";

// The language's own getters of a typed array, taken once at load: they read the array's internal slots, so a
// subclass or an instance with its own `length`, a Proxy, or an object given Uint8Array's prototype cannot
// answer for them. `.length` on the value itself runs whatever getter the value carries.
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
const lengthGetter = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, "length")!.get!;
const tagGetter = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, Symbol.toStringTag)!.get!;
const bufferGetter = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, "buffer")!.get!;
const offsetGetter = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, "byteOffset")!.get!;
const call = Function.prototype.call;
// `lengthOf(bytes)` is `lengthGetter.call(bytes)`, without looking `call` up at each use (a page may replace it).
const lengthOf = call.bind(lengthGetter) as (bytes: unknown) => number;
const tagOf = call.bind(tagGetter) as (value: unknown) => string | undefined;
const bufferOf = call.bind(bufferGetter) as (bytes: unknown) => ArrayBufferLike;
const offsetOf = call.bind(offsetGetter) as (bytes: unknown) => number;
const NewUint8Array = Uint8Array;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, "buffer")!.get!;
const dataViewOffset = Object.getOwnPropertyDescriptor(DataView.prototype, "byteOffset")!.get!;
const dataViewLength = Object.getOwnPropertyDescriptor(DataView.prototype, "byteLength")!.get!;
const arrayBufferLength = call.bind(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!) as (buffer: unknown) => number;
const typedArrayByteLength = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, "byteLength")!.get!;

/**
 * The number of bytes of `bytes`, a Uint8Array already checked by
 * {@link checkByteArray}: read by the language's own getter, so it is the
 * number of bytes a copy (`set`, `slice`) of `bytes` takes, whatever
 * `length` or `byteLength` the value itself answers. Code that writes a
 * length next to the bytes it copies reads both from here, never from
 * `bytes.length` of a caller's array: a length that lies would send bytes
 * of the memory around them.
 */
export function byteArrayLength(bytes: Uint8Array): number {
  return lengthOf(bytes);
}

/**
 * A plain Uint8Array over the very bytes of `bytes` (checked by
 * {@link checkByteArray}, `length` its {@link byteArrayLength}), its buffer
 * and offset read by the language's getters: for code that hands the
 * caller's memory on by reference (a socket's write reads `buffer`,
 * `byteOffset` and `byteLength` of what it is given, and a lying one would
 * have it write memory around the caller's bytes).
 */
export function byteArrayView(bytes: Uint8Array, length: number): Uint8Array {
  return new NewUint8Array(bufferOf(bytes), offsetOf(bytes), length);
}

/** The buffer and offset of `bytes` (checked by {@link checkByteArray}) as the language's getters read them: to tell whether arrays lie back to back. */
export function byteArrayPlace(bytes: Uint8Array): { readonly buffer: ArrayBufferLike; readonly byteOffset: number } {
  return { buffer: bufferOf(bytes), byteOffset: offsetOf(bytes) };
}

/**
 * Checks that `value` is a Uint8Array (a Buffer, a subclass, one of another
 * realm) and answers its {@link byteArrayLength}. Throws a `TypeError` with
 * code `XPPG_ERR_INVALID_ARGUMENT` for anything else, for a Proxy (even of a
 * Uint8Array: its bytes would only be read through its traps) and for an
 * object given Uint8Array's prototype, which pass `instanceof Uint8Array`
 * but hold no bytes; and for a view of a detached buffer (transferred or
 * sent to a worker), whose bytes are gone.
 */
export function checkByteArray(value: unknown, call: string, name: string): number {
  if (tagOf(value) !== "Uint8Array") throw notByteArrayError(value, call, name);
  // An element read for V8 alone: its optimizing compiler checks the array's map (class) for it and, knowing the
  // map, reads the length below from the array in place; without it the getter is a call (in Node 20 about 36
  // instructions in it and the spills around it). After the tag, a Uint8Array's element: no code of the caller's
  // runs (a Proxy never gets here). Past four maps the read turns generic and the call comes back (README).
  void (value as Uint8Array)[0];
  const length = lengthOf(value);
  // Zero bytes: an empty array, or one whose buffer was detached (the language then reads every length as 0).
  if (length === 0 && isDetached(bufferOf(value))) throw badArgumentError(TypeError, call, name, ERROR_TEXTS && ["a Uint8Array whose buffer is not detached (its bytes were transferred away)", value]);
  return length;
}

function notByteArrayError(value: unknown, call: string, name: string): TypeError {
  return badArgumentError(TypeError, call, name, ERROR_TEXTS && ["a Uint8Array (not a Proxy, nor an object given Uint8Array's prototype)", value]);
}

function isDetached(buffer: ArrayBufferLike): boolean {
  // The language's getter, as for the view: it reads an ArrayBuffer of any realm, whatever own `byteLength` the
  // buffer was given, and throws for a SharedArrayBuffer (never detached).
  let size: number;
  try {
    size = arrayBufferLength(buffer);
  } catch {
    return false;
  }
  if (size !== 0) return false;
  try {
    // A view of a detached buffer cannot be made; of an empty one, it can.
    new NewUint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * A plain Uint8Array over the bytes of `view` (a typed array of any kind or
 * a DataView: `ArrayBuffer.isView(view)` holds), placed by the language's
 * getters, never by the view's own `buffer`, `byteOffset` or `byteLength`,
 * which may lie and would point at other memory of the buffer.
 */
export function viewBytes(view: ArrayBufferView): Uint8Array {
  if (tagOf(view) !== undefined) return new NewUint8Array(bufferOf(view), offsetOf(view), call.call(typedArrayByteLength, view) as number);
  return new NewUint8Array(call.call(dataViewBuffer, view) as ArrayBufferLike, call.call(dataViewOffset, view) as number, call.call(dataViewLength, view) as number);
}
