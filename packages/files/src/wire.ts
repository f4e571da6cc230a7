/**
 * The files messages (capability `files/2`): one binary layout per type, a
 * type byte and the 32-byte content id first, integers big-endian. Pure:
 * `encode*` builds bytes, `decodeMessage` checks every length before it
 * reads and returns a sentence for anything malformed.
 */

import { HASH_BYTES, MAX_CHUNKS } from "./constants.js";

export const MSG = {
  /** "Who has this content?": answered with `BITFIELD` by a neighbour that has or wants it. */
  WANT: 1,
  /** The chunks the sender holds: `[size u32][bits]`. */
  BITFIELD: 2,
  /** The sender now holds one more chunk: `[index u32]`. */
  HAVE: 3,
  /** Asks for manifest bytes: `[offset u32][length u32]`. */
  MANIFEST_REQUEST: 4,
  /** Manifest bytes: `[offset u32][total u32][bytes]`. */
  MANIFEST: 5,
  /** Asks for part of a chunk: `[index u32][offset u32][length u32]`. */
  REQUEST: 6,
  /** Part of a chunk: `[index u32][offset u32][bytes]`. */
  DATA: 7,
  /** A request that will not be answered (chunk not held, too many waiting): `[index u32][offset u32]`. */
  REJECT: 8,
  /** The asker no longer wants a request answered: `[index u32][offset u32]`. */
  CANCEL: 9,
  /** A push: "download this content from me" (capability `files-push/1`; nothing after the id). */
  OFFER: 10,
  /** The end of a push: `[status u8][reason, UTF-8, at most 300 bytes]` (see {@link OFFER_STATUS}). */
  OFFER_END: 11,
} as const;

/** How a push ended, in `OFFER_END`. */
export const OFFER_STATUS = {
  /** From the receiver: it holds the whole file, verified, under its name. */
  DONE: 0,
  /** From the receiver: it declined the push or its download failed (the reason says which). */
  REFUSED: 1,
  /** From the sender: it cancelled the push; the receiver stops and discards the partial download. */
  CANCELLED: 2,
} as const;

/** Longest reason in an `OFFER_END`, in bytes. */
export const MAX_REASON_BYTES = 300;

export type FilesMessage =
  | { type: typeof MSG.WANT; cid: string }
  | { type: typeof MSG.BITFIELD; cid: string; size: number; bits: Uint8Array }
  | { type: typeof MSG.HAVE; cid: string; index: number }
  | { type: typeof MSG.MANIFEST_REQUEST; cid: string; offset: number; length: number }
  | { type: typeof MSG.MANIFEST; cid: string; offset: number; total: number; data: Uint8Array }
  | { type: typeof MSG.REQUEST; cid: string; index: number; offset: number; length: number }
  | { type: typeof MSG.DATA; cid: string; index: number; offset: number; data: Uint8Array }
  | { type: typeof MSG.REJECT | typeof MSG.CANCEL; cid: string; index: number; offset: number }
  | { type: typeof MSG.OFFER; cid: string }
  | { type: typeof MSG.OFFER_END; cid: string; status: number; reason: string };

const HEAD = 1 + HASH_BYTES;

function head(type: number, cid: string, extra: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(HEAD + extra);
  bytes[0] = type;
  bytes.set(Buffer.from(cid, "hex"), 1);
  return { bytes, view: new DataView(bytes.buffer) };
}

/** `WANT` or `OFFER`. */
export function encodeBare(type: typeof MSG.WANT | typeof MSG.OFFER, cid: string): Uint8Array {
  return head(type, cid, 0).bytes;
}

export function encodeBitfield(cid: string, size: number, bits: Uint8Array): Uint8Array {
  const { bytes, view } = head(MSG.BITFIELD, cid, 4 + bits.length);
  view.setUint32(HEAD, size);
  bytes.set(bits, HEAD + 4);
  return bytes;
}

export function encodeHave(cid: string, index: number): Uint8Array {
  const { bytes, view } = head(MSG.HAVE, cid, 4);
  view.setUint32(HEAD, index);
  return bytes;
}

export function encodeManifestRequest(cid: string, offset: number, length: number): Uint8Array {
  const { bytes, view } = head(MSG.MANIFEST_REQUEST, cid, 8);
  view.setUint32(HEAD, offset);
  view.setUint32(HEAD + 4, length);
  return bytes;
}

export function encodeManifest(cid: string, offset: number, total: number, data: Uint8Array): Uint8Array {
  const { bytes, view } = head(MSG.MANIFEST, cid, 8 + data.length);
  view.setUint32(HEAD, offset);
  view.setUint32(HEAD + 4, total);
  bytes.set(data, HEAD + 8);
  return bytes;
}

