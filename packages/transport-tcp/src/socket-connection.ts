import type { Socket } from "node:net";
import { ERROR_TEXTS, argumentError, byteArrayLength, byteArrayView, isXppgError } from "@xppg/errors";
import { FRAME_HEADER_SIZE, FrameDecoder, writeFrameHeader } from "@xppg/framing";
import { TRANSPORT_ERROR_CODES, type Connection } from "@xppg/transport";
import {
  ConnectionCore,
  connectionResetError,
  hostFromIp,
  endLoanThrough,
  lendRoomThrough,
  protocolError,
  sendLentThrough,
  TickHooks,
  writeFailedError,
  type ConnectionCoreOptions,
  type ConnectionLink,
  type LinkController,
} from "@xppg/transport/adapter";
import { largeBatch, returnBatch, takeBatch, type SendBatch } from "./batch-pool.js";
import { BATCH_BYTES, BY_REFERENCE_BYTES, TCP_TRANSPORT_NAME } from "./constants.js";
import { ReadBuffer, readIntoBuffer } from "./read-buffer.js";

/** What a TCP connection needs besides its socket. */
export interface SocketConnectionOptions extends Omit<ConnectionCoreOptions, "transport" | "remoteHost"> {
  /** The peer's IP, as the socket reports it. */
  remoteIp: string;
  closeTimeoutMs: number;
  /**
   * Nagle's algorithm is off on the socket: the first frame of a tick is
   * written at once. With it on, a tick's frames leave in one write (two
   * would let Nagle hold the second until the first is acknowledged).
   * @default true
   */
  noDelay?: boolean;
}

// One shared, already-resolved promise: the common case of `send` allocates nothing.
const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = Buffer.alloc(0);

/**
 * A {@link Connection} over a connected `net.Socket`, frames delimited with
 * `@xppg/framing`'s 4-byte length prefix: the shared close and flow state
 * of `@xppg/transport/adapter` over a {@link SocketLink}.
 */
export function socketConnection(socket: Socket, options: SocketConnectionOptions): Connection {
  return new SocketConnection(socket, options);
}

/** The core over a {@link SocketLink}, with the link's end of tick (`Connection.atTickEnd`) for the layers above. */
class SocketConnection extends ConnectionCore {
  readonly #link: SocketLink;

  constructor(socket: Socket, options: SocketConnectionOptions) {
    let link!: SocketLink;
    super({ ...options, transport: TCP_TRANSPORT_NAME, remoteHost: hostFromIp(options.remoteIp) }, (controller) => (link = new SocketLink(socket, controller, options)));
    this.#link = link;
  }

  atTickEnd(fn: () => void): boolean {
    return this.#link.atTickEnd(fn);
  }

