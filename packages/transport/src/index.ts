export type { CloseInfo, Connection, FrameSink } from "./connection.js";
export type { ConnectionHandler, DialOptions, Listener, Transport } from "./transport.js";
export {
  TRANSPORT_ERROR_CODES,
  TransportError,
  abortedError,
  badAddressError,
  connectionClosedError,
  connectionResetError,
  dialFailedError,
  dialTimeoutError,
  frameTooLargeError,
  listenFailedError,
  protocolError,
} from "./errors.js";
export type { TransportErrorCode } from "./errors.js";
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
} from "./constants.js";
export { FrameInbox } from "./frame-inbox.js";
export type { FrameInboxOptions } from "./frame-inbox.js";
export { memoryTransport } from "./memory-transport.js";
export type { MemoryTransportOptions } from "./memory-transport.js";
export { joinParts, partsLength, sendJoined } from "./parts.js";
export { SendWaiters } from "./send-waiters.js";
