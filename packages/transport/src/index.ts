export type { CloseInfo, Connection, FrameSink } from "./connection.js";
export type { ConnectionHandler, DialOptions, Listener, Transport } from "./transport.js";
export { TRANSPORT_ERROR_CODES, TransportError, badAddressError, connectionClosedError } from "./errors.js";
