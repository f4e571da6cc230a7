import { FRAMING_ERROR_CODES, FramingError } from "./errors.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * Walks a MessagePack value without building it, and throws unless the bytes
 * hold exactly one well-formed value nested at most `maxDepth` levels deep.
 *
 * The decoder we use keeps its own stack, so deep nesting cannot overflow the
 * call stack, but a 1 MiB frame of one-element arrays would make it hold a
 * million stack records. Scanning first bounds that work by the frame's size,
 * with no allocation per level beyond a small number.
 * Format: https://github.com/msgpack/msgpack/blob/master/spec.md
 */
export function scanMsgpack(bytes: Uint8Array, maxDepth: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  const stack: number[] = [];
  let remaining = 1;
  let pos = 0;
  for (;;) {
    if (remaining === 0) {
      if (stack.length === 0) break;
      remaining = stack.pop()!;
      continue;
    }
    remaining--;
    if (pos >= end) throw truncated(pos);
    const t = bytes[pos]!;
    let children = 0;
    let size: number; // bytes of this item, not counting children
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) size = 1;
    else if (t <= 0x8f) {
      children = (t & 0x0f) * 2;
      size = 1;
    } else if (t <= 0x9f) {
      children = t & 0x0f;
      size = 1;
    } else if (t <= 0xbf) size = 1 + (t & 0x1f);
    else {
      switch (t) {
        case 0xc4: case 0xd9: size = 2 + u8(view, pos + 1, end); break; // bin8, str8
        case 0xc5: case 0xda: size = 3 + u16(view, pos + 1, end); break; // bin16, str16
        case 0xc6: case 0xdb: size = 5 + u32(view, pos + 1, end); break; // bin32, str32
        case 0xc7: size = 3 + u8(view, pos + 1, end); break; // ext8
        case 0xc8: size = 4 + u16(view, pos + 1, end); break; // ext16
        case 0xc9: size = 6 + u32(view, pos + 1, end); break; // ext32
        case 0xca: size = 5; break; // float32
        case 0xcb: size = 9; break; // float64
        case 0xcc: case 0xd0: size = 2; break;
        case 0xcd: case 0xd1: size = 3; break;
        case 0xce: case 0xd2: size = 5; break;
        case 0xcf: case 0xd3: size = 9; break;
        case 0xd4: size = 3; break; // fixext1
        case 0xd5: size = 4; break;
        case 0xd6: size = 6; break;
        case 0xd7: size = 10; break;
        case 0xd8: size = 18; break;
        case 0xdc: children = u16(view, pos + 1, end); size = 3; break; // array16
        case 0xdd: children = u32(view, pos + 1, end); size = 5; break; // array32
        case 0xde: children = u16(view, pos + 1, end) * 2; size = 3; break; // map16
        case 0xdf: children = u32(view, pos + 1, end) * 2; size = 5; break; // map32
        default:
          // 0xc1 is "never used" in the spec.
          throw new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `Invalid MessagePack type byte 0x${t.toString(16)} at offset ${pos}.` : [t.toString(16), pos]);
      }
    }
    pos += size;
    if (pos > end) throw truncated(end);
    if (children > 0) {
      if (stack.length >= maxDepth) {
        throw new FramingError(
          FRAMING_ERROR_CODES.PAYLOAD_TOO_DEEP,
          ERROR_TEXTS ? `The payload is nested more than ${maxDepth} levels deep. Flatten the data or raise maxPayloadDepth on the receiver.` : [maxDepth],
          { details: { maxDepth } },
        );
      }
      // Every item takes at least one byte, so a count beyond the bytes left is a lie.
      if (children > end - pos) throw truncated(end);
      stack.push(remaining);
      remaining = children;
    }
  }
  if (pos !== end) {
    throw new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `${end - pos} unexpected bytes after the MessagePack value.` : [end - pos]);
  }
}

function truncated(at: number): FramingError {
  return new FramingError(FRAMING_ERROR_CODES.MALFORMED_ENVELOPE, ERROR_TEXTS ? `The MessagePack value is truncated at offset ${at}.` : [at]);
}

function u8(view: DataView, at: number, end: number): number {
  if (at + 1 > end) throw truncated(end);
  return view.getUint8(at);
}
function u16(view: DataView, at: number, end: number): number {
  if (at + 2 > end) throw truncated(end);
  return view.getUint16(at);
}
function u32(view: DataView, at: number, end: number): number {
  if (at + 4 > end) throw truncated(end);
  return view.getUint32(at);
}