  lendRoom(min: number, max: number): Uint8Array | undefined {
    return lendRoomThrough(this, this.#link, min, max);
  }

  sendLent(length: number): Promise<void> {
    return sendLentThrough(this, this.#link, length);
  }

  endLoan(): void {
    endLoanThrough(this.#link);
  }
}

/** A loan takes a fresh batch rather than the rest of the current one when less than this is left (a bundle per few messages otherwise). */
const MIN_LOAN_BYTES = 4096;

/**
 * The socket code of a TCP connection.
 *
 * Write path: each `send` copies its frame (header and payload) into a batch
 * buffer; `sendParts` copies small parts the same way and queues parts of
 * {@link BY_REFERENCE_BYTES} or more by reference. With `noDelay` (the
 * default) the first frame of an event-loop tick is written at once; what
 * the rest of the tick sent (all of it, without `noDelay`) goes out in one
 * corked write on `process.nextTick` (or, when the kernel took the first
 * write whole, in that write's callback, which Node runs there too). The next tick's
 * frames go on into the same batch after what was cut for the socket, so
 * batches leave full and the few in flight come back to the pool (a batch
 * retired after each tick's one or two frames made the sender allocate
 * several a millisecond under bulk traffic). `send` returns a
 * shared resolved promise while the socket's buffer plus the pending bytes
 * are under the high-water mark.
 *
 * Read path: the socket reads into a {@link ReadBuffer}, reused while the
 * sink releases every frame (a secure channel does), which hands out frames
 * as views (no copy) straight to the controller, whose inbox holds frames
 * for a paused sink and pauses the socket at the high-water mark. Where
 * Node's fields for that are not found, the socket's `"data"` chunks go
 * through a {@link FrameDecoder} instead, frames inside one chunk as views of it.
 */
class SocketLink implements ConnectionLink {
  readonly #socket: Socket;
  readonly #controller: LinkController;
  readonly #remoteAddress: string;
  readonly #highWaterMark: number;
  /** The read path: a reused buffer, or Node's chunks through a decoder. */
  readonly #reader: ReadBuffer | null;
  readonly #decoder: FrameDecoder | null;
  readonly #onFrame: (frame: Uint8Array) => unknown;

  // Send side: the pieces waiting for the flush, in order (runs of a batch,
  // or parts sent by reference), each with the batch it was cut from (null
  // for a part sent by reference), then the batch being filled: bytes
  // before #batchStart are already cut into pieces.
  #pieces: Uint8Array[] = [];
  #owners: Array<SendBatch | null> = [];
  /** Entries of the two lists in use: they are reused, not made again, by each flush (one per message in a ping-pong). */
  #count = 0;
  /** The last flush's two lists, emptied, for the next one; null during a flush. */
  #sparePieces: Uint8Array[] | null = [];
  #spareOwners: Array<SendBatch | null> | null = [];
  #batch: SendBatch | null = null;
  #batchStart = 0;
  #batchLength = 0;
  #pendingBytes = 0;
  /** Where the header of the frame being written in place goes (`lendRoom`), or -1 when nothing is lent. */
  #lentAt = -1;
  /** The size of that loan's view. */
  #lentSize = 0;
  #flushScheduled = false;
  /**
   * The tick's first frame was written at once and nothing of it stayed
   * buffered (the kernel took every byte, or the write failed at once: the
   * socket counts the bytes as gone either way): Node calls that write's
   * callback on the tick queue, where our own flush would have run, with or
   * without an error, and the callback ends the tick (one callback fewer on
   * the tick queue for each message of a ping-pong). So both write callbacks
   * call `#written` first and whatever the error: a conditional call would
   * strand the tick's later frames.
   */
  #tickEndsAtWrite = false;
  /** What layers above asked to run at this tick's end, before its frames are written (`atTickEnd`). */
  readonly #tickHooks = new TickHooks();
  /** The tick's first frame is written at once (only with Nagle's algorithm off). */
  readonly #writeAtOnce: boolean;

  constructor(socket: Socket, controller: LinkController, options: SocketConnectionOptions) {
    this.#socket = socket;
    this.#controller = controller;
    this.#remoteAddress = options.remoteAddress;
    this.#highWaterMark = options.highWaterMark;
    this.#writeAtOnce = options.noDelay ?? true;
    this.#onFrame = controller.frame;
    const reader = new ReadBuffer(options.maxFrameSize);
    if (readIntoBuffer(socket, () => reader.next(), (length) => this.#onRead(length))) {
      this.#reader = reader;
      this.#decoder = null;
      // Flowing, so that Node reports the end of the stream.
      socket.resume();
    } else {
      this.#reader = null;
      this.#decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize });
      socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    }
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err: Error) => controller.error(connectionResetError(this.#remoteAddress, err)));
    socket.on("drain", () => this.#checkWaiters());
    // No tick's hooks are left to run here: a tick's end is either our own process.nextTick, queued when
    // the tick opened, or the callback of a write the kernel took whole, which Node queues on the tick queue
    // at that write (with or without an error, destroyed or not), so both come before 'close', whose
    // emission waits for the handle to close (a later turn of the loop).
    socket.on("close", () => controller.closed());
  }

  pauseReading(): void {
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#socket.resume();
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    this.#lentAt = -1;
    // The core's reading of the frame's size (the language's getter): `frame.length` may lie, and the header
    // would then count bytes of the batch that `set` never wrote (an earlier frame's).
    this.#append(frame, length);
    return this.#sent();
  }

  /**
   * The free room after what is queued in the batch, as a view past the
   * frame's header: the frame is written there in place (no copy into the
   * batch). Less than {@link MIN_LOAN_BYTES} left (and `min` fits in a
   * fresh one), a fresh batch.
   */
  lendRoom(min: number, max: number): Uint8Array {
    this.#lentAt = -1;
    const batch = this.#room(FRAME_HEADER_SIZE + Math.max(min, Math.min(max, MIN_LOAN_BYTES)));
    const at = this.#batchLength;
    const size = Math.max(min, Math.min(max, batch.byteLength - at - FRAME_HEADER_SIZE));
    this.#lentAt = at;
    this.#lentSize = size;
    return new Uint8Array(this.#batch!.buffer, batch.byteOffset + at + FRAME_HEADER_SIZE, size);
  }

  sendLent(length: number): Promise<void> | null {
    const at = this.#lentAt;
    if (at < 0) return null;
    this.#lentAt = -1;
    // Past the room lent (or not a length): the caller's mistake, reported by the core; the loan ends all the same.
    if (!(Number.isInteger(length) && length >= 0 && length <= this.#lentSize)) return null;
    writeFrameHeader(this.#batch!.bytes, at, length);
    this.#batchLength = at + FRAME_HEADER_SIZE + length;
    this.#pendingBytes += FRAME_HEADER_SIZE + length;
    return this.#sent();
  }

  endLoan(): void {
    this.#lentAt = -1;
  }

  sendParts(parts: readonly Uint8Array[], length: number): Promise<void> {
    this.#lentAt = -1;
    const batch = this.#room(FRAME_HEADER_SIZE);
    writeFrameHeader(batch, this.#batchLength, length);
    this.#batchLength += FRAME_HEADER_SIZE;
    for (const part of parts) {
      // The language's getter, as the core measured `length` (a part's own `length` may lie).
      const size = byteArrayLength(part);
      if (size >= BY_REFERENCE_BYTES) {
        // Handed over by the caller: written from where it lies, through a plain view (the socket's write
        // reads `buffer`, `byteOffset` and `byteLength`, which the caller's array may answer falsely).
        this.#cut();
        this.#queuePiece(byteArrayView(part, size), null);
      } else {
        this.#room(size).set(part, this.#batchLength);
        this.#batchLength += size;
      }
    }
    this.#pendingBytes += FRAME_HEADER_SIZE + length;
    return this.#sent();
  }

  /**
   * Runs `fn` when this tick's frames are flushed, before they are written:
   * the frames it sends join them. Only while a tick is open (its first
   * frame was sent): then its end is already scheduled, and the layer above
   * (an outbox, a record layer) needs no callback of its own.
   */
  atTickEnd(fn: () => void): boolean {
    if (!this.#flushScheduled) return false;
    this.#tickHooks.add(fn);
    return true;
  }

  /** Schedules the flush; the promise a send returns. */
  #sent(): Promise<void> {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The tick's first frame is written at once (a reply waits for no turn); the rest of the tick's follow in one write.
      // With Nagle on, a second write would wait for the first's ACK (delayed up to ~40 ms): the whole tick waits and leaves in one.
      // Written whole, its write's callback ends the tick (Node queues it on the tick queue, where this flush would go).
      // In a finally: a write that throws must still leave the tick an end, as the flush queued before it did.
      let whole = false;
      try {
        whole = this.#writeAtOnce && this.#flush() && this.#socket.writableLength === 0;
      } finally {
        if (whole) this.#tickEndsAtWrite = true;
        else process.nextTick(this.#flushTick);
      }
    }
    if (this.#socket.writableLength + this.#pendingBytes < this.#highWaterMark) return RESOLVED;
    return this.#controller.wait();
  }

  end(): void {
    this.#lentAt = -1;
    this.#flush();
    this.#socket.end();
    // Input is discarded from now on: read on (if backpressure had paused the socket) to see the peer's FIN.
    this.#socket.resume();
  }

  /** A local `close(error)` or a peer fault: drop what is queued and reset. */
  abort(): void {
    this.#dropQueued();
    // A reset (RST), not a FIN: the peer learns the connection was aborted.
    if (!this.#socket.destroyed) this.#socket.resetAndDestroy();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Copies one frame, with its length prefix, into the batch being filled. */
  #append(frame: Uint8Array, length: number): void {
    const need = FRAME_HEADER_SIZE + length;
    const batch = this.#room(need);
    const at = this.#batchLength;
    writeFrameHeader(batch, at, length);
    batch.set(frame, at + FRAME_HEADER_SIZE);
    this.#batchLength = at + need;
    this.#pendingBytes += need;
  }

  /** The batch being filled, with at least `need` free bytes after #batchLength (a new one if it had not). */
  #room(need: number): Buffer {
    const batch = this.#batch;
    if (batch !== null && batch.bytes.length - this.#batchLength >= need) return batch.bytes;
    this.#retireBatch();
    const next = need > BATCH_BYTES ? largeBatch(need) : takeBatch(need + this.#pendingBytes);
    this.#batch = next;
    this.#batchStart = 0;
    this.#batchLength = 0;
    return next.bytes;
  }

  /** Queues the bytes of the batch written since the last cut as one piece. */
  #cut(): void {
    const batch = this.#batch;
    if (batch === null || this.#batchLength === this.#batchStart) return;
    this.#queuePiece(batch.bytes.subarray(this.#batchStart, this.#batchLength), batch);
    batch.unwritten++;
    this.#batchStart = this.#batchLength;
  }

  #queuePiece(piece: Uint8Array, owner: SendBatch | null): void {
    const at = this.#count++;
    this.#pieces[at] = piece;
    this.#owners[at] = owner;
  }

  /** Done filling the batch: it is recycled once every piece cut from it is written. */
  #retireBatch(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#cut();
    batch.retired = true;
    if (batch.unwritten === 0) returnBatch(batch);
    this.#batch = null;
    this.#batchStart = 0;
    this.#batchLength = 0;
  }

  readonly #flushTick = (): void => {
    // The hooks run while the tick is still open: what they send joins its frames, in order.
    if (this.#tickHooks.waiting) this.#tickHooks.run();
    this.#flushScheduled = false;
    this.#flush();
  };

  /** A write's callback: the end of the tick whose first frame it wrote at once (see #tickEndsAtWrite). */
  #written(): void {
    if (!this.#tickEndsAtWrite) return;
    this.#tickEndsAtWrite = false;
    this.#flushTick();
  }

  /** Writes what is pending; false when nothing was handed to the socket (so no write's callback will come). */
  #flush(): boolean {
    if (this.#pendingBytes === 0) return false;
    const socket = this.#socket;
    // The batch stays open: the next tick's frames follow in it.
    this.#cut();
    const pieces = this.#pieces;
    const owners = this.#owners;
    const count = this.#count;
    this.#pieces = this.#sparePieces ?? [];
    this.#owners = this.#spareOwners ?? [];
    this.#count = 0;
    this.#sparePieces = null;
    this.#spareOwners = null;
    this.#pendingBytes = 0;
    if (socket.destroyed || socket.writableEnded) return false;
    // Several pieces: cork so they leave in one writev.
    if (count > 1) socket.cork();
    for (let i = 0; i < count; i++) {
      const piece = pieces[i]!;
      const batch = owners[i];
      // The lists are kept: they must not keep what was written alive.
      pieces[i] = EMPTY;
      owners[i] = null;
      // A part sendParts took by reference (never under BY_REFERENCE_BYTES) that lost its bytes before its write:
      // its buffer was detached (transferred) or shrunk. Its header counted them, and the peer would read on out
      // of step: nothing more leaves, the connection is reset with the reason.
      if (batch == null && piece.length < BY_REFERENCE_BYTES) {
        pieces.fill(EMPTY, i, count);
        owners.fill(null, i, count);
        if (count > 1) socket.uncork();
        this.#handedOverGone();
        return i > 0;
      }
      socket.write(piece, batch == null ? this.#afterWrite : (err) => this.#afterBatchWrite(batch, err));
    }
    if (count > 1) socket.uncork();
    this.#sparePieces = pieces;
    this.#spareOwners = owners;
    this.#checkWaiters();
    return count > 0;
  }

  // Each piece handed to the kernel frees room: wake waiting senders without
  // waiting for the whole buffer to empty ('drain'), and recycle batches.
  readonly #afterWrite = (): void => {
    try {
      this.#written();
    } finally {
      this.#checkWaiters();
    }
  };

  #afterBatchWrite(batch: SendBatch, err: Error | null | undefined): void {
    try {
      this.#written();
    } finally {
      this.#afterBatchWritten(batch, err);
    }
  }

  /** A batch's bookkeeping after a write of it: whatever the tick's end did, the batch goes back to the pool and waiting senders are released. */
  #afterBatchWritten(batch: SendBatch, err: Error | null | undefined): void {
    if (--batch.unwritten === 0 && err == null) {
      // Everything cut from the open batch is written and nothing follows yet:
      // an idle connection holds no batch (the pool has it for the next tick).
      // (Not while room of it is lent.)
      if (batch === this.#batch && this.#batchLength === this.#batchStart && this.#lentAt < 0) {
        this.#batch = null;
        this.#batchStart = 0;
        this.#batchLength = 0;
        batch.retired = true;
      }
      if (batch.retired) returnBatch(batch);
    }
    this.#checkWaiters();
  }

  #checkWaiters(): void {
    const controller = this.#controller;
    if (!controller.waiting) return;
    if (this.#socket.writableLength + this.#pendingBytes >= this.#highWaterMark) return;
    controller.release();
  }

  #onRead(length: number): void {
    const reader = this.#reader!;
    // After close() this side wants no more frames: skip decoding, keep reading to see the FIN.
    if (!this.#controller.receiving) {
      reader.discard();
      return;
    }
    try {
      reader.received(length, this.#onFrame);
    } catch (err) {
      reader.discard();
      this.#failRead(err);
    }
  }

  #onData(chunk: Buffer): void {
    if (!this.#controller.receiving) return;
    try {
      // A plain view of the chunk: frames cut from it are Uint8Array, as on the fast path (a Buffer's differ: toString, slice).
      this.#decoder!.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), this.#onFrame);
    } catch (err) {
      this.#failRead(err);
    }
  }

  #failRead(err: unknown): void {
    // The decoder's own error for an oversized length is the one to report as it is.
    const error = isXppgError(err, TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE) ? err : protocolError(this.#remoteAddress, "its frames could not be decoded", err);
    this.#controller.fail(error);
  }

  #onEnd(): void {
    const reader = this.#reader;
    const held = reader !== null ? reader.bufferedBytes : this.#decoder!.bufferedBytes;
    if ((reader !== null ? held > 0 : !this.#decoder!.idle) && this.#controller.receiving) {
      this.#controller.fail(protocolError(this.#remoteAddress, `it closed in the middle of a frame (${held} bytes of it were received)`));
      return;
    }
    // The peer finished sending. Node ends our side too (allowHalfOpen is off).
    this.#controller.ended();
  }

  /** A part handed over to sendParts lost its bytes before it was written: the connection is reset, with why. */
  #handedOverGone(): void {
    const why = argumentError(
      TypeError,
      ERROR_TEXTS ? "a part handed to sendParts lost its bytes before it was written (its buffer was detached or shrunk); parts handed to sendParts are the connection's from then on: send copies instead" : [],
    );
    this.#controller.error(writeFailedError(this.#remoteAddress, why));
    this.abort();
  }

  #dropQueued(): void {
    this.#lentAt = -1;
    this.#pieces = [];
    this.#owners = [];
    this.#count = 0;
    this.#batch = null;
    this.#batchStart = 0;
    this.#batchLength = 0;
    this.#pendingBytes = 0;
  }
}
