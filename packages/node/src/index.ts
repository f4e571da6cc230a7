export { Playground } from "./playground.js";
export type { Ban, HandlerOptions, JoinOptions, MessageHandler, PeerInfo, PlaygroundEvents, PlaygroundStats, RequestStateOptions, SendOptions, SubscribeOptions } from "./playground.js";
export type { ReceivedFile, SharedFile } from "./file-transfer.js";
export type { MeshMember } from "./mesh/membership.js";
export type { PlaygroundFiles, PlaygroundFilesOptions, ShareFileOptions } from "./files-room.js";
export type { DownloadProgress, DownloadResult, SharedContent } from "@xppg/files";
export type { PlaygroundConnections } from "./connection-options.js";
export type { ConnectionStatus } from "./connection-manager.js";
export { ReplyError, isReplyError } from "./reply-error.js";
export type { RequestHandler } from "./request-room.js";
export type { RequestOptions } from "./request-checks.js";
export type {
  NatResultLike,
  PlaygroundDiscovery,
  PlaygroundHeartbeat,
  PlaygroundLimits,
  PlaygroundOptions,
  PortMappingResult,
  StartOptions,
  UnansweredPortMapping,
} from "./options.js";
export type { PortMapper, NatResult } from "@xppg/nat";
export type { PeerCandidate } from "@xppg/discovery";
export { NODE_ERROR_CODES, PlaygroundError, RemotePeerError, isRemotePeerError } from "./errors.js";
export { DEFAULT_PORT } from "./options.js";
export { MIN_FRAME_SIZE } from "./resolved-options.js";
export type { NodeErrorCode } from "./errors.js";
export { FIXED_SHAPE_KINDS, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, RESERVED_PREFIX } from "./protocol.js";
export { safeFileName as sanitizeFileName } from "@xppg/files/safe-name";
export { safeText } from "./safe-text.js";
export type { SafeTextOptions } from "./safe-text.js";
export { TypedEvents } from "./typed-events.js";
// The relay's error codes (the relay itself is in "@xppg/node/relay"): this file loads no socket code.
export { RELAY_ERROR_CODES, RelayError } from "./relay-wire.js";
export type { RelayErrorCode } from "./relay-wire.js";
export type { TopicsView } from "./topic-room.js";
export type { PlaygroundDht } from "./dht-options.js";
export type { DhtCandidate } from "@xppg/dht";
// Identities, as the browser entry has them (in Node, keep one in a file with keyFile or @xppg/secure/key-file).
export { createIdentity, generateIdentity, loadOrCreateStoredIdentity } from "@xppg/secure";
export type { Identity } from "@xppg/secure";
