/** The `ws` option of QuickChat: listen for browser pages on a WebSocket port next to TCP. */

import type { PlaygroundOptions } from "@xppg/node";
import { tcpTransport } from "@xppg/transport-tcp";
import { formatWsAddress, webSocketTransport, type WebSocketTransportOptions } from "@xppg/transport-ws";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** The `ws` option: a port, or a port with a handler for the plain HTTP requests on it (a web page). */
export type ChatWebSocketOption = number | { port: number; serveHttp?: WebSocketTransportOptions["serveHttp"] };

/** The path pages dial on the WebSocket port. */
export const CHAT_WS_PATH = "/xppg";

/** The Playground options that listen on TCP `port` and WebSocket `ws.port` at once, on `host`. */
export function tcpAndWebSocket(host: string, port: number, ws: ChatWebSocketOption): Pick<PlaygroundOptions, "listen" | "transports"> {
  const wsPort = typeof ws === "number" ? ws : ws?.port;
  if (!(Number.isInteger(wsPort) && wsPort >= 0 && wsPort <= 65535)) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `ws must be a port from 0 to 65535 (or { port, serveHttp }), got ${String(wsPort)}.`);
  }
  const serveHttp = typeof ws === "number" ? undefined : ws.serveHttp;
  const tcpHost = host.includes(":") ? `[${host}]` : host;
  return {
    listen: [`tcp://${tcpHost}:${port}`, formatWsAddress(host, wsPort, CHAT_WS_PATH)],
    transports: [tcpTransport(), webSocketTransport(serveHttp === undefined ? {} : { serveHttp })],
  };
}
