import type { Socket } from "node:net";
import { FRAME_HEADER_SIZE, FRAME_RELEASED, frameTooLargeError } from "@xppg/framing";
import { ALIGN_READS_FROM_BYTES, BATCH_BYTES, READ_BUFFER_BYTES, MIN_KEPT_READ_BYTES, MIN_READ_BYTES } from "./constants.js";

/**
 * The socket's read memory, reused: the socket reads into it, after the
 * bytes already there, and frames are cut from it as views. While the sink
 * releases every frame (returns `FRAME_RELEASED`: a secure channel that
 * decrypts each record elsewhere), the same buffer serves every read: no
 * chunk is allocated per read, and a frame split between two reads lies
 * whole in it, never assembled by a copy. Once a frame is kept, its bytes
 * are never written over: the next reads go after it, and then to a new
 * buffer. Only the bytes of a frame not yet complete are ever moved.
 *
 * A kept frame is a view whose `buffer` is the whole read buffer. A read
 * buffer is zeroed memory when made (the process may have held another
 * connection's bytes there), so it only ever holds this connection's reads;
 * when a frame is kept, the bytes of the frames released before it (since
 * the last frame kept) and those an earlier use of the buffer left past the
 * bytes read are zeroed as the sink returns. Its `buffer` then reaches the
 * frames kept with it (which the sink keeps: other messages of the
 * connection), the frames read after it, and zeros. Where the sink kept the
 * last frame, the bytes an earlier use left past those read are zeroed
 * before the next frame is handed over.
 */
export class ReadBuffer {
  readonly #maxFrameSize: number;
  // Zeroed memory (see #replace): a kept frame's `buffer` never reaches what the process held there before.
  #bytes: Buffer = Buffer.alloc(READ_BUFFER_BYTES);
  /**
   * The same memory as a plain Uint8Array: frames are cut from it, since a
   * Buffer's `subarray` (a JavaScript wrapper making a Buffer) costs several
   * times a Uint8Array's, and the layers above take it once per frame.
   */
  #view: Uint8Array = plain(this.#bytes);
  /** First byte not yet cut into a frame. */
  #start = 0;
  /** End of the bytes read. */
  #end = 0;
  /** A frame cut from #bytes was kept by the sink: its memory is the sink's. */
  #kept = false;
  /** Bytes of #bytes from its start that earlier reads wrote (zero past it): past the bytes read, what they left is not the current frames'. */
  #written = 0;
  /** Where the frames released since the last one kept (or since the buffer was last begun again) start; -1 when there are none. */
  #releasedAt = -1;
  /**
   * The memory `next` handed out last, from #bytes at #nextAt (forgotten when #bytes is replaced): handed out
   * again while it is the same (every read of a ping-pong starts at 0 of the
   * same buffer). Otherwise a view of #view, not of #bytes: a Buffer's
   * `subarray` reads the slow `buffer` getter (a call into C++) and makes a
   * Buffer, several hundred instructions, on every read that lands elsewhere
   * (every read of an encrypted ping-pong, whose frames are kept); Node reads
   * into any Uint8Array.
   */
  #next: Uint8Array | null = null;
  #nextAt = -1;
  #nextStop = -1;
  /** The sink kept the last frame (a plaintext node keeps every one; a secure channel keeps none). */
  #keeps = false;
  /** Size (with its header) of the last frame cut, or of the one being read: a new buffer is a whole number of these (see {@link ReadBuffer.#size}). */
  #frameSize = 0;
  /**
   * The largest frame (with its header) of at most {@link BATCH_BYTES} cut
   * from the current buffer, and from the one before it: the size the next
   * frame is expected to have at most (see {@link ReadBuffer.#expected}),
   * remembered over two buffers so that a burst's last, smaller frames do
   * not make it forget the burst's. A larger frame gets a buffer of its own
   * whatever room is kept for it, so it is not counted: after one frame of
   * 1 MiB, each new buffer was 1 MiB and 64 KiB more, of which the reads of
   * small frames used the first 64 KiB.
   */
  #largestHere = 0;
  #largestBefore = 0;

