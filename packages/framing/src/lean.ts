/**
 * The compact direct envelope (`lean/1`; layout in `envelope-layout.ts`), in
 * Node (the `#lean` import). A page's (`browser/lean.ts`) has none: a page
 * does not offer `lean/1`, so no peer sends it one, and its first load
 * carries none of this.
 *
 * Both caches below are pure (a kind and its encoded bytes, either way), so
 * one per process serves every codec.
 */

import { ERROR_TEXTS, checkByteArray } from "@xppg/errors";
import { MAX_KIND_LENGTH } from "./constants.js";
import { LEAN_BYTES, LEAN_MARKER, MAX_LEAN_KIND_BYTES, checkId, checkString, malformed } from "./envelope-layout.js";
import { frameTooLargeError } from "./errors.js";
import { DecodeCache, EncodeCache } from "./string-cache.js";
import { SHORT_COPY_BYTES, putBytes, putShort } from "#alloc";

/** True where the compact layout is written and read. */
export const LEAN = true;

/** The last kind written, checked: it starts as an object no caller holds (an unset `undefined` let a first `undefined` kind through). */
let encKind: unknown = {};
let encPrefix = new Uint8Array(0);
/** The last kind's head, `[marker][u8 length][UTF-8]` padded with zeros, as two big-endian words (int32: `setUint32` takes their bits; both 0 when it is longer than 7 bytes). */
let encHeadHigh = 0;
let encHeadLow = 0;
/**
 * A kind's `[u8 length][UTF-8]`, the kind checked as the full layout checks
 * it (`XPPG_ERR_UNENCODABLE_PAYLOAD`); null for a kind longer than
 * {@link MAX_LEAN_KIND_BYTES} bytes, which travels in the full layout.
 */
export function leanKindPrefix(kind: string, strings: EncodeCache): Uint8Array | null {
  if (kind === encKind) return encPrefix;
  checkString(kind, MAX_KIND_LENGTH, "kind");
  const bytes = strings.get(kind);
  if (bytes.length > MAX_LEAN_KIND_BYTES) return null;
  const prefix = new Uint8Array(1 + bytes.length);
  prefix[0] = bytes.length;
  prefix.set(bytes, 1);
  encKind = kind;
  encPrefix = prefix;
  // The head (the marker, then the prefix) as big-endian words for encodeLeanBytesWithView, when it is at most 8 bytes.
  let high = 0;
  let low = 0;
  if (prefix.length < 8) {
    // Byte i of the head is the prefix's byte i - 1 (byte 0 the marker): bytes 0 to 3 in the high word, 4 to 7 in the low.
    high = (LEAN_MARKER | LEAN_BYTES) << 24;
    for (let i = 1; i <= prefix.length; i++) {
      if (i < 4) high |= prefix[i - 1]! << (8 * (3 - i));
      else low |= prefix[i - 1]! << (8 * (7 - i));
    }
  }
  encHeadHigh = high;
  encHeadLow = low;
  return prefix;
}

/** The kinds {@link encodeLeanBytesInto} met, encoded (the codec's own cache is out of its reach). */
const leanStrings = new EncodeCache(64);

/**
 * The common message, written as `EnvelopeCodec.encodeFieldsInto` writes it
 * on a link that settled `lean/1` (from this end to the other, hop limit 0,
 * unsigned), with its checks in the same order (kind, id, size), for a
 * sender that knows it has that shape and raw bytes (issue 15: no call
 * with ten arguments and no look at the link per message). Returns what
 * `encodeFieldsInto` returns, or 0 for a kind too long for the compact
 * layout (encode it with the codec: the full layout).
 *
 * It reads no `.buffer` of `out` or `payload`: in Node 20's V8 that getter
 * is a call into C++ on every read (some 250 instructions, about 15 ns),
 * more than the rest of this function; the head is written a byte at a
 * time, as the codec writes it, so a payload lying in `out`'s memory needs
 * no check either.
 */
export function encodeLeanBytesInto(out: Uint8Array, offset: number, kind: string, id: number, payload: Uint8Array, maxSize: number): number {
  const prefix = leanKindPrefix(kind, leanStrings);
  if (prefix === null) return 0;
  checkId(id);
  const prefixLength = prefix.length;
  // The language's getter: the payload's own `length` may lie (the bytes past what `set` copies would be sent).
  const total = 1 + prefixLength + checkByteArray(payload, "send", "payload");
  if (total > maxSize) throw frameTooLargeError(total, maxSize, "sent");
  if (offset + total > out.length) return -total;
  out[offset] = LEAN_MARKER | LEAN_BYTES;
  const at = offset + 1;
  // By hand for a short kind: TypedArray#set costs more than the copy.
  if (prefixLength <= SHORT_COPY_BYTES) putShort(out, at, prefix);
  else putBytes(out, at, prefix);
  putBytes(out, at + prefixLength, payload);
  return total;
}

/**
 * {@link encodeLeanBytesInto}, the head written through `view`, a DataView
 * over the same bytes as `out` (`view` byte i is `out[i]`): a head of 3 to 8
 * bytes (a kind of at most 6 bytes, "bench" among them) in one to three
 * stores of 4, 2 and 1 bytes, where a byte at a time took some 11
 * instructions a byte (each store checked again). The same checks, answers
 * and bytes: not a byte past the head before the payload is copied (a
 * payload lying in `out` just past the head is read as the codec reads it).
 * `view` is not checked: reading its `byteLength` cost about 10 ns a send in
 * Node 20 (a quarter of a plaintext send's own time); the README says so.
 */
