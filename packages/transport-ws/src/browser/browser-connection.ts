import type { XppgError } from "@xppg/errors";
import {
  FrameInbox,
  connectionClosedError,
  frameTooLargeError,
  SendWaiters,
  sendJoined,
  type CloseInfo,
  type Connection,
  type FrameSink,
} from "@xppg/transport";
import { closeFrameFor, errorForCloseCode, messageTooLargeError, textMessageError } from "../close-codes.js";
import { WS_CLOSE_CODES, WS_TRANSPORT_NAME } from "../constants.js";

// Browser-safe: no node: imports and no `ws` here.

/** The part of the WHATWG `WebSocket` this transport uses. */
export interface BrowserWebSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor (the browser's own, or a compatible one). */
export type BrowserWebSocketConstructor = new (url: string) => BrowserWebSocket;

/** What a {@link BrowserWsConnection} needs besides its socket. */
export interface BrowserWsConnectionOptions {
  localAddress: string;
  remoteAddress: string;
  maxFrameSize: number;
  highWaterMark: number;
  closeTimeoutMs: number;
  /** How often a waiting `send` checks `bufferedAmount` (browsers have no drain event). */
  pollMs: number;
}

const OPEN = 1;
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A dialled {@link Connection} over the browser's built-in `WebSocket`
 * (`binaryType = "arraybuffer"`). Differences from Node, all forced by the
 * browser API: a message over `maxFrameSize` is refused after the browser
 * buffered it; `pause()` stops delivery but cannot stop the network, so
 * frames queue in memory; `send` backpressure polls `bufferedAmount`.
 */
export class BrowserWsConnection implements Connection {
  readonly transport = WS_TRANSPORT_NAME;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly outbound = true;
  readonly closed: Promise<CloseInfo>;
  readonly #ws: BrowserWebSocket;
  readonly #options: BrowserWsConnectionOptions;
  readonly #inbox: FrameInbox;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #waiters = new SendWaiters();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #sendClosed = false;
  #discardInput = false;
  #initiator: "local" | "remote" | null = null;
  #error: XppgError | undefined;
  #finished = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: BrowserWebSocket, options: BrowserWsConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.remoteAddress = options.remoteAddress;
    this.localAddress = options.localAddress;
    this.#inbox = new FrameInbox({ highWaterMark: options.highWaterMark });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => this.#onMessage(event.data);
    ws.onerror = () => {};
    ws.onclose = (event) => this.#finish(event.code, event.reason);
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
    if (this.#sendClosed || this.#finished || this.#ws.readyState !== OPEN) {
      return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    }
    const max = this.#options.maxFrameSize;
    if (frame.byteLength > max) return Promise.reject(frameTooLargeError(frame.byteLength, max, "sent"));
    // The browser copies the bytes inside send(): the caller may reuse its buffer.
    this.#ws.send(frame);
    if (this.#ws.bufferedAmount < this.#options.highWaterMark) return RESOLVED;
    const waiting = this.#waiters.wait();
    this.#poll();
    return waiting;
  }

  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    return sendJoined(this, parts);
  }

  close(error?: XppgError): Promise<void> {
    if (this.#initiator === null && !this.#finished) {
      this.#initiator = "local";
      this.#sendClosed = true;
      this.#discardInput = true;
      if (error === undefined) {
        this.#ws.close(WS_CLOSE_CODES.NORMAL);
        // A browser cannot drop a socket at once: stop waiting after closeTimeoutMs.
        this.#closeTimer = setTimeout(() => this.#finish(WS_CLOSE_CODES.ABNORMAL, ""), this.#options.closeTimeoutMs);
      } else {
        this.#error = error;
        const { code, reason } = closeFrameFor(error, true);
        this.#ws.close(code, reason);
        this.#finish(code, reason);
      }
    }
    return this.closed.then(() => undefined);
  }

  #poll(): void {
    if (this.#pollTimer !== undefined) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      if (this.#finished || this.#waiters.empty) return;
      if (this.#ws.bufferedAmount >= this.#options.highWaterMark) {
        this.#poll();
        return;
      }
      this.#waiters.release();
    }, this.#options.pollMs);
  }

  #onMessage(data: unknown): void {
    if (this.#finished || this.#discardInput) return;
    if (typeof data === "string") {
      this.#failedByPeer(textMessageError(this.remoteAddress));
      return;
    }
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    if (bytes === null) {
      this.#failedByPeer(textMessageError(this.remoteAddress));
      return;
    }
    if (bytes.byteLength > this.#options.maxFrameSize) {
      this.#failedByPeer(messageTooLargeError(this.remoteAddress, this.#options.maxFrameSize));
      return;
    }
    this.#inbox.push(bytes);
  }

  #failedByPeer(error: XppgError): void {
    this.#initiator ??= "remote";
    this.#error ??= error;
    this.#sendClosed = true;
    this.#discardInput = true;
    const { code, reason } = closeFrameFor(error, true);
    this.#ws.close(code, reason);
    this.#closeTimer = setTimeout(() => this.#finish(WS_CLOSE_CODES.ABNORMAL, ""), this.#options.closeTimeoutMs);
  }

  #finish(code: number, reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sendClosed = true;
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#pollTimer);
    const initiator = this.#initiator ?? "remote";
    const error = this.#error ?? (initiator === "remote" ? errorForCloseCode(code, reason, this.remoteAddress) : undefined);
    const info: CloseInfo = error === undefined ? { initiator } : { initiator, error };
    this.#waiters.settle(info, this.remoteAddress);
    this.#inbox.end(info, initiator === "local");
    this.#resolveClosed(info);
  }
}
