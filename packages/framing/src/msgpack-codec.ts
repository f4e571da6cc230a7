/**
 * The MessagePack codec of envelope payloads, the same in Node and in
 * browsers: the same bytes for every value and the same value for every
 * byte string as `@msgpack/msgpack` 3 with `{ ignoreUndefined: true }`, in a
 * fraction of its size (`test/msgpack-codec.test.ts` checks both against
 * each other on generated values and bytes). Node used the library until
 * issue 15: its sixteen CommonJS files cost a fresh process about 12 ms of
 * start-up, this one file about 1 ms, and it encodes and decodes as fast.
 *
 * Integers in their smallest form, other numbers as float64, strings as
 * UTF-8 (lone surrogates as the library writes them), any ArrayBuffer view
 * as binary, Date as the timestamp extension, other objects as maps of their
 * own enumerable keys (undefined values left out); 64-bit integers read as
 * numbers, map keys that are not strings or numbers and `__proto__` refused.
 * Format: https://github.com/msgpack/msgpack/blob/master/spec.md
 *
 * The decoder reads hostile bytes: it checks the structure as it goes (each
 * declared length against the bytes present, the depth, one value and
 * nothing after it) and builds the value meanwhile, nothing sized ahead from
 * a count past 1024 (nested arrays can each overstate theirs up to the bytes
 * left), so what it builds before a refusal is bounded by the bytes read;
 * it refuses exactly what
 * `scanMsgpack` refuses, with the same error; what only a decoder sees
 * (a `__proto__` key, a key of another type, a bad timestamp) is thrown after
 * the whole value passed those checks, as when the scan came first.
 */

import { FRAMING_ERROR_CODES, FramingError } from "./errors.js";
import { ERROR_TEXTS, valuesMessage, viewBytes } from "@xppg/errors";

/** Encodes and decodes one MessagePack value. */
export interface MsgpackCodec {
  /** The bytes of `value`; a view that the next call may overwrite. Throws for what MessagePack cannot hold. */
  encodeSharedRef(value: unknown): Uint8Array;
  /**
   * The value in `bytes`. Throws a `FramingError` unless they hold exactly one
   * well-formed value nested at most `maxDepth` deep (as `scanMsgpack`), and
   * a plain `Error` for a value no decoder builds.
   */
  decode(bytes: Uint8Array, maxDepth: number): unknown;
}

/** An extension value of a type this codec does not know (as `@msgpack/msgpack`'s `ExtData`). */
export class ExtData {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}

