/**
 * The envelope decoder as it was before `EnvelopeCodec.read` (one object
 * per envelope, no caches), kept as the reference the codec must agree
 * with: the same envelope for the same bytes, or the same refusal.
 *
 * The compact direct layout (`lean/1`) is read here by its meaning, not by
 * code of its own: on a link that settled it, `[0x80 | bytes][n][kind][payload]`
 * is the full layout's `[1][flags: destination, both ids left out, bytes][hop 0]
 * [id 0][u16 n][kind][payload]`, decoded as any other.
 */
import { FRAMING_ERROR_CODES, FramingError, frameTooLargeError, scanMsgpack, type Envelope, type EnvelopeLink } from "../../src/index.js";
import { createMsgpackCodec } from "./pre-fold-msgpack-codec.js";

const msgpack = createMsgpackCodec();
const utf8 = new TextDecoder("utf-8", { fatal: true });

function malformed(why: string): FramingError {
  return new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, `Received a malformed envelope: ${why}. The sender is not speaking the xppg protocol; its connection is dropped.`);
}

function readString(bytes: Uint8Array, pos: number, end: number, maxChars: number, what: string): { text: string; bytes: number } {
  if (pos + 2 > end) throw malformed(`its ${what} is cut short`);
  const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
  if (length === 0) throw malformed(`its ${what} is empty`);
  if (length > maxChars * 3) throw malformed(`its ${what} is longer than ${maxChars} characters`);
  if (pos + 2 + length > end) throw malformed(`its ${what} is cut short`);
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(pos + 2, pos + 2 + length));
  } catch {
    throw malformed(`its ${what} is not valid UTF-8`);
  }
  if (text.length > maxChars) throw malformed(`its ${what} is longer than ${maxChars} characters`);
  return { text, bytes: length };
}

/** Decodes `bytes[start, end)` as the codec did before (limits: 1 MiB, depth 32). */
export function referenceDecode(bytes: Uint8Array, start: number, end: number, link?: EnvelopeLink, maxSize = 1024 * 1024, maxDepth = 32): Envelope {
  const size = end - start;
  if (size > maxSize) throw frameTooLargeError(size, maxSize, "received");
  if (link?.lean === true && size > 0 && (bytes[start]! & 0xfe) === 0x80) {
    const full = new Uint8Array(12 + size - 1);
    full[0] = 1;
    full[1] = 0x01 | 0x08 | 0x10 | ((bytes[start]! & 1) !== 0 ? 0x04 : 0);
    // Hop limit and id 0; the kind's u16 length is [0][n]: the compact bytes after the marker follow as they are.
    full.set(bytes.subarray(start + 1, end), 12);
    return referenceDecode(full, 0, full.length, link, Number.POSITIVE_INFINITY, maxDepth);
  }
  if (size > 0 && (bytes[start]! & 0xfe) === 0x80) {
    const marker = bytes[start]!;
    throw new FramingError(
      FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
      `The peer sent a compact direct envelope (first byte 0x${marker.toString(16)}) on a link that did not settle lean/1, ` +
        "where no peer sends one: its software is broken or hostile, not older. Check what runs there; this connection is dropped.",
    );
  }
  if (size < 11) throw malformed(`it has ${size} bytes, fewer than the 11-byte header`);
  const version = bytes[start]!;
  if (version !== 1) throw new FramingError(FRAMING_ERROR_CODES.UNSUPPORTED_VERSION, `Envelope version ${version} is not supported (this code reads version 1). Upgrade the older peer.`);
  const flags = bytes[start + 1]!;
  if ((flags & ~0x1f) !== 0) throw malformed(`it has unknown flags 0x${flags.toString(16)}`);
  const hopLimit = bytes[start + 2]!;
  const high = ((bytes[start + 3]! << 24) | (bytes[start + 4]! << 16) | (bytes[start + 5]! << 8) | bytes[start + 6]!) >>> 0;
  const low = ((bytes[start + 7]! << 24) | (bytes[start + 8]! << 16) | (bytes[start + 9]! << 8) | bytes[start + 10]!) >>> 0;
  if (high > 0x1f_ffff) throw malformed("its id is not a safe integer");
  const linkSource = (flags & 0x08) !== 0;
  const linkDestination = (flags & 0x10) !== 0;
  if ((linkSource || linkDestination) && link === undefined) throw malformed("it leaves out ids that only a direct link supplies");
  if (linkDestination && (flags & 0x01) === 0) throw malformed("it names the link as destination without a destination flag");
  if ((linkSource || linkDestination) && (flags & 0x02) !== 0) throw malformed("a signed envelope must carry its ids");
  let pos = start + 11;
  const kind = readString(bytes, pos, end, 128, "kind");
  pos += 2 + kind.bytes;
  let source = link?.remote ?? "";
  if (!linkSource) {
    const s = readString(bytes, pos, end, 256, "source");
    source = s.text;
    pos += 2 + s.bytes;
  }
  let destination: string | null = null;
  if (linkDestination) destination = link!.local;
  else if ((flags & 0x01) !== 0) {
    const d = readString(bytes, pos, end, 256, "destination");
    destination = d.text;
    pos += 2 + d.bytes;
  }
  const envelope: Envelope = { version, kind: kind.text, source, destination, id: high * 0x1_0000_0000 + low, hopLimit, payload: undefined };
  if ((flags & 0x02) !== 0) {
    if (pos + 64 > end) throw malformed("its signature is cut short");
    envelope.signature = bytes.slice(pos, pos + 64);
    const signed = new Uint8Array(size - 64);
    signed.set(bytes.subarray(start, pos), 0);
    signed.set(bytes.subarray(pos + 64, end), pos - start);
    signed[1] = flags & ~0x02;
    signed[2] = 0;
    envelope.signedBytes = signed;
    pos += 64;
  }
  const body = bytes.slice(pos, end);
  if ((flags & 0x04) !== 0) envelope.payload = body;
  else {
    scanMsgpack(body, maxDepth);
    try {
      envelope.payload = msgpack.decode(body);
    } catch (cause) {
      throw malformed(`its payload is not valid MessagePack (${(cause as Error).message})`);
    }
  }
  return envelope;
}
