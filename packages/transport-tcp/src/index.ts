export { tcpTransport } from "./tcp-transport.js";
export type { TcpTransport, TcpTransportOptions } from "./tcp-transport.js";
export { tcpConnectionFromSocket } from "./from-socket.js";
export type { FromSocketOptions } from "./from-socket.js";
export { formatTcpAddress, parseTcpAddress } from "./address.js";
export type { TcpAddress } from "./address.js";
export { DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS, DEFAULT_TCP_HIGH_WATER_MARK, TCP_TRANSPORT_NAME } from "./constants.js";
