// Memory for a frame being assembled: zero-filling 1 MiB costs as much as copying it, and it is overwritten anyway.
import { allocateUninitialized } from "#alloc";
import { DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_SIZE, MAX_FRAME_SIZE_LIMIT } from "./constants.js";
import { frameTooLargeError } from "./errors.js";
import { ERROR_TEXTS, badArgumentError, valuesMessage } from "@xppg/errors";

/**
 * What a frame callback (a {@link FrameDecoder}'s `onFrame`, a transport's
 * `FrameSink.frame`) returns to say that it keeps nothing of the frame's
 * bytes after the call (no reference, no view: it decrypted them elsewhere,
 * say), so their memory may be reused for a later frame. A marker that no
 * callback returns by accident; returning anything else is always safe.
 */
export const FRAME_RELEASED: unique symbol = Symbol.for("xppg.frame-released");

/**
 * Frames assembled across chunks with a declared length from REUSE_MIN to
 * REUSE_SIZE may go to a reused buffer of REUSE_SIZE bytes (see
 * {@link FRAME_RELEASED}). REUSE_SIZE is 64 KiB and 2 KiB more: room for a
 * 64 KiB message's frame with the largest envelope head (2,001 bytes: kind,
 * source and destination at their longest in UTF-8, and a signature) and a
 * MessagePack length. With 64 KiB only, the frames of a stream of 64 KiB
 * messages (a few bytes past it) each took a buffer of their own, released
 * or not (issue 15: the encrypted bulk receiver's peak RSS).
 */
const REUSE_MIN = 32 * 1024;
const REUSE_SIZE = 66 * 1024;
/** Reassembly buffers waiting for reuse, shared by every decoder of the process (at most 264 KiB): a decoder holds one at most while it assembles. */
const MAX_SPARE = 4;
const spares: ArrayBuffer[] = [];
/**
 * How many bytes from the start of each spare (same index) may hold an
 * earlier frame's: the rest is zero. A spare may come from another
 * connection, and a frame lent one is a view whose `buffer` is the whole
 * spare: the bytes past the new frame that an earlier one wrote are zeroed
 * before it is lent (none when frames are of one size), so a frame kept
 * (or read through its `buffer`) reaches no other frame's bytes.
 */
const spareWritten: number[] = [];

/** Options for {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Largest frame accepted. A larger declared length is an error before a
   * byte of its payload is buffered.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
}

/**
 * Incremental decoder for length-prefixed frames. Feed it stream chunks of
 * any size with {@link FrameDecoder.push}; it calls back once per whole frame.
 *
 * Frames that lie wholly inside one chunk are delivered as views into that
 * chunk (no copy); a frame split across chunks is assembled in a buffer of
 * its declared size, allocated only after the size passed the limit. Such
 * a buffer of 32 to 66 KiB whose frame the callback released (returned
 * {@link FRAME_RELEASED}) is reused for a later frame (at most four wait, process-wide), so
 * a stream of records that a layer above decrypts elsewhere leaves no dead
 * buffer per record.
 * After an error the decoder is spent: drop the connection.
 */
