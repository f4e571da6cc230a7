import type { Transport } from "@xppg/transport";

// Browser-safe: shared by the Node and the browser entry points.

/** Options for `webSocketTransport`. */
export interface WebSocketTransportOptions {
  /**
   * Largest frame (one binary message) sent or accepted, in bytes. A larger
   * incoming message is refused from its declared length before it is
   * buffered, and the connection closes with `XPPG_ERR_FRAME_TOO_LARGE`
   * (close code 1009). Keep it equal on both peers.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
  /**
   * Bytes buffered per direction: `send` resolves at once while the socket's
   * `bufferedAmount` is below this, and a paused receiver stops reading once
   * this much waits for it.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * Time a dial (TCP connect and WebSocket handshake) may take before it
   * fails with `XPPG_ERR_DIAL_TIMEOUT`; a dial's own `timeoutMs` wins.
   * @default 10000
   */
  dialTimeoutMs?: number;
  /**
   * Time a clean `close()` waits for the closing handshake before the socket
   * is dropped.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Extra HTTP headers for the opening handshake of a dial (Node only;
   * browsers do not allow them).
   * @default undefined
   */
  headers?: Record<string, string>;
}

/** A WebSocket {@link Transport}, with its resolved frame limit. */
export interface WebSocketTransport extends Transport {
  readonly name: "ws";
  readonly maxFrameSize: number;
}