const MAX_DEPTH = 100;
/** The longest array the decoder sizes ahead from its declared count; a longer one grows as its items are read. */
const PRESIZE_LIMIT = 1024;
const TIMESTAMP = -1;
const TWO_32 = 0x1_0000_0000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A codec. */
export function createMsgpackCodec(): MsgpackCodec {
  let bytes = new Uint8Array(2048);
  let view = new DataView(bytes.buffer);
  let pos = 0;

  const ensure = (n: number): void => {
    if (pos + n <= bytes.length) return;
    const bigger = new Uint8Array((pos + n) * 2);
    bigger.set(bytes);
    bytes = bigger;
    view = new DataView(bytes.buffer);
  };
  const u8 = (v: number): void => {
    ensure(1);
    bytes[pos++] = v;
  };
  const typed = (head: number, size: 1 | 2 | 4, v: number): void => {
    ensure(1 + size);
    bytes[pos] = head;
    if (size === 1) view.setUint8(pos + 1, v);
    else if (size === 2) view.setUint16(pos + 1, v);
    else view.setUint32(pos + 1, v);
    pos += 1 + size;
  };
  // A length header: the fix form below `fixLimit`, else 8 (when `head8` is given), 16 or 32 bits.
  const header = (n: number, fix: number, fixLimit: number, head8: number | null, head16: number, what: string): void => {
    if (n < fixLimit) u8(fix + n);
    else if (head8 !== null && n < 0x100) typed(head8, 1, n);
    else if (n < 0x1_0000) typed(head16, 2, n);
    else if (n < TWO_32) typed(head16 + 1, 4, n);
    else throw new Error(ERROR_TEXTS ? `Too large ${what}: ${n}` : valuesMessage("", [what, n]));
  };
  const raw = (data: Uint8Array): void => {
    ensure(data.length);
    bytes.set(data, pos);
    pos += data.length;
  };
  const number = (v: number): void => {
    if (!Number.isSafeInteger(v)) {
      ensure(9);
      bytes[pos] = 0xcb;
      view.setFloat64(pos + 1, v);
      pos += 9;
    } else if (v >= 0) {
      if (v < 0x80) u8(v);
      else if (v < 0x100) typed(0xcc, 1, v);
      else if (v < 0x1_0000) typed(0xcd, 2, v);
      else if (v < TWO_32) typed(0xce, 4, v);
      else int64(0xcf, v / TWO_32, v);
    } else if (v >= -32) u8(0xe0 | (v + 32));
    else if (v >= -0x80) typed(0xd0, 1, v & 0xff);
    else if (v >= -0x8000) typed(0xd1, 2, v & 0xffff);
    else if (v >= -0x8000_0000) typed(0xd2, 4, v >>> 0);
    else int64(0xd3, Math.floor(v / TWO_32), v);
  };
  // DataView's setUint32 takes each half modulo 2^32, as the library's 64-bit writers do.
  const int64 = (head: number, high: number, low: number): void => {
    ensure(9);
    bytes[pos] = head;
    view.setUint32(pos + 1, high);
    view.setUint32(pos + 5, low);
    pos += 9;
  };
  const string = (s: string): void => {
    const length = utf8Length(s);
    header(length, 0xa0, 32, 0xd9, 0xda, "string");
    ensure(length);
    if (s.length > 50) encoder.encodeInto(s, bytes.subarray(pos));
    else utf8Write(s, bytes, pos);
    pos += length;
  };
  const extension = (type: number, data: Uint8Array): void => {
    const n = data.length;
    const fixed = n === 1 ? 0xd4 : n === 2 ? 0xd5 : n === 4 ? 0xd6 : n === 8 ? 0xd7 : n === 16 ? 0xd8 : 0;
    if (fixed !== 0) u8(fixed);
    else header(n, 0, 0, 0xc7, 0xc8, "extension object");
    ensure(1);
    view.setInt8(pos++, type);
    raw(data);
  };
  const value = (v: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(ERROR_TEXTS ? `Too deep objects in depth ${depth}` : valuesMessage("", [depth]));
    if (v === null || v === undefined) u8(0xc0);
    else if (typeof v === "boolean") u8(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") number(v);
    else if (typeof v === "string") string(v);
    else if (v instanceof Date) extension(TIMESTAMP, timestamp(v));
    else if (v instanceof ExtData) extension(v.type, v.data);
    else if (Array.isArray(v)) {
      header(v.length, 0x90, 16, null, 0xdc, "array");
      for (const item of v) value(item, depth + 1);
    } else if (ArrayBuffer.isView(v)) {
      // Its bytes where the language's getters place them: the view's own `buffer`, `byteOffset` or `byteLength`
      // may lie, and would have the encoder copy other memory of the buffer.
      const data = viewBytes(v);
      header(data.length, 0, 0, 0xc4, 0xc5, "binary");
      raw(data);
    } else if (typeof v === "object") {
      const map = v as Record<string, unknown>;
      const keys = Object.keys(map);
      let count = 0;
      for (const k of keys) if (map[k] !== undefined) count++;
      header(count, 0x80, 16, null, 0xde, "map object");
      for (const k of keys) {
        const item = map[k];
        if (item === undefined) continue;
        string(k);
        value(item, depth + 1);
      }
    } else throw new Error(ERROR_TEXTS ? `Unrecognized object: ${Object.prototype.toString.apply(v)}` : valuesMessage("", [Object.prototype.toString.apply(v)]));
  };

  return {
    encodeSharedRef(v) {
      pos = 0;
      value(v, 1);
      return bytes.subarray(0, pos);
    },
    decode(input, maxDepth) {
      const reader = new Reader(input, maxDepth);
      const v = reader.value(0);
      const left = input.length - reader.pos;
      if (left !== 0) throw new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `${left} unexpected bytes after the MessagePack value.` : [left]);
      if (reader.bad !== undefined) throw new Error(reader.bad);
      return v;
    },
  };
}

/**
 * Reads one value, checking its structure as it goes. A fault only a
 * decoder sees is kept in `bad` (the first one) and reading goes on, so
 * that a structural fault anywhere wins, as when the scan came first.
 */
