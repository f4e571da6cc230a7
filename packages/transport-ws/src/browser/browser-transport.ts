import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  TRANSPORT_ERROR_CODES,
  TransportError,
  abortedError,
  dialFailedError,
  dialTimeoutError,
  type Connection,
  type DialOptions,
  type Listener,
} from "@xppg/transport";
import { formatWsAddress, parseWsAddress, parseWsAddressOrThrow } from "../address.js";
import { WS_TRANSPORT_NAME } from "../constants.js";
import type { WebSocketTransport, WebSocketTransportOptions } from "../options.js";
import { BrowserWsConnection, type BrowserWebSocket, type BrowserWebSocketConstructor } from "./browser-connection.js";

// Browser-safe: no node: imports and no `ws` here.

/** Options of the browser build of `webSocketTransport`. */
export interface BrowserWebSocketTransportOptions extends WebSocketTransportOptions {
  /**
   * The `WebSocket` class to use (a polyfill, or `ws` in tests).
   * @default globalThis.WebSocket
   */
  WebSocket?: BrowserWebSocketConstructor;
  /**
   * How often a `send` waiting for backpressure checks `bufferedAmount`
   * (browsers have no drain event).
   * @default 10
   */
  sendPollMs?: number;
}

/** What the browser knows of its own end of a connection: nothing. */
const UNKNOWN_LOCAL_ADDRESS = "ws://0.0.0.0:0/";

/**
 * The browser build of `webSocketTransport`: dial-only, over the built-in
 * `WebSocket`. `listen` rejects with `XPPG_ERR_LISTEN_FAILED` (a page cannot
 * accept connections). `headers` is ignored (browsers do not allow them).
 */
export function webSocketTransport(options: BrowserWebSocketTransportOptions = {}): WebSocketTransport {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const pollMs = options.sendPollMs ?? 10;
  for (const [name, value, min] of [
    ["maxFrameSize", maxFrameSize, 1],
    ["highWaterMark", highWaterMark, 1],
    ["dialTimeoutMs", dialTimeoutMs, 1],
    ["closeTimeoutMs", closeTimeoutMs, 1],
    ["sendPollMs", pollMs, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`webSocketTransport: ${name} must be an integer of at least ${min}, got ${String(value)}.`);
    }
  }

  return {
    name: WS_TRANSPORT_NAME,
    maxFrameSize,

    canDial(address: string): boolean {
      return parseWsAddress(address) !== null;
    },

    async listen(address: string): Promise<Listener> {
      throw new TransportError(
        TRANSPORT_ERROR_CODES.LISTEN_FAILED,
        `Cannot listen on ${address}: a browser cannot accept WebSocket connections. Listen from Node and dial it from the page.`,
        { details: { address } },
      );
    },

    dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
      let target: ReturnType<typeof parseWsAddressOrThrow>;
      try {
        target = parseWsAddressOrThrow(address);
      } catch (err) {
        return Promise.reject(err);
      }
      const { signal } = dialOptions;
      if (signal?.aborted === true) return Promise.reject(abortedError(address, signal.reason));
      const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
      if (Ctor === undefined) {
        return Promise.reject(dialFailedError(address, new Error("this environment has no WebSocket class; pass one as options.WebSocket")));
      }
      const timeoutMs = dialOptions.timeoutMs ?? dialTimeoutMs;
      const url = formatWsAddress(target.host, target.port, target.path, target.secure);

      return new Promise<Connection>((resolve, reject) => {
        let ws: BrowserWebSocket;
        try {
          ws = new Ctor(url);
        } catch (err) {
          reject(dialFailedError(address, err));
          return;
        }
        ws.binaryType = "arraybuffer";
        let settled = false;
        const timer = setTimeout(() => fail(dialTimeoutError(address, timeoutMs)), timeoutMs);
        const onAbort = (): void => fail(abortedError(address, signal?.reason));
        function fail(error: Error): void {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          ws.onopen = ws.onerror = null;
          ws.onclose = null;
          ws.close();
          reject(error);
        }
        ws.onerror = () => fail(dialFailedError(address, new Error("the WebSocket could not be opened")));
        ws.onclose = (event) => fail(dialFailedError(address, new Error(`the WebSocket closed while opening (code ${event.code})`)));
        ws.onopen = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          ws.onopen = null;
          resolve(
            new BrowserWsConnection(ws, {
              localAddress: UNKNOWN_LOCAL_ADDRESS,
              remoteAddress: url,
              maxFrameSize,
              highWaterMark,
              closeTimeoutMs,
              pollMs,
            }),
          );
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