export function encodeLeanBytesWithView(out: Uint8Array, view: DataView, offset: number, kind: string, id: number, payload: Uint8Array, maxSize: number): number {
  const prefix = leanKindPrefix(kind, leanStrings);
  if (prefix === null) return 0;
  checkId(id);
  const prefixLength = prefix.length;
  // The language's getter, as in encodeLeanBytesInto.
  const total = 1 + prefixLength + checkByteArray(payload, "send", "payload");
  if (total > maxSize) throw frameTooLargeError(total, maxSize, "sent");
  if (offset + total > out.length) return -total;
  if (prefixLength < 8) {
    // Head bytes: 1 + prefixLength, 3 to 8. The high word's first bytes, then the low word's, each store no longer than what is left.
    if (prefixLength >= 3) {
      view.setUint32(offset, encHeadHigh);
      const rest = prefixLength - 3;
      if (rest >= 2) {
        view.setUint16(offset + 4, encHeadLow >>> 16);
        if (rest === 3) view.setUint8(offset + 6, (encHeadLow >>> 8) & 0xff);
        else if (rest === 4) view.setUint16(offset + 6, encHeadLow & 0xffff);
      } else if (rest === 1) view.setUint8(offset + 4, encHeadLow >>> 24);
    } else {
      // A kind of one byte: a head of 3.
      view.setUint16(offset, encHeadHigh >>> 16);
      view.setUint8(offset + 2, (encHeadHigh >>> 8) & 0xff);
    }
  } else {
    out[offset] = LEAN_MARKER | LEAN_BYTES;
    putBytes(out, offset + 1, prefix);
  }
  putBytes(out, offset + 1 + prefixLength, payload);
  return total;
}

const texts = new DecodeCache();
let decPrefix = new Uint8Array(0);
let decKind = "";
/**
 * The last kind's prefix (`[u8 length][UTF-8]`) of at most 8 bytes as two
 * big-endian words, zero past its end, and the masks of its bytes: a
 * repeated kind is then confirmed by one read of 8 bytes, where a loop over
 * its bytes cost about 20 instructions a byte (each read checked again),
 * some 120 of a 100 B message's. A longer prefix matches nothing here
 * (mask 0, word 1): the loop then.
 */
let decHigh = 1;
let decLow = 0;
let decHighMask = 0;
let decLowMask = 0;

/**
 * The kind of the compact envelope `bytes[start, end)` (its first byte
 * already seen to be the marker), checked as the full layout's: 1 to
 * 255 bytes present, valid UTF-8, at most `MAX_KIND_LENGTH` characters.
 * Its payload starts at `start + 2 + bytes[start + 1]`.
 */
export function readLeanKind(bytes: Uint8Array, start: number, end: number): string {
  // Small enough to be inlined into the envelope reader: the rest is `readKind`'s.
  const at = start + 1;
  if (at + 8 <= end) {
    // The 8 bytes from the length byte on (the kind, then payload bytes masked out): a repeated kind in one comparison.
    // Its checks hold: the length byte equals the last kind's (1 to 7), so the kind lies within the 8 bytes.
    const high = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const low = (bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!;
    if ((high & decHighMask) === decHigh && (low & decLowMask) === decLow) return decKind;
  }
  return readKind(bytes, start, end);
}

/** `readLeanKind` but for a repeated kind of up to 7 bytes with 8 bytes present: checked, and remembered. */
function readKind(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 2) throw malformed(ERROR_TEXTS ? "its kind is cut short" : ["kind"]);
  const length = bytes[start + 1]!;
  if (length === 0) throw malformed(ERROR_TEXTS ? "its kind is empty" : ["kind"]);
  const stop = start + 2 + length;
  if (stop > end) throw malformed(ERROR_TEXTS ? "its kind is cut short" : ["kind"]);
  const last = decPrefix;
  let same = last.length === length + 1;
  for (let i = 0; same && i <= length; i++) if (bytes[start + 1 + i] !== last[i]) same = false;
  if (same) return decKind;
  let kind: string;
  try {
    kind = texts.get(bytes, start + 2, stop);
  } catch (cause) {
    throw malformed(ERROR_TEXTS ? "its kind is not valid UTF-8" : ["kind"], cause);
  }
  if (kind.length > MAX_KIND_LENGTH) throw malformed(ERROR_TEXTS ? `its kind is longer than ${MAX_KIND_LENGTH} characters` : ["kind", MAX_KIND_LENGTH]);
  decKind = kind;
  decPrefix = new Uint8Array(bytes.subarray(start + 1, stop)); // a copy, not a view
  setWindow(decPrefix);
  return kind;
}

/** The words and masks of the kind's prefix `prefix` (see `decHigh`). */
function setWindow(prefix: Uint8Array): void {
  const n = prefix.length;
  if (n > 8) {
    decHigh = 1;
    decHighMask = 0;
    return;
  }
  const byte = (i: number): number => (i < n ? prefix[i]! : 0);
  const mask = (i: number): number => (i < n ? 0xff : 0);
  decHigh = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
  decLow = (byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7);
  decHighMask = (mask(0) << 24) | (mask(1) << 16) | (mask(2) << 8) | mask(3);
  decLowMask = (mask(4) << 24) | (mask(5) << 16) | (mask(6) << 8) | mask(7);
}