class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #maxDepth: number;
  pos = 0;
  bad: string | undefined;

  constructor(bytes: Uint8Array, maxDepth: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#maxDepth = maxDepth;
  }

  /** One value; `depth` is the number of arrays and maps around it. */
  value(depth: number): unknown {
    const t = this.#bytes[this.#take(1)]!;
    if (t < 0x80) return t;
    if (t < 0x90) return this.#map(t - 0x80, depth);
    if (t < 0xa0) return this.#array(t - 0x90, depth);
    if (t < 0xc0) return this.#string(t - 0xa0);
    if (t >= 0xe0) return t - 0x100;
    // Each run of types below differs only in the size of its length (1, 2, 4...) or of its fixed data.
    if (t >= 0xc4 && t <= 0xc6) return this.#binary(this.#length(1 << (t - 0xc4)));
    if (t >= 0xc7 && t <= 0xc9) return this.#extension(this.#length(1 << (t - 0xc7)));
    if (t >= 0xd4 && t <= 0xd8) return this.#extension(1 << (t - 0xd4));
    if (t >= 0xd9 && t <= 0xdb) return this.#string(this.#length(1 << (t - 0xd9)));
    if (t >= 0xdc && t <= 0xdd) return this.#array(this.#length(2 << (t - 0xdc)), depth);
    if (t >= 0xde) return this.#map(this.#length(2 << (t - 0xde)), depth);
    const v = this.#view;
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xca: return v.getFloat32(this.#take(4));
      case 0xcb: return v.getFloat64(this.#take(8));
      case 0xcc: return v.getUint8(this.#take(1));
      case 0xcd: return v.getUint16(this.#take(2));
      case 0xce: return v.getUint32(this.#take(4));
      case 0xcf: { const at = this.#take(8); return v.getUint32(at) * TWO_32 + v.getUint32(at + 4); }
      case 0xd0: return v.getInt8(this.#take(1));
      case 0xd1: return v.getInt16(this.#take(2));
      case 0xd2: return v.getInt32(this.#take(4));
      case 0xd3: { const at = this.#take(8); return v.getInt32(at) * TWO_32 + v.getUint32(at + 4); }
      default: throw new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `Invalid MessagePack type byte 0x${t.toString(16)} at offset ${this.pos - 1}.` : [t.toString(16), this.pos - 1]);
    }
  }

  /** Where the next `n` bytes start; throws when fewer are left. */
  #take(n: number): number {
    const at = this.pos;
    this.pos += n;
    if (this.pos > this.#bytes.length) throw truncated(this.#bytes.length);
    return at;
  }

  /** A length of `size` bytes: 1, 2 or 4. */
  #length(size: number): number {
    const at = this.#take(size);
    return size === 1 ? this.#view.getUint8(at) : size === 2 ? this.#view.getUint16(at) : this.#view.getUint32(at);
  }

  /** Checks a container of `children` items (nested in `depth` others) before it is made. */
  #open(children: number, depth: number): void {
    if (children === 0) return;
    const max = this.#maxDepth;
    if (depth >= max) throw new FramingError(FRAMING_ERROR_CODES.PAYLOAD_TOO_DEEP, ERROR_TEXTS ? `The payload is nested more than ${max} levels deep. Flatten the data or raise maxPayloadDepth on the receiver.` : [max], { details: { maxDepth: max } });
    // Every item takes at least one byte, so a count beyond the bytes left is a lie.
    if (children > this.#bytes.length - this.pos) throw truncated(this.#bytes.length);
  }

  #string(length: number): string {
    const at = this.#take(length);
    // The library's own decoder up to 200 bytes and TextDecoder above: they differ on malformed UTF-8, so the same split.
    return length > 200 ? decoder.decode(this.#bytes.subarray(at, at + length)) : utf8Read(this.#bytes, at, length);
  }

  #binary(length: number): Uint8Array {
    const at = this.#take(length);
    return this.#bytes.subarray(at, at + length);
  }

  #extension(length: number): unknown {
    const type = this.#view.getInt8(this.#take(1));
    const data = this.#binary(length);
    if (type !== TIMESTAMP) return new ExtData(type, data);
    if (length === 4 || length === 8 || length === 12) return readTimestamp(data);
    this.bad ??= `Unrecognized data size for timestamp (expected 4, 8, or 12): ${length}`;
    return null;
  }

  #array(length: number, depth: number): unknown[] {
    this.#open(length, depth);
    // Sized ahead only when small: a count is checked against the bytes left, not against what the arrays around it
    // still owe, so nested arrays that overstate theirs would each claim a frame's worth of slots before the refusal.
    const out = length <= PRESIZE_LIMIT ? new Array<unknown>(length) : [];
    for (let i = 0; i < length; i++) out[i] = this.value(depth + 1);
    return out;
  }

  #map(length: number, depth: number): Record<string, unknown> {
    this.#open(length * 2, depth);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.value(depth + 1);
      const bad = key === "__proto__" ? "The key __proto__ is not allowed" : typeof key !== "string" && typeof key !== "number" ? `The type of key must be string or number but ${typeof key}` : undefined;
      this.bad ??= bad;
      const item = this.value(depth + 1);
      if (bad === undefined) out[key as string] = item;
    }
    return out;
  }
}

function truncated(at: number): FramingError {
  return new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `The MessagePack value is truncated at offset ${at}.` : [at]);
}

