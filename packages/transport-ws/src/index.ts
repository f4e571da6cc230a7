// The Node entry point (ws + node:http). Browsers load ./browser/index.js
// through the package's "browser" export condition.
export { webSocketTransport } from "./node/ws-transport.js";
export type { WebSocketTransport, WebSocketTransportOptions } from "./options.js";
export { formatWsAddress, parseWsAddress } from "./address.js";
export type { WsAddress } from "./address.js";
export { WS_CLOSE_CODES, WS_TRANSPORT_NAME } from "./constants.js";
