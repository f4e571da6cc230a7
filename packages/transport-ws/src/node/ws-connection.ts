import type { XppgError } from "@xppg/errors";
import {
  FrameInbox,
  connectionClosedError,
  connectionResetError,
  frameTooLargeError,
  partsLength,
  protocolError,
  SendWaiters,
  type CloseInfo,
  type Connection,
  type FrameSink,
} from "@xppg/transport";
import WebSocket from "ws";
import { closeFrameFor, errorForCloseCode, messageTooLargeError, textMessageError } from "../close-codes.js";
import { WS_CLOSE_CODES, WS_TRANSPORT_NAME } from "../constants.js";

/** What a {@link WsConnection} needs besides its socket. */
export interface WsConnectionOptions {
  outbound: boolean;
  localAddress: string;
  remoteAddress: string;
  maxFrameSize: number;
  highWaterMark: number;
  closeTimeoutMs: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A {@link Connection} over an open `ws` WebSocket: one binary message per
 * frame. `ws` enforces `maxPayload` (= maxFrameSize) from the declared
 * length, before buffering the message. Backpressure reads `bufferedAmount`
 * and wakes senders from `send` callbacks; pausing uses `ws.pause()`.
 */
export class WsConnection implements Connection {
  readonly transport = WS_TRANSPORT_NAME;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly outbound: boolean;
  readonly closed: Promise<CloseInfo>;
  readonly #ws: WebSocket;
  readonly #maxFrameSize: number;
  readonly #highWaterMark: number;
  readonly #closeTimeoutMs: number;
  readonly #inbox: FrameInbox;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #waiters = new SendWaiters();
  #sendClosed = false;
  #discardInput = false;
  #initiator: "local" | "remote" | null = null;
  #error: XppgError | undefined;
  #finished = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: WebSocket, options: WsConnectionOptions) {
    this.#ws = ws;
    this.outbound = options.outbound;
    this.localAddress = options.localAddress;
    this.remoteAddress = options.remoteAddress;
    this.#maxFrameSize = options.maxFrameSize;
    this.#highWaterMark = options.highWaterMark;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    ws.binaryType = "nodebuffer";
    this.#inbox = new FrameInbox({
      highWaterMark: options.highWaterMark,
      onFlowChange: (stop) => {
        if (this.#finished) return;
        if (stop) ws.pause();
        else ws.resume();
      },
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on("error", (err: Error & { code?: string }) => this.#onError(err));
    ws.on("close", (code: number, reason: Buffer) => this.#onClose(code, reason.toString("utf8")));
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
    if (this.#sendClosed || this.#finished || this.#ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    }
    if (frame.byteLength > this.#maxFrameSize) return Promise.reject(frameTooLargeError(frame.byteLength, this.#maxFrameSize, "sent"));
    // Copy: ws may hold the buffer until the socket takes it, and the caller may reuse its own.
    return this.#sendMessage(Buffer.from(frame));
  }

  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    if (this.#sendClosed || this.#finished || this.#ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    }
    let total: number;
    try {
      total = partsLength(parts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (total > this.#maxFrameSize) return Promise.reject(frameTooLargeError(total, this.#maxFrameSize, "sent"));
    // One WebSocket message per frame: the parts are joined into a new buffer ws may keep.
    return this.#sendMessage(Buffer.concat(parts, total));
  }

  #sendMessage(message: Buffer): Promise<void> {
    this.#ws.send(message, { binary: true, compress: false, fin: true }, this.#afterSend);
    if (this.#ws.bufferedAmount < this.#highWaterMark) return RESOLVED;
    return this.#waiters.wait();
  }

  close(error?: XppgError): Promise<void> {
    if (this.#initiator === null && !this.#finished) {
      this.#initiator = "local";
      this.#sendClosed = true;
      this.#discardInput = true;
      if (error === undefined) {
        // ws sends the close frame after the messages already queued: a flush.
        this.#ws.close(WS_CLOSE_CODES.NORMAL);
        this.#closeTimer = setTimeout(() => this.#ws.terminate(), this.#closeTimeoutMs);
        this.#closeTimer.unref?.();
      } else {
        this.#error = error;
        const { code, reason } = closeFrameFor(error);
        // Tell the peer why, then tear down at once without waiting for its answer.
        this.#ws.close(code, reason);
        this.#ws.terminate();
      }
    }
    return this.closed.then(() => undefined);
  }

  readonly #afterSend = (): void => {
    if (this.#waiters.empty || this.#ws.bufferedAmount >= this.#highWaterMark) return;
    this.#waiters.release();
  };

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#finished || this.#discardInput) return;
    if (!isBinary) {
      this.#failedByPeer(textMessageError(this.remoteAddress), WS_CLOSE_CODES.UNSUPPORTED_DATA);
      return;
    }
    this.#inbox.push(data);
  }

  #onError(err: Error & { code?: string }): void {
    if (this.#error !== undefined || this.#finished) return;
    this.#initiator ??= "remote";
    if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.#error = messageTooLargeError(this.remoteAddress, this.#maxFrameSize);
    else if (typeof err.code === "string" && err.code.startsWith("WS_ERR_")) this.#error = protocolError(this.remoteAddress, err.message, err);
    else this.#error = connectionResetError(this.remoteAddress, err);
    // ws closes the connection itself after a protocol error (with the right close code).
  }

  /** The peer broke the rules: close with `code` and report `error`. */
  #failedByPeer(error: XppgError, code: number): void {
    this.#initiator ??= "remote";
    this.#error ??= error;
    this.#sendClosed = true;
    this.#discardInput = true;
    this.#ws.close(code, error.code);
    this.#closeTimer = setTimeout(() => this.#ws.terminate(), this.#closeTimeoutMs);
    this.#closeTimer.unref?.();
  }

  #onClose(code: number, reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sendClosed = true;
    clearTimeout(this.#closeTimer);
    const initiator = this.#initiator ?? "remote";
    const error = this.#error ?? (initiator === "remote" ? errorForCloseCode(code, reason, this.remoteAddress) : undefined);
    const info: CloseInfo = error === undefined ? { initiator } : { initiator, error };
    this.#waiters.settle(info, this.remoteAddress);
    this.#inbox.end(info, initiator === "local");
    this.#resolveClosed(info);
  }
}