/** The timestamp extension's bytes for a Date: 32, 64 or 96 bits as the spec chooses. */
function timestamp(date: Date): Uint8Array {
  const ms = date.getTime();
  let sec = Math.floor(ms / 1e3);
  let nsec = (ms - sec * 1e3) * 1e6;
  const carry = Math.floor(nsec / 1e9);
  sec += carry;
  nsec -= carry * 1e9;
  if (sec >= 0 && nsec >= 0 && sec <= 0x3_ffff_ffff) {
    if (nsec === 0 && sec <= 0xffff_ffff) {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, sec);
      return out;
    }
    const out = new Uint8Array(8);
    const v = new DataView(out.buffer);
    v.setUint32(0, (nsec << 2) | ((sec / TWO_32) & 0x3));
    v.setUint32(4, sec | 0);
    return out;
  }
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, nsec);
  v.setUint32(4, Math.floor(sec / TWO_32));
  v.setUint32(8, sec);
  return out;
}

function readTimestamp(data: Uint8Array): Date {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let sec: number;
  let nsec: number;
  if (data.length === 4) {
    sec = v.getUint32(0);
    nsec = 0;
  } else if (data.length === 8) {
    const high = v.getUint32(0);
    sec = (high & 0x3) * TWO_32 + v.getUint32(4);
    nsec = high >>> 2;
  } else {
    sec = v.getInt32(4) * TWO_32 + v.getUint32(8);
    nsec = v.getUint32(0);
  }
  return new Date(sec * 1e3 + nsec / 1e6);
}

/** UTF-8 length of a string, a lone surrogate counting 3 bytes (as the library writes it). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes a string of at most 50 UTF-16 units as the library does (a lone surrogate as its 3-byte form). */
function utf8Write(s: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) out[at++] = 0xc0 | (c >> 6);
    else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
        out[at++] = 0xf0 | (c >> 18);
        out[at++] = 0x80 | ((c >> 12) & 0x3f);
      } else out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
    }
    out[at++] = 0x80 | (c & 0x3f);
  }
}

/** Reads UTF-8 as the library's own decoder does, malformed bytes included (each becomes a code unit, never an error). */
function utf8Read(bytes: Uint8Array, at: number, length: number): string {
  const end = at + length;
  const units: number[] = [];
  let out = "";
  while (at < end) {
    const b = bytes[at++]!;
    if ((b & 0x80) === 0) units.push(b);
    else if ((b & 0xe0) === 0xc0) units.push(((b & 0x1f) << 6) | (bytes[at++]! & 0x3f));
    else if ((b & 0xf0) === 0xe0) units.push(((b & 0x1f) << 12) | ((bytes[at++]! & 0x3f) << 6) | (bytes[at++]! & 0x3f));
    else if ((b & 0xf8) === 0xf0) {
      let c = ((b & 0x07) << 18) | ((bytes[at++]! & 0x3f) << 12) | ((bytes[at++]! & 0x3f) << 6) | (bytes[at++]! & 0x3f);
      if (c > 0xffff) {
        c -= 0x10000;
        units.push(((c >>> 10) & 0x3ff) | 0xd800);
        c = 0xdc00 | (c & 0x3ff);
      }
      units.push(c);
    } else units.push(b);
    if (units.length >= 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return units.length > 0 ? out + String.fromCharCode(...units) : out;
}
