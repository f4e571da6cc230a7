import { TRANSPORT_ERROR_CODES, TransportError, type Connection, type DialOptions, type Listener } from "@xppg/transport";
import { checkInteger, HELD_FRAME_OVERHEAD } from "@xppg/transport/adapter";
import { parseWsAddress } from "../address.js";
import { dialWebSocket } from "../dial.js";
import { DEFAULT_MAX_HELD_BYTES, WS_TRANSPORT_NAME } from "../constants.js";
import { resolveWsOptions, type WebSocketTransport, type WebSocketTransportOptions } from "../options.js";
import { browserWsConnection, type BrowserWebSocket, type BrowserWebSocketConstructor } from "./browser-connection.js";
import { badArgumentError, ERROR_TEXTS, valuesMessage } from "@xppg/errors";

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
  /**
   * Most bytes of received frames a connection holds while its reader is
   * paused. A page's WebSocket cannot stop reading, so a paused connection
   * (a handler that awaits, a node's read holds, a record layer
   * still opening records) keeps taking what the peer sends; past this the
   * frames held are dropped and the connection fails with
   * `XPPG_ERR_RECEIVE_BUFFER_FULL` (close code 4000, the code as the
   * reason, so the peer learns why). Other connections carry on.
   * At least `maxFrameSize` + 64 (one frame of the largest size, as it is
   * counted while held).
   * @default 67108864 (64 MiB), or `maxFrameSize` + 64 when that is more
   */
  maxHeldBytes?: number;
}

/** What the browser knows of its own end of a connection: nothing. */
const UNKNOWN_LOCAL_ADDRESS = "ws://0.0.0.0:0/";

/**
 * The browser build of `webSocketTransport`: dial-only, over the built-in
 * `WebSocket`. `listen` rejects with `XPPG_ERR_LISTEN_FAILED` (a page cannot
 * accept connections). `headers` is ignored (browsers do not allow them).
 */
export function webSocketTransport(options: BrowserWebSocketTransportOptions = {}): WebSocketTransport {
  const { maxFrameSize, highWaterMark, dialTimeoutMs, closeTimeoutMs } = resolveWsOptions("webSocketTransport", options);
  const pollMs = options.sendPollMs ?? 10;
  checkInteger("webSocketTransport", "sendPollMs", pollMs, 1, 60_000);
  // One frame of the largest size must fit, as it is counted while held; a larger maxFrameSize raises the default.
  const leastHeld = maxFrameSize + HELD_FRAME_OVERHEAD;
  const maxHeldBytes = options.maxHeldBytes ?? Math.max(DEFAULT_MAX_HELD_BYTES, leastHeld);
  checkInteger("webSocketTransport", "maxHeldBytes", maxHeldBytes, 1, Number.MAX_SAFE_INTEGER);
  if (maxHeldBytes < leastHeld) {
    throw badArgumentError(RangeError, "webSocketTransport", "maxHeldBytes", ERROR_TEXTS && [`at least maxFrameSize + ${HELD_FRAME_OVERHEAD} (${leastHeld}, one frame of the largest size held)`, maxHeldBytes, true]);
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
        ERROR_TEXTS ? `Cannot listen on ${address}: a browser cannot accept WebSocket connections. Listen from Node and dial it from the page.` : [address],
        { details: { address } },
      );
    },

    dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      return dialWebSocket(address, dialOptions, dialTimeoutMs, (url, target, attempt) => {
        const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
        if (Ctor === undefined) throw new Error(ERROR_TEXTS ? "this environment has no WebSocket class; pass one as options.WebSocket" : valuesMessage("", []));
        const ws: BrowserWebSocket = new Ctor(url);
        ws.binaryType = "arraybuffer";
        ws.onerror = () => attempt.failed(new Error(ERROR_TEXTS ? "the WebSocket could not be opened" : valuesMessage("", [])));
        ws.onclose = (event) => attempt.failed(new Error(ERROR_TEXTS ? `the WebSocket closed while opening (code ${event.code})` : valuesMessage("", [event.code])));
        ws.onopen = () => {
          ws.onopen = null;
          attempt.connected(
            browserWsConnection(ws, {
              localAddress: UNKNOWN_LOCAL_ADDRESS,
              remoteAddress: url,
              remoteHost: target.host,
              maxFrameSize,
              highWaterMark,
              maxHeldBytes,
              closeTimeoutMs,
              pollMs,
            }),
          );
        };
        return () => {
          // No-ops, not null: closing a socket that is still opening fires an error event.
          ws.onopen = null;
          ws.onerror = ws.onclose = () => {};
          ws.close();
        };
      });
    },
  };
}
