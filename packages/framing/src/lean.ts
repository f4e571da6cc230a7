/**
 * The compact direct envelope (`lean/1`; layout in `envelope-layout.ts`), in
 * Node (the `#lean` import). A page's (`browser/lean.ts`) has none: a page
 * does not offer `lean/1`, so no peer sends it one, and its first load
 * carries none of this.
 *
 * Both caches below are pure (a kind and its encoded bytes, either way), so
 * one per process serves every codec.
 */

import { ERROR_TEXTS } from "@xppg/errors";
import { MAX_KIND_LENGTH } from "./constants.js";
import { LEAN_BYTES, LEAN_MARKER, MAX_LEAN_KIND_BYTES, checkId, checkString, malformed } from "./envelope-layout.js";
import { frameTooLargeError } from "./errors.js";
import { DecodeCache, EncodeCache } from "./string-cache.js";

/** True where the compact layout is written and read. */
export const LEAN = true;

/** The last kind written, checked: it starts as an object no caller holds (an unset `undefined` let a first `undefined` kind through). */
let encKind: unknown = {};
let encPrefix = new Uint8Array(0);

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
  return prefix;
}

/** The kinds {@link writeLeanBytes} has written. */
const kindBytes = new EncodeCache();

/**
 * Writes a direct message of raw bytes from one end of a link that settled
 * `lean/1` to the other (hop limit 0, unsigned) at `out[offset]`, as
 * `EnvelopeCodec.encodeFieldsInto` writes it, with its checks in its order
 * (the kind's, the id's, the size's against `maxSize`), by a path short
 * enough for the engine to inline into a sender's loop. Returns the bytes
 * written; minus the bytes needed, writing nothing, when `out` has too
 * little room; 0, writing nothing, for a payload that is not a `Uint8Array`
 * or a kind too long for the compact layout (the codec writes those). The
 * caller answers for the rest: the link, the two ends, the hop limit, no
 * signature (`@xppg/framing/adapter` in the README).
 */
export function writeLeanBytes(out: Uint8Array, offset: number, kind: string, id: number, payload: Uint8Array, maxSize: number): number {
  // From JavaScript, an array of numbers would be written as bytes modulo 256: the codec writes it as MessagePack.
  if (!(payload instanceof Uint8Array)) return 0;
  const prefix = leanKindPrefix(kind, kindBytes);
  if (prefix === null) return 0;
  checkId(id);
  const prefixLength = prefix.length;
  const total = 1 + prefixLength + payload.length;
  if (total > maxSize) throw frameTooLargeError(total, maxSize, "sent");
  if (offset + total > out.length) return -total;
  out[offset] = LEAN_MARKER | LEAN_BYTES;
  const at = offset + 1;
  // A short kind by hand, as the codec writes it: TypedArray#set costs more than the copy.
  if (prefixLength <= 16) for (let i = 0; i < prefixLength; i++) out[at + i] = prefix[i]!;
  else out.set(prefix, at);
  out.set(payload, at + prefixLength);
  return total;
}

const texts = new DecodeCache();
let decPrefix = new Uint8Array(0);
let decKind = "";

/**
 * The kind of the compact envelope `bytes[start, end)` (its first byte
 * already seen to be the marker), checked as the full layout's: 1 to
 * 255 bytes present, valid UTF-8, at most `MAX_KIND_LENGTH` characters.
 * Its payload starts at `start + 2 + bytes[start + 1]`.
 */
export function readLeanKind(bytes: Uint8Array, start: number, end: number): string {
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
  return kind;
}
