import type { Socket } from "node:net";
import type { XppgError } from "@xppg/errors";
import { FRAME_HEADER_SIZE, FrameDecoder, writeFrameHeader } from "@xppg/framing";
import {
  FrameInbox,
  connectionClosedError,
  connectionResetError,
  frameTooLargeError,
  protocolError,
  type CloseInfo,
  type Connection,
  type FrameSink,
  SendWaiters,
  partsLength,
} from "@xppg/transport";
import { returnBatch, takeBatch } from "./batch-pool.js";
import { BATCH_BYTES, BY_REFERENCE_BYTES, TCP_TRANSPORT_NAME } from "./constants.js";

/** What a {@link SocketConnection} needs besides its socket. */
export interface SocketConnectionOptions {
  outbound: boolean;
  localAddress: string;
  remoteAddress: string;
  maxFrameSize: number;
  highWaterMark: number;
  closeTimeoutMs: number;
}

// One shared, already-resolved promise: the common case of `send` allocates nothing.
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A {@link Connection} over a connected `net.Socket`, frames delimited with
 * `@xppg/framing`'s 4-byte length prefix.
 *
 * Write path: each `send` copies its frame (header and payload) into a batch
 * buffer; `sendParts` copies small parts the same way and queues parts of
 * {@link BY_REFERENCE_BYTES} or more by reference. What one event-loop tick
 * sent goes out in one corked write on `process.nextTick`. `send` returns a
 * shared resolved promise while the socket's buffer plus the pending bytes
 * are under the high-water mark.
 *
 * Read path: {@link FrameDecoder} hands out frames that lie inside one chunk
 * as views of that chunk (no copy); a {@link FrameInbox} holds frames for a
 * paused sink and pauses the socket at the high-water mark.
 */
export class SocketConnection implements Connection {
  readonly transport = TCP_TRANSPORT_NAME;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly outbound: boolean;
  readonly closed: Promise<CloseInfo>;
  readonly #socket: Socket;
  readonly #maxFrameSize: number;
  readonly #highWaterMark: number;
  readonly #closeTimeoutMs: number;
  readonly #decoder: FrameDecoder;
  readonly #inbox: FrameInbox;
  readonly #onFrame: (frame: Uint8Array) => void;
  #resolveClosed!: (info: CloseInfo) => void;

  // Send side: the pieces waiting for the flush, in order (runs of a batch,
  // or parts sent by reference), each with the batch to recycle once it is
  // written (set on the last piece cut from that batch), then the batch
  // being filled: bytes before #batchStart are already cut into pieces.
  #pieces: Uint8Array[] = [];
  #release: Array<Buffer | null> = [];
  #batch: Buffer | null = null;
  #batchStart = 0;
  #batchLength = 0;
  #batchLastPiece = -1;
  #pendingBytes = 0;
  #flushScheduled = false;
  readonly #waiters = new SendWaiters();

