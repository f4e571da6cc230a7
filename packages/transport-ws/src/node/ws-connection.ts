import { byteArrayLength, type XppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { ConnectionCore, connectionClosedError, connectionResetError, hostFromIp, protocolError, type ConnectionCoreOptions, type ConnectionLink, type LinkController } from "@xppg/transport/adapter";
import WebSocket from "ws";
import { closeFrameFor, errorForCloseCode, messageTooLargeError, peerBufferFullError, textMessageError } from "../close-codes.js";
import { CLOSE_NORMAL, CLOSE_UNSUPPORTED_DATA, WS_TRANSPORT_NAME } from "../constants.js";

/** What a `ws` connection needs besides its socket. */
export interface WsConnectionOptions extends Omit<ConnectionCoreOptions, "transport" | "remoteHost"> {
  /** The peer's IP, as the socket under the WebSocket reports it. */
  remoteIp: string;
  closeTimeoutMs: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A {@link Connection} over an open `ws` WebSocket: one binary message per
 * frame, with the shared close and flow state of `@xppg/transport/adapter`.
 */
export function wsConnection(ws: WebSocket, options: WsConnectionOptions): Connection {
  const core = { ...options, transport: WS_TRANSPORT_NAME, remoteHost: hostFromIp(options.remoteIp) };
  return new ConnectionCore(core, (controller) => new WsLink(ws, controller, options));
}

/**
 * The socket code of a `ws` connection. `ws` enforces `maxPayload`
 * (= maxFrameSize) from the declared length, before buffering the message.
 * Backpressure reads `bufferedAmount` and wakes senders from `send`
 * callbacks; pausing uses `ws.pause()`.
 */
class WsLink implements ConnectionLink {
  readonly #ws: WebSocket;
  readonly #controller: LinkController;
  readonly #remoteAddress: string;
  readonly #maxFrameSize: number;
  readonly #highWaterMark: number;

  constructor(ws: WebSocket, controller: LinkController, options: WsConnectionOptions) {
    this.#ws = ws;
    this.#controller = controller;
    this.#remoteAddress = options.remoteAddress;
    this.#maxFrameSize = options.maxFrameSize;
    this.#highWaterMark = options.highWaterMark;
    ws.binaryType = "nodebuffer";
    ws.on("message", (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on("error", (err: Error & { code?: string }) => this.#onError(err));
    ws.on("close", (code: number, reason: Buffer) => {
      const text = reason.toString("utf8");
      controller.closed(peerBufferFullError(code, text, this.#remoteAddress) ?? errorForCloseCode(code, text, this.#remoteAddress));
    });
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    // Copy: ws may hold the buffer until the socket takes it, and the caller may reuse its own. Sized by the
    // core's `length` (the language's getter), not by Buffer.from, which reads the frame's own `length`: one
    // that lies would send the rest of Node's pool.
    const message = Buffer.allocUnsafe(length);
    message.set(frame);
    return this.#sendMessage(message);
  }

  sendParts(parts: readonly Uint8Array[], length: number): Promise<void> {
    // One WebSocket message per frame: the parts are joined into a new buffer ws may keep (not by Buffer.concat,
    // which measures each part by its own `length`).
    const message = Buffer.allocUnsafe(length);
    let at = 0;
    for (const part of parts) {
      message.set(part, at);
      at += byteArrayLength(part);
    }
    return this.#sendMessage(message);
  }

  pauseReading(): void {
    this.#ws.pause();
  }

  resumeReading(): void {
    this.#ws.resume();
  }

  end(): void {
    // ws sends the close frame after the messages already queued: a flush.
    this.#ws.close(CLOSE_NORMAL);
    // Input is discarded from now on: read on to see the peer's close frame.
    this.#ws.resume();
  }

  abort(error: XppgError, byPeer: boolean): void {
    if (byPeer) {
      // The one fault this side detects itself is a text message (ws detects
      // the others and closes on its own); the close timer bounds the wait.
      this.#ws.close(CLOSE_UNSUPPORTED_DATA, error.code);
      return;
    }
    const { code, reason } = closeFrameFor(error);
    // Tell the peer why, then tear down at once without waiting for its answer.
    this.#ws.close(code, reason);
    this.#ws.terminate();
  }

  destroy(): void {
    this.#ws.terminate();
  }

  #sendMessage(message: Buffer): Promise<void> {
    // The peer's close frame may have arrived before its socket closed.
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(connectionClosedError(this.#remoteAddress));
    this.#ws.send(message, { binary: true, compress: false, fin: true }, this.#afterSend);
    if (this.#ws.bufferedAmount < this.#highWaterMark) return RESOLVED;
    return this.#controller.wait();
  }

  readonly #afterSend = (): void => {
    if (this.#ws.bufferedAmount < this.#highWaterMark) this.#controller.release();
  };

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (!this.#controller.receiving) return;
    if (!isBinary) {
      this.#controller.fail(textMessageError(this.#remoteAddress));
      return;
    }
    // A message of fewer than half the pool's bytes that ws put together from pieces (split across socket reads,
    // or fragmented) is a slice of Node's shared buffer pool (Buffer.allocUnsafe), which holds other buffers of the
    // process: it is given memory of its own. A message within one socket read is a view of that read's own
    // memory (a buffer of the read's size) and is passed on as it is; only a read of exactly the pool's size is
    // copied needlessly.
    const pooled = data.buffer.byteLength === Buffer.poolSize && data.byteLength < Buffer.poolSize >>> 1;
    this.#controller.frame(pooled ? new Uint8Array(data) : data);
  }

  #onError(err: Error & { code?: string }): void {
    let error: XppgError;
    if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") error = messageTooLargeError(this.#remoteAddress, this.#maxFrameSize);
    else if (typeof err.code === "string" && err.code.startsWith("WS_ERR_")) error = protocolError(this.#remoteAddress, err.message, err);
    else error = connectionResetError(this.#remoteAddress, err);
    // ws closes the connection itself after a protocol error (with the right close code).
    this.#controller.error(error);
  }
}
