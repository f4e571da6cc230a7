import { byteArrayView, type XppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { ConnectionCore, connectionClosedError, frameTooLargeError, type ConnectionCoreOptions, type ConnectionLink, type LinkController } from "@xppg/transport/adapter";
import { errorForCloseCode, textMessageError } from "../close-codes.js";
import { CLOSE_ABNORMAL, CLOSE_NORMAL, CLOSE_XPPG_ERROR, WS_TRANSPORT_NAME } from "../constants.js";

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

/** What a browser WebSocket connection needs besides its socket. */
export interface BrowserWsConnectionOptions extends Omit<ConnectionCoreOptions, "transport" | "outbound"> {
  closeTimeoutMs: number;
  /** How often a waiting `send` checks `bufferedAmount` (browsers have no drain event). */
  pollMs: number;
}

const OPEN = 1;
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A dialled {@link Connection} over the browser's built-in `WebSocket`
 * (`binaryType = "arraybuffer"`), with the shared close and flow state of
 * `@xppg/transport/adapter`. `remoteHost` is the dialled URL's host.
 */
export function browserWsConnection(ws: BrowserWebSocket, options: BrowserWsConnectionOptions): Connection {
  const core = { ...options, transport: WS_TRANSPORT_NAME, outbound: true };
  return new ConnectionCore(core, (controller) => new BrowserWsLink(ws, controller, options));
}

/**
 * The socket code of a browser WebSocket connection. Differences from Node,
 * all forced by the browser API: a message over `maxFrameSize` is refused
 * after the browser buffered it; `pause()` stops delivery but cannot stop
 * the network, so frames queue in memory; `send` backpressure polls
 * `bufferedAmount`; a socket cannot be dropped at once, so the close timer
 * stops waiting for it instead.
 */
class BrowserWsLink implements ConnectionLink {
  readonly #ws: BrowserWebSocket;
  readonly #controller: LinkController;
  readonly #options: BrowserWsConnectionOptions;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ws: BrowserWebSocket, controller: LinkController, options: BrowserWsConnectionOptions) {
    this.#ws = ws;
    this.#controller = controller;
    this.#options = options;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => this.#onMessage(event.data);
    ws.onerror = () => {};
    ws.onclose = (event) => this.#gone(event.code, event.reason);
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    if (this.#ws.readyState !== OPEN) return Promise.reject(connectionClosedError(this.#options.remoteAddress));
    // The browser copies the bytes inside send(): the caller may reuse its buffer. A plain view of them (the
    // language's getters): a WebSocket class written in JavaScript (ws, undici) reads the frame's own `length`
    // or `byteLength`, which may lie.
    this.#ws.send(byteArrayView(frame, length));
    if (this.#ws.bufferedAmount < this.#options.highWaterMark) return RESOLVED;
    const waiting = this.#controller.wait();
    this.#poll();
    return waiting;
  }

  end(): void {
    this.#ws.close(CLOSE_NORMAL);
  }

  abort(error: XppgError, byPeer: boolean): void {
    // Browsers may only send 1000 and 3000-4999: the error code goes in the reason (at most 123 bytes; codes are short ASCII).
    const reason = error.code.slice(0, 123);
    this.#ws.close(CLOSE_XPPG_ERROR, reason);
    // A peer fault waits for the closing handshake (bounded by the close timer); our own error does not.
    if (!byPeer) this.#gone(CLOSE_XPPG_ERROR, reason);
  }

  destroy(): void {
    this.#gone(CLOSE_ABNORMAL, "");
  }

  #gone(code: number, reason: string): void {
    clearTimeout(this.#pollTimer);
    this.#controller.closed(errorForCloseCode(code, reason, this.#options.remoteAddress));
  }

  #poll(): void {
    if (this.#pollTimer !== undefined) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      if (!this.#controller.waiting) return;
      if (this.#ws.bufferedAmount >= this.#options.highWaterMark) {
        this.#poll();
        return;
      }
      this.#controller.release();
    }, this.#options.pollMs);
  }

  #onMessage(data: unknown): void {
    const controller = this.#controller;
    if (!controller.receiving) return;
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    if (bytes === null) {
      controller.fail(textMessageError(this.#options.remoteAddress));
      return;
    }
    if (bytes.byteLength > this.#options.maxFrameSize) {
      controller.fail(frameTooLargeError(bytes.byteLength, this.#options.maxFrameSize, "received"));
      return;
    }
    controller.frame(bytes);
  }
}