export class FrameDecoder {
  readonly maxFrameSize: number;
  #header = new Uint8Array(FRAME_HEADER_SIZE);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  /** The body's memory may be reused once its frame is released. */
  #bodyReusable = false;
  /** The last frame assembled here was released: the next one is likely to be too. */
  #released = false;
  #failed = false;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_SIZE_LIMIT) {
      throw badArgumentError(RangeError, "FrameDecoder", "maxFrameSize", ERROR_TEXTS && [`an integer from 0 to ${MAX_FRAME_SIZE_LIMIT}`, max, true]);
    }
    this.maxFrameSize = max;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** True between frames: nothing partial is held. */
  get idle(): boolean {
    return this.#headerFill === 0 && this.#body === null;
  }

  /**
   * Bytes the frame being assembled still lacks: 0 between frames and while
   * a length prefix is incomplete. A caller that has that many bytes or
   * fewer for this frame may write them straight into
   * {@link FrameDecoder.bodyWindow} (decrypt into it, say) instead of
   * pushing them, and so save a copy.
   */
  get pendingBodyBytes(): number {
    const body = this.#body;
    return body === null ? 0 : body.length - this.#bodyFill;
  }

  /**
   * The next `length` bytes of the frame being assembled, to be written by
   * the caller and then handed over with {@link FrameDecoder.commitBody}.
   * Throws a `RangeError` past {@link FrameDecoder.pendingBodyBytes}.
   */
  bodyWindow(length: number): Uint8Array {
    const body = this.#body;
    if (body === null || !Number.isInteger(length) || length < 0 || length > body.length - this.#bodyFill) {
      throw new RangeError(ERROR_TEXTS ? `bodyWindow(${length}): the frame being assembled lacks ${this.pendingBodyBytes} bytes` : valuesMessage("", [length, this.pendingBodyBytes]));
    }
    return body.subarray(this.#bodyFill, this.#bodyFill + length);
  }

  /**
   * Counts `length` bytes written into {@link FrameDecoder.bodyWindow} as
   * received, and calls `onFrame` if they complete the frame.
   */
  commitBody(length: number, onFrame: (frame: Uint8Array) => void): void {
    const body = this.#body;
    if (this.#failed) throw new Error(ERROR_TEXTS ? "FrameDecoder used after an error; drop the connection instead" : valuesMessage("", []));
    if (body === null || !Number.isInteger(length) || length < 0 || length > body.length - this.#bodyFill) {
      throw new RangeError(ERROR_TEXTS ? `commitBody(${length}): the frame being assembled lacks ${this.pendingBodyBytes} bytes` : valuesMessage("", [length, this.pendingBodyBytes]));
    }
    this.#bodyFill += length;
    if (this.#bodyFill === body.length) this.#complete(body, onFrame);
  }

  /** The frame being assembled is whole: hand it over, and keep its memory if it is released. */
  #complete(body: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    const reusable = this.#bodyReusable;
    this.#body = null;
    this.#bodyFill = 0;
    this.#bodyReusable = false;
    this.#released = (onFrame(body) as unknown) === FRAME_RELEASED;
    if (this.#released && reusable && spares.length < MAX_SPARE) {
      spares.push(body.buffer as ArrayBuffer);
      spareWritten.push(body.length);
    }
  }

  /**
   * Consumes `chunk`, calling `onFrame` for each frame it completes.
   * Throws `XPPG_ERR_FRAME_TOO_LARGE` for a frame over the limit (frames
   * completed earlier in the same chunk have been delivered by then).
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (this.#failed) throw new Error(ERROR_TEXTS ? "FrameDecoder used after an error; drop the connection instead" : valuesMessage("", []));
    let pos = 0;
    const end = chunk.length;
    // Where the frames of this chunk released since the last one kept start (-1: none): a frame kept is a view of the
    // chunk, whose `buffer` would show them, so they are zeroed once it is kept.
    let released = -1;
    while (pos < end) {
      if (this.#body !== null) {
        // Continue a frame split across chunks.
        const body = this.#body;
        const take = Math.min(body.length - this.#bodyFill, end - pos);
        body.set(chunk.subarray(pos, pos + take), this.#bodyFill);
        this.#bodyFill += take;
        pos += take;
        if (this.#bodyFill === body.length) this.#complete(body, onFrame);
        continue;
      }
      let length: number;
      if (this.#headerFill === 0 && end - pos >= FRAME_HEADER_SIZE) {
        // Fast path: the whole header is in this chunk.
        length = ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16) | (chunk[pos + 2]! << 8) | chunk[pos + 3]!) >>> 0;
        pos += FRAME_HEADER_SIZE;
      } else {
        while (this.#headerFill < FRAME_HEADER_SIZE && pos < end) this.#header[this.#headerFill++] = chunk[pos++]!;
        if (this.#headerFill < FRAME_HEADER_SIZE) return;
        const h = this.#header;
        length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
        this.#headerFill = 0;
      }
      if (length > this.maxFrameSize) {
        this.#failed = true;
        throw frameTooLargeError(length, this.maxFrameSize, "received");
      }
      if (end - pos >= length) {
        const frame = chunk.subarray(pos, pos + length);
        const at = pos;
        pos += length;
        if ((onFrame(frame) as unknown) === FRAME_RELEASED) {
          if (released < 0) released = at;
        } else if (released >= 0) {
          chunk.fill(0, released, at - FRAME_HEADER_SIZE);
          released = -1;
        }
      } else {
        // Every byte of the frame is written before it is delivered: no need to zero it.
        // A frame kept by its reader gets a buffer of its own size: a reused
        // one is only lent where the last frame was released.
        const reusable = this.#released && length >= REUSE_MIN && length <= REUSE_SIZE;
        this.#body = reusable ? lend(length) : allocateUninitialized(length);
        this.#bodyReusable = reusable;
        this.#bodyFill = 0;
      }
    }
  }
}

/**
 * A buffer of REUSE_SIZE bytes for a frame of `length`, as a view of its
 * first `length` bytes: a spare, or new memory. Past `length` it holds
 * zeros only, never an earlier frame's bytes nor memory the process used
 * before (see {@link spareWritten}).
 */
function lend(length: number): Uint8Array {
  const spare = spares.pop();
  if (spare === undefined) {
    const block = allocateUninitialized(REUSE_SIZE);
    block.fill(0, length);
    return block.subarray(0, length);
  }
  const written = spareWritten.pop()!;
  if (written > length) new Uint8Array(spare, length, written - length).fill(0);
  return new Uint8Array(spare, 0, length);
}
