import { checkByteArray } from "@xppg/errors";
import { DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_SIZE } from "./constants.js";
import { frameTooLargeError } from "./errors.js";

/**
 * Encodes one frame: a 4-byte big-endian length, then the payload.
 * Throws `XPPG_ERR_FRAME_TOO_LARGE` if the payload exceeds `maxFrameSize`.
 */
export function encodeFrame(payload: Uint8Array, maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE): Uint8Array {
  // The language's getter: the payload's own `byteLength` may lie.
  const length = checkByteArray(payload, "encodeFrame", "payload");
  if (length > maxFrameSize) throw frameTooLargeError(length, maxFrameSize, "sent");
  const out = new Uint8Array(FRAME_HEADER_SIZE + length);
  writeFrameHeader(out, 0, length);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Encodes many frames into one buffer, ready for a single socket write.
 * Coalescing the frames of one event-loop tick this way is where most of a
 * stream transport's small-message speed comes from. Sizes are not checked
 * here: check each payload when it is queued.
 */
export function encodeFrames(payloads: readonly Uint8Array[], totalPayloadBytes?: number): Uint8Array {
  let total = 0;
  if (totalPayloadBytes === undefined) for (const p of payloads) total += checkByteArray(p, "encodeFrames", "payloads[i]");
  else total = totalPayloadBytes;
  const out = new Uint8Array(total + FRAME_HEADER_SIZE * payloads.length);
  let offset = 0;
  for (const p of payloads) {
    // The language's getter, each time: a payload's own `byteLength` may lie.
    const length = checkByteArray(p, "encodeFrames", "payloads[i]");
    writeFrameHeader(out, offset, length);
    out.set(p, offset + FRAME_HEADER_SIZE);
    offset += FRAME_HEADER_SIZE + length;
  }
  return out;
}

/** The number of bytes {@link encodeFrame} produces for a payload of `payloadLength` bytes. */
export function encodedFrameLength(payloadLength: number): number {
  return FRAME_HEADER_SIZE + payloadLength;
}

/** Writes a frame's 4-byte big-endian length prefix at `offset` of `out` (for code that lays frames out itself). */
export function writeFrameHeader(out: Uint8Array, offset: number, length: number): void {
  out[offset] = length >>> 24;
  out[offset + 1] = (length >>> 16) & 0xff;
  out[offset + 2] = (length >>> 8) & 0xff;
  out[offset + 3] = length & 0xff;
}