export function encodeRequest(cid: string, index: number, offset: number, length: number): Uint8Array {
  const { bytes, view } = head(MSG.REQUEST, cid, 12);
  view.setUint32(HEAD, index);
  view.setUint32(HEAD + 4, offset);
  view.setUint32(HEAD + 8, length);
  return bytes;
}

/** The header of a `DATA` message with room for `length` bytes after it; the caller reads the data into `bytes` at `DATA_HEADER`. */
export function allocData(cid: string, index: number, offset: number, length: number): Uint8Array {
  const { bytes, view } = head(MSG.DATA, cid, 8 + length);
  view.setUint32(HEAD, index);
  view.setUint32(HEAD + 4, offset);
  return bytes;
}

/** Rewrites the header of a `DATA` message in `bytes` (a reused buffer). */
export function setDataHeader(bytes: Uint8Array, cid: string, index: number, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes[0] = MSG.DATA;
  bytes.set(Buffer.from(cid, "hex"), 1);
  view.setUint32(HEAD, index);
  view.setUint32(HEAD + 4, offset);
}

/** Where a `DATA` message's bytes start. */
export const DATA_HEADER = HEAD + 8;

export function encodeSlot(type: typeof MSG.REJECT | typeof MSG.CANCEL, cid: string, index: number, offset: number): Uint8Array {
  const { bytes, view } = head(type, cid, 8);
  view.setUint32(HEAD, index);
  view.setUint32(HEAD + 4, offset);
  return bytes;
}

/** `OFFER_END`: the reason is cut to `MAX_REASON_BYTES` (on a character boundary). */
export function encodeOfferEnd(cid: string, status: number, reason: string): Uint8Array {
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  // Never half of a surrogate pair.
  if (cut.length < reason.length && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  const text = Buffer.from(cut);
  const { bytes } = head(MSG.OFFER_END, cid, 1 + text.length);
  bytes[HEAD] = status;
  bytes.set(text, HEAD + 1);
  return bytes;
}

/** Reads one message, or returns why it is malformed. Data views point into `bytes`. */
export function decodeMessage(bytes: Uint8Array): FilesMessage | string {
  if (bytes.length < HEAD) return "shorter than its header";
  const type = bytes[0]!;
  const cid = Buffer.from(bytes.buffer, bytes.byteOffset + 1, HASH_BYTES).toString("hex");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rest = bytes.length - HEAD;
  const u32 = (at: number): number => view.getUint32(HEAD + at);
  switch (type) {
    case MSG.WANT:
      return rest === 0 ? { type, cid } : "trailing bytes";
    case MSG.BITFIELD: {
      if (rest < 4) return "a truncated bitfield";
      const size = u32(0);
      if (size === 0 || size > MAX_CHUNKS) return `a bitfield of ${size} chunks`;
      if (rest !== 4 + Math.ceil(size / 8)) return "a bitfield of the wrong length";
      return { type, cid, size, bits: bytes.subarray(HEAD + 4) };
    }
    case MSG.HAVE:
      return rest === 4 ? { type, cid, index: u32(0) } : "a have of the wrong length";
    case MSG.MANIFEST_REQUEST:
      return rest === 8 ? { type, cid, offset: u32(0), length: u32(4) } : "a manifest request of the wrong length";
    case MSG.MANIFEST:
      if (rest < 8) return "a truncated manifest piece";
      return { type, cid, offset: u32(0), total: u32(4), data: bytes.subarray(HEAD + 8) };
    case MSG.REQUEST:
      return rest === 12 ? { type, cid, index: u32(0), offset: u32(4), length: u32(8) } : "a request of the wrong length";
    case MSG.DATA:
      if (rest < 8) return "truncated data";
      return { type, cid, index: u32(0), offset: u32(4), data: bytes.subarray(DATA_HEADER) };
    case MSG.REJECT:
    case MSG.CANCEL:
      return rest === 8 ? { type, cid, index: u32(0), offset: u32(4) } : "a reject or cancel of the wrong length";
    case MSG.OFFER:
      return rest === 0 ? { type, cid } : "trailing bytes";
    case MSG.OFFER_END: {
      if (rest < 1 || rest > 1 + MAX_REASON_BYTES) return `an offer end of ${rest} bytes`;
      const status = bytes[HEAD]!;
      if (status > OFFER_STATUS.CANCELLED) return `an offer end of status ${status}`;
      const reason = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(HEAD + 1));
      return { type, cid, status, reason };
    }
    default:
      return `an unknown message type ${type}`;
  }
}
