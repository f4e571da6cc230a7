// The public entry: interfaces, errors, the in-memory transport. Adapter
// authors' helpers are in ./adapter (@xppg/transport/adapter), the
// compliance suite in ./compliance (@xppg/transport/compliance).
export type { CloseInfo, Connection, FrameSink } from "./connection.js";
export { FRAME_RELEASED } from "@xppg/framing";
export type { ConnectionHandler, DialOptions, ListenOptions, Listener, Transport } from "./transport.js";
export { TRANSPORT_CONTRACT_ERROR_CODES, TRANSPORT_ERROR_CODES, TransportError } from "./errors.js";
export type { TransportErrorCode } from "./errors.js";
export { memoryTransport } from "./memory-transport.js";
export type { MemoryTransportOptions } from "./memory-transport.js";