  /** Sends are refused once this is true (close called, or the peer ended). */
  #sendClosed = false;
  /** True after a local clean `close()`: frames that arrive later are dropped. */
  #discardInput = false;
  #initiator: "local" | "remote" | null = null;
  #error: XppgError | undefined;
  #finished = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: Socket, options: SocketConnectionOptions) {
    this.#socket = socket;
    this.outbound = options.outbound;
    this.localAddress = options.localAddress;
    this.remoteAddress = options.remoteAddress;
    this.#maxFrameSize = options.maxFrameSize;
    this.#highWaterMark = options.highWaterMark;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.#decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize });
    this.#inbox = new FrameInbox({
      highWaterMark: options.highWaterMark,
      onFlowChange: (stop) => {
        if (this.#finished) return;
        if (stop) socket.pause();
        else socket.resume();
      },
    });
    this.#onFrame = (frame) => {
      if (!this.#discardInput) this.#inbox.push(frame);
    };
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err: Error) => this.#onError(err));
    socket.on("drain", () => this.#checkWaiters());
    socket.on("close", () => this.#onClose());
  }

  get isClosed(): boolean {
    return this.#finished || this.#sendClosed;
  }

  read(sink: FrameSink): void {
    this.#inbox.read(sink);
  }

  pause(): void {
    this.#inbox.pause();
  }

  resume(): void {
    this.#inbox.resume();
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#sendClosed || this.#finished) return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    const length = frame.byteLength;
    if (length > this.#maxFrameSize) return Promise.reject(frameTooLargeError(length, this.#maxFrameSize, "sent"));
    this.#append(frame, length);
    return this.#sent();
  }

  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    if (this.#sendClosed || this.#finished) return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    let length: number;
    try {
      length = partsLength(parts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (length > this.#maxFrameSize) return Promise.reject(frameTooLargeError(length, this.#maxFrameSize, "sent"));
    const batch = this.#room(FRAME_HEADER_SIZE);
    writeFrameHeader(batch, this.#batchLength, length);
    this.#batchLength += FRAME_HEADER_SIZE;
    for (const part of parts) {
      if (part.length >= BY_REFERENCE_BYTES) {
        // Handed over by the caller: written from where it lies.
        this.#cut();
        this.#pieces.push(part);
        this.#release.push(null);
      } else {
        this.#room(part.length).set(part, this.#batchLength);
        this.#batchLength += part.length;
      }
    }
    this.#pendingBytes += FRAME_HEADER_SIZE + length;
    return this.#sent();
  }

  /** Schedules the flush; the promise a send returns. */
  #sent(): Promise<void> {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushTick);
    }
    if (this.#socket.writableLength + this.#pendingBytes < this.#highWaterMark) return RESOLVED;
    return this.#waiters.wait();
  }

  close(error?: XppgError): Promise<void> {
    if (this.#initiator === null && !this.#finished) {
      this.#initiator = "local";
      if (error === undefined) {
        this.#sendClosed = true;
        this.#discardInput = true;
        this.#flush();
        this.#socket.end();
        // A peer that never reads would hold the close forever: bound it.
        this.#closeTimer = setTimeout(() => this.#socket.destroy(), this.#closeTimeoutMs);
        this.#closeTimer.unref?.();
      } else {
        this.#abort(error);
      }
    }
    return this.closed.then(() => undefined);
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
    if (batch !== null && batch.byteLength - this.#batchLength >= need) return batch;
    this.#retireBatch();
    const next = need > BATCH_BYTES ? Buffer.allocUnsafe(need) : takeBatch(need + this.#pendingBytes);
    this.#batch = next;
    this.#batchStart = 0;
    this.#batchLength = 0;
    return next;
  }

  /** Queues the bytes of the batch written since the last cut as one piece. */
  #cut(): void {
    const batch = this.#batch;
    if (batch === null || this.#batchLength === this.#batchStart) return;
    this.#pieces.push(batch.subarray(this.#batchStart, this.#batchLength));
    this.#release.push(null);
    this.#batchLastPiece = this.#pieces.length - 1;
    this.#batchStart = this.#batchLength;
  }

  /** Done filling the batch: it is recycled once its last piece is written. */
  #retireBatch(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#cut();
    if (this.#batchStart === 0) returnBatch(batch);
    else this.#release[this.#batchLastPiece] = batch;
    this.#batch = null;
    this.#batchStart = 0;
    this.#batchLength = 0;
    this.#batchLastPiece = -1;
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#pendingBytes === 0) return;
    const socket = this.#socket;
    this.#retireBatch();
    const pieces = this.#pieces;
    const release = this.#release;
    this.#pieces = [];
    this.#release = [];
    this.#pendingBytes = 0;
    if (socket.destroyed || socket.writableEnded) return;
    // Several pieces: cork so they leave in one writev.
    if (pieces.length > 1) socket.cork();
    for (let i = 0; i < pieces.length; i++) {
      const batch = release[i];
      socket.write(pieces[i]!, batch == null ? this.#afterWrite : (err) => this.#afterBatchWrite(batch, err));
    }
    if (pieces.length > 1) socket.uncork();
    this.#checkWaiters();
  }

  // Each piece handed to the kernel frees room: wake waiting senders without
  // waiting for the whole buffer to empty ('drain'), and recycle batches.
  readonly #afterWrite = (): void => {
    this.#checkWaiters();
  };

  #afterBatchWrite(batch: Buffer, err: Error | null | undefined): void {
    if (err == null) returnBatch(batch);
    this.#checkWaiters();
  }

  #checkWaiters(): void {
    if (this.#waiters.empty) return;
    if (this.#socket.writableLength + this.#pendingBytes >= this.#highWaterMark) return;
    this.#waiters.release();
  }

  #onData(chunk: Buffer): void {
    // After close() this side wants no more frames: skip decoding, keep reading to see the FIN.
    if (this.#finished || this.#discardInput) return;
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (err) {
      const details = (err as XppgError).details;
      const error =
        (err as XppgError).code === "XPPG_ERR_FRAME_TOO_LARGE"
          ? frameTooLargeError(Number(details?.size), this.#maxFrameSize, "received")
          : protocolError(this.remoteAddress, "its frames could not be decoded", err);
      this.#failedByPeer(error);
    }
  }

  #onEnd(): void {
    if (this.#finished) return;
    if (!this.#decoder.idle && !this.#discardInput) {
      this.#failedByPeer(
        protocolError(this.remoteAddress, `it closed in the middle of a frame (${this.#decoder.bufferedBytes} bytes of it were received)`),
      );
      return;
    }
    // The peer finished sending. Node ends our side too (allowHalfOpen is off).
    this.#initiator ??= "remote";
    this.#sendClosed = true;
  }

  #onError(err: Error): void {
    // The first error wins: after a local close(error) or a protocol failure, the reset is ours.
    if (this.#error !== undefined || this.#finished) return;
    this.#initiator ??= "remote";
    this.#error = connectionResetError(this.remoteAddress, err);
  }

  /** The peer broke the protocol: drop the connection with `error`, from its side. */
  #failedByPeer(error: XppgError): void {
    if (this.#initiator === null) this.#initiator = "remote";
    this.#error ??= error;
    this.#destroyNow();
  }

  /** Local `close(error)`: tear down at once. */
  #abort(error: XppgError): void {
    this.#error = error;
    this.#destroyNow();
  }

  #destroyNow(): void {
    this.#sendClosed = true;
    this.#discardInput = true;
    this.#pieces = [];
    this.#release = [];
    this.#batch = null;
    this.#batchStart = 0;
    this.#batchLength = 0;
    this.#pendingBytes = 0;
    // A reset (RST), not a FIN: the peer learns the connection was aborted.
    if (!this.#socket.destroyed) this.#socket.resetAndDestroy();
  }

  #onClose(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sendClosed = true;
    clearTimeout(this.#closeTimer);
    const initiator = this.#initiator ?? "remote";
    const error = this.#error;
    const info: CloseInfo = error === undefined ? { initiator } : { initiator, error };
    this.#waiters.settle(info, this.remoteAddress);
    this.#inbox.end(info, this.#discardInput && initiator === "local");
    this.#resolveClosed(info);
  }
}