  constructor(maxFrameSize: number) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** The memory the socket reads into next: after the bytes held, with room for at least one large read. */
  next(): Uint8Array {
    let bytes = this.#bytes;
    // Where the memory handed out ends: the buffer's end, or (see below) before it.
    let stop = -1;
    if (this.#start === this.#end) {
      if (!this.#kept) {
        // Begun again: the bytes of the frames released are past the end now (see #written).
        this.#start = 0;
        this.#end = 0;
        this.#releasedAt = -1;
      }
      const room = bytes.length - this.#end;
      if (this.#keeps ? room < Math.max(this.#reserved(), MIN_KEPT_READ_BYTES) && !this.#wholeFrames(room) : this.#kept && room < MIN_READ_BYTES) {
        bytes = this.#replace(this.#size(), 0);
      }
      // Else the next read goes after the frames kept: small frames share a buffer.
    } else {
      const held = this.#end - this.#start;
      const frame = this.#frameEnd();
      if (held >= FRAME_HEADER_SIZE) this.#frameSize = frame;
      // Room for a full read, or for the rest of the frame when less of it is missing (a large frame read
      // into a buffer of its size is not moved again for its last bytes).
      const room = held < FRAME_HEADER_SIZE ? MIN_READ_BYTES : Math.min(MIN_READ_BYTES, frame - held);
      // The whole frame being read must fit after its start (a large frame gets a buffer of its size).
      const need = Math.max(held + room, frame);
      if (bytes.length - this.#start < need || bytes.length - this.#end < room) {
        if (!this.#kept && need <= bytes.length) {
          bytes.copyWithin(0, this.#start, this.#end);
          this.#start = 0;
          this.#end = held;
          this.#releasedAt = -1;
        } else {
          bytes = this.#replace(Math.max(this.#size(), need), held);
        }
      }
      // The frame being read may end past where the reads of a sink that keeps frames stop (below): it is read to its end.
      stop = this.#start + frame;
    }
    if (this.#keeps) {
      // The sink keeps frames, so a frame begun near the end of this buffer would be moved whole to the next
      // one. So while the last frame cut is large, no frame starts where one as large as the largest of the last
      // ones would not fit: the reads stop that far before the buffer's end (a frame already begun is read to its
      // end), or run to it once less than MIN_KEPT_READ_BYTES is left before that room (the room still holds the
      // next frame whole). A plaintext flood of small messages comes as bundles of up to 264 KiB: in buffers of
      // 256 KiB read to their end, three quarters of the bytes received were copied once more. After a small frame
      // the reads run to the end (see #reserved). Where the frames are of one size, 16 KiB to 256 KiB, and the room
      // from the frame being read (or the next) to the buffer's end holds a whole number of them (a buffer sized
      // so, see #size), they are read to its end in one read.
      const tail = bytes.length - this.#reserved();
      stop = this.#wholeFrames(bytes.length - this.#start) || (stop < 0 && tail - this.#end < MIN_KEPT_READ_BYTES) ? bytes.length : Math.min(bytes.length, Math.max(stop, tail));
    } else stop = bytes.length;
    const at = this.#end;
    const last = this.#next;
    if (last !== null && at === this.#nextAt && stop === this.#nextStop) return last;
    const memory = this.#view.subarray(at, stop);
    this.#next = memory;
    this.#nextAt = at;
    this.#nextStop = stop;
    return memory;
  }

  /**
   * `length` bytes were read into the memory {@link ReadBuffer.next} gave:
   * hands each whole frame to `onFrame`. Throws `XPPG_ERR_FRAME_TOO_LARGE`
   * for a declared length over the limit, before any of that frame is kept.
   */
  received(length: number, onFrame: (frame: Uint8Array) => unknown): void {
    const bytes = this.#view;
    const end = this.#end + length;
    this.#end = end;
    if (end > this.#written) this.#written = end;
    let pos = this.#start;
    while (end - pos >= FRAME_HEADER_SIZE) {
      const size = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
      if (size > this.#maxFrameSize) throw frameTooLargeError(size, this.#maxFrameSize, "received");
      const frameEnd = pos + FRAME_HEADER_SIZE + size;
      if (frameEnd > end) break;
      const whole = FRAME_HEADER_SIZE + size;
      this.#frameSize = whole;
      if (whole > this.#largestHere && whole <= BATCH_BYTES) this.#largestHere = whole;
      const frame = bytes.subarray(pos + FRAME_HEADER_SIZE, frameEnd);
      const at = pos;
      pos = frameEnd;
      this.#start = pos;
      // A sink that kept the last frame likely keeps this one: what no read wrote past the bytes read is zeroed before
      // the sink sees the frame (the sink may read all of its `buffer` at once), not only once it returned.
      if (this.#keeps && this.#written > end) this.#zeroUnread(end);
      const keeps = onFrame(frame) !== FRAME_RELEASED;
      this.#keeps = keeps;
      if (keeps) {
        if (this.#releasedAt >= 0 || this.#written > end) this.#zeroReleased(at, end);
        this.#kept = true;
      } else if (this.#releasedAt < 0) this.#releasedAt = at;
    }
    this.#start = pos;
  }

  /**
   * A frame kept starts at `at`, the bytes read end at `end`: the frames
   * released just before it are nobody's now, nor are the bytes past `end`
   * that earlier reads of this buffer left. Zeroed, so that the kept
   * frame's `buffer` reaches none of them.
   */
  #zeroReleased(at: number, end: number): void {
    if (this.#releasedAt >= 0) this.#view.fill(0, this.#releasedAt, at);
    this.#releasedAt = -1;
    if (this.#written > end) this.#zeroUnread(end);
  }

  /** Zeroes what no read of this connection wrote past `end`, the end of the bytes read. */
  #zeroUnread(end: number): void {
    this.#view.fill(0, end, this.#written);
    this.#written = end;
  }

  /** Nothing more will be read: drops what is held (kept frames stay the sink's). */
  discard(): void {
    this.#start = this.#end;
  }

  /**
   * The size of a new buffer: {@link READ_BUFFER_BYTES}, cut down to a
   * whole number of frames when they are large ({@link ALIGN_READS_FROM_BYTES}
   * or more, up to {@link READ_BUFFER_BYTES}): the last frame's, or where the
   * sink keeps frames the largest of the last ones while the last is as
   * large (see {@link ReadBuffer.#aligned}). A flood of large frames of one
   * size (64 KiB messages) then fills each buffer with whole frames: a
   * buffer of 256 KiB took three frames of 64 KiB and the start of a fourth,
   * which had to be moved to the next buffer (a copy of nearly 64 KiB every
   * read: 7k of a plaintext bulk receiver's 71.5k instructions per 64 KiB
   * message). Where the sink keeps frames of other sizes: at least
   * {@link READ_BUFFER_BYTES}, and the room kept for the next frame (see
   * {@link ReadBuffer.#reserved}) and {@link MIN_KEPT_READ_BYTES} more.
   */
  #size(): number {
    if (this.#keeps) {
      const frame = this.#aligned();
      if (frame === 0 || this.#frameSize !== frame) return Math.max(READ_BUFFER_BYTES, this.#reserved() + MIN_KEPT_READ_BYTES);
      return READ_BUFFER_BYTES - (READ_BUFFER_BYTES % frame);
    }
    const frame = this.#frameSize;
    if (frame < ALIGN_READS_FROM_BYTES || frame > READ_BUFFER_BYTES) return READ_BUFFER_BYTES;
    return READ_BUFFER_BYTES - (READ_BUFFER_BYTES % frame);
  }

  /**
   * The largest frame (with its header, at most {@link BATCH_BYTES}) cut
   * from this buffer or the one before it: what the next may be.
   */
  #expected(): number {
    return Math.max(this.#largestHere, this.#largestBefore);
  }

  /**
   * The room kept at the end of a buffer of kept frames for the next frame:
   * as large as the largest of the last ones while the last frame cut (or
   * being read) is at least a quarter of that; none after a smaller one, so
   * that the small frames after a large one are read on to the buffer's
   * end. (Kept after small frames too, each buffer after a frame of 264 KiB
   * was 328 KiB, of which small frames used the first 64 KiB: a frame of
   * 264 KiB, then 128 KiB of 100 B frames, over and over, allocated 2.37
   * times the bytes received, main's reader 1.35.)
   */
  #reserved(): number {
    const expected = this.#expected();
    return 4 * this.#frameSize < expected ? 0 : expected;
  }

  /**
   * The size buffers of kept frames are cut to a whole number of: the
   * largest of the last frames, when it is {@link ALIGN_READS_FROM_BYTES} to
   * {@link READ_BUFFER_BYTES}; else 0. One frame a buffer when only one fits:
   * frames of one size from 128 KiB to 256 KiB each took a buffer of their
   * size and 64 KiB more, in two reads. (Frames of several sizes are kept
   * out by `#frameSize === frame`, the last frame being the largest.)
   */
  #aligned(): number {
    const frame = this.#expected();
    return frame >= ALIGN_READS_FROM_BYTES && frame <= READ_BUFFER_BYTES ? frame : 0;
  }

  /**
   * `room` bytes from the start of the frame being read (or of the next) to
   * the buffer's end are a whole number of the frames the sink keeps, which
   * are of one size (the last is as large as the largest of the last ones):
   * the reads may run to the buffer's end, no frame will be split.
   */
  #wholeFrames(room: number): boolean {
    const frame = this.#aligned();
    return frame !== 0 && this.#frameSize === frame && room > 0 && room % frame === 0;
  }

  /** Where the frame being read ends, counted from #start (just its header while that is incomplete). */
  #frameEnd(): number {
    const bytes = this.#bytes;
    const at = this.#start;
    if (this.#end - at < FRAME_HEADER_SIZE) return FRAME_HEADER_SIZE;
    const size = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
    return FRAME_HEADER_SIZE + size;
  }

  /** Moves the `held` bytes of the frame being read to a new buffer of `size` bytes. */
  #replace(size: number, held: number): Buffer {
    // Zeroed memory from the allocator (the process may have held another connection's bytes there): cheaper than
    // zeroing, when a frame is kept, all that no read wrote yet (a kept 64 KiB frame's receiver: 15.9 to 17.2 us a
    // message against 18.4 in one same-run comparison).
    const next = Buffer.alloc(size);
    if (held > 0) this.#bytes.copy(next, 0, this.#start, this.#end);
    this.#written = held;
    this.#releasedAt = -1;
    this.#bytes = next;
    this.#largestBefore = this.#largestHere;
    this.#largestHere = 0;
    this.#view = plain(next);
    this.#next = null;
    this.#start = 0;
    this.#end = held;
    this.#kept = false;
    return next;
  }
}

function plain(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

/**
 * Makes `socket` read into the memory `next()` returns and call `read(n)`
 * after each read instead of emitting `"data"`: Node's `onread` option,
 * which `net.Server` does not offer for the sockets it accepts. It is set
 * here the way the `Socket` constructor sets it, on Node's own fields, only
 * when all of them are found (checked on Node 20 and 22) and nothing was
 * read yet; otherwise nothing changes and false is returned, and the socket
 * is read through `"data"` as before.
 */
export function readIntoBuffer(socket: Socket, next: () => Uint8Array, read: (length: number) => void): boolean {
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== "function" || socket.readableLength > 0 || socket.readableEnded) return false;
  const fields = new Map<string, symbol>();
  for (const key of Object.getOwnPropertySymbols(socket)) if (key.description !== undefined) fields.set(key.description, key);
  const buffer = fields.get("kBuffer");
  const generate = fields.get("kBufferGen");
  const callback = fields.get("kBufferCb");
  if (buffer === undefined || generate === undefined || callback === undefined) return false;
  const target = socket as unknown as Record<symbol, unknown>;
  if (target[buffer] !== null || target[generate] !== null || target[callback] !== null) return false;
  const first = next();
  const user = handle as UserBufferHandle;
  target[generate] = (): Uint8Array => {
    const memory = next();
    inRead = false;
    lastSocket = socket;
    lastHandle = user;
    lastMemory = memory;
    return memory;
  };
  target[callback] = (length: number): void => {
    inRead = true;
    read(length);
  };
  target[buffer] = first;
  user.useUserBuffer(first);
  // A closed socket is not kept alive here (nor its connection, through its listeners).
  socket.once("close", () => {
    if (lastSocket === socket) lastSocket = lastHandle = lastMemory = null;
  });
  watchUncaught();
  return true;
}

/*
 * Node takes the memory for a socket's next read from the return value of
 * the read's callback, and drops that value when the callback's scope fails:
 * when a process.nextTick callback queued by anyone throws as the scope ends
 * (the process living on through an 'uncaughtException' handler). The socket
 * then reads into the memory of the read before, over bytes already read,
 * while this side looks for them where it asked: frames came out garbled, the
 * peer was dropped as broken, and a frame kept by the application could be
 * written over. So on any uncaught exception the memory of the socket that
 * read last is handed to Node again (the same memory when nothing was
 * dropped: harmless, but for one small listener Node adds to the socket per
 * call, freed when it closes). The exception is left to the process's own
 * handlers. Not between a read's callback and the memory for the next: the
 * memory recorded then is the read's own (the read callback never throws:
 * the connection catches what its sink throws).
 */
let lastSocket: Socket | null = null;
let inRead = false;
let lastHandle: UserBufferHandle | null = null;
let lastMemory: Uint8Array | null = null;
let watching = false;

function watchUncaught(): void {
  if (watching) return;
  watching = true;
  process.on("uncaughtExceptionMonitor", restoreReadMemory);
}

function restoreReadMemory(): void {
  const socket = lastSocket;
  const handle = lastHandle;
  const memory = lastMemory;
  if (inRead) return;
  lastSocket = null;
  lastHandle = null;
  lastMemory = null;
  if (socket === null || handle === null || memory === null || socket.destroyed) return;
  if ((socket as unknown as { _handle?: unknown })._handle !== handle) return;
  handle.useUserBuffer(memory);
}
