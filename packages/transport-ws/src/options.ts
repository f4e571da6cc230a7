import type { Transport } from "@xppg/transport";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  MAX_TIMER_MS,
  checkInteger,
} from "@xppg/transport/adapter";
import { DEFAULT_MAX_PENDING_CONNECTIONS, DEFAULT_UPGRADE_TIMEOUT_MS } from "./constants.js";

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
   * Time a clean `close()` waits for the closing handshake (and a dropped
   * peer for its answer) before the socket is destroyed. Input is not
   * delivered meanwhile.
   * @default 2000
   */
  closeTimeoutMs?: number;
  /**
   * Listen only (Node): time a socket may take from accept until its HTTP
   * upgrade is done before it is dropped. Bounds clients that open a socket
   * and never finish (or never send) their request.
   * @default 5000
   */
  upgradeTimeoutMs?: number;
  /**
   * Listen only (Node): most sockets a listener holds before their upgrade
   * is done; a socket accepted beyond it is dropped at once. A listen's own
   * `maxPendingConnections` wins. Read what is held from
   * `listener.pendingConnections`.
   * @default 64
   */
  maxPendingConnections?: number;
  /**
   * Extra HTTP headers for the opening handshake of a dial (Node only;
   * browsers do not allow them).
   * @default undefined
   */
  headers?: Record<string, string>;
  /**
   * Answers the plain HTTP requests (not WebSocket upgrades) that reach a
   * listener, so one port serves a web page and the peers it dials (Node
   * only). Only upgrades go to the WebSocket side; every byte of the request
   * is untrusted.
   * @default a 426 "connect with a WebSocket client" answer
   */
  serveHttp?: (request: import("node:http").IncomingMessage, response: import("node:http").ServerResponse) => void;
}

/** A WebSocket {@link Transport}, with its resolved frame limit. */
export interface WebSocketTransport extends Transport {
  readonly name: "ws";
  readonly maxFrameSize: number;
}

/** The numeric options with their defaults, checked. */
export type ResolvedWsOptions = Required<Omit<WebSocketTransportOptions, "headers" | "serveHttp">>;

/** Applies the defaults and checks every numeric option, naming `owner` in errors. */
export function resolveWsOptions(owner: string, options: WebSocketTransportOptions): ResolvedWsOptions {
  const resolved: ResolvedWsOptions = {
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    dialTimeoutMs: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    upgradeTimeoutMs: options.upgradeTimeoutMs ?? DEFAULT_UPGRADE_TIMEOUT_MS,
    maxPendingConnections: options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS,
  };
  // ws reads maxPayload 0 as "no limit": insist on at least one byte.
  checkInteger(owner, "maxFrameSize", resolved.maxFrameSize, 1, 0xffff_ffff);
  checkInteger(owner, "highWaterMark", resolved.highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  checkInteger(owner, "dialTimeoutMs", resolved.dialTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(owner, "closeTimeoutMs", resolved.closeTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(owner, "upgradeTimeoutMs", resolved.upgradeTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(owner, "maxPendingConnections", resolved.maxPendingConnections, 1, Number.MAX_SAFE_INTEGER);
  return resolved;
}
