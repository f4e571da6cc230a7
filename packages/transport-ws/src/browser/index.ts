// The browser entry point (the package's "browser" export condition): a
// dial-only transport over the built-in WebSocket. No node: modules, no ws.
export { webSocketTransport } from "./browser-transport.js";
export type { BrowserWebSocketTransportOptions } from "./browser-transport.js";
export type { BrowserWebSocket, BrowserWebSocketConstructor } from "./browser-connection.js";
export type { WebSocketTransport, WebSocketTransportOptions } from "../options.js";
export { formatWsAddress, parseWsAddress } from "../address.js";
export type { WsAddress } from "../address.js";
export { WS_CLOSE_CODES, WS_TRANSPORT_NAME } from "../constants.js";
