export { Playground } from "./playground.js";
export type { JoinOptions, MessageHandler, PeerInfo, PlaygroundEvents, SendOptions } from "./playground.js";
export type { ReceivedFile, SharedFile } from "./file-transfer.js";
export type { NatResultLike, PlaygroundHeartbeat, PlaygroundLimits, PlaygroundOptions, PortMapperLike, StartOptions } from "./options.js";
export { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
export type { NodeErrorCode } from "./errors.js";
export { PROTOCOL_VERSION, RESERVED_PREFIX } from "./protocol.js";
export { sanitizeFileName } from "./file-transfer.js";
export { TypedEvents } from "./typed-events.js";
