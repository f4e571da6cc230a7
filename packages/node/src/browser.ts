// The browser entry (the "browser" export condition, or "@xppg/node/browser"):
// the same Playground, dialling over the built-in WebSocket by default. What a
// page cannot do (listen, files on disk, key files, port mapping, LAN
// discovery) lives behind the package's `#host`, `#defaults` and
// `#file-transfer` imports, whose browser builds hold no node: module.
export { Playground } from "./playground.js";
export type { Ban, HandlerOptions, JoinOptions, MessageHandler, PeerInfo, PlaygroundEvents, PlaygroundStats, RequestStateOptions, SendOptions, SubscribeOptions } from "./playground.js";
export type { ReceivedFile, SharedFile } from "./file-transfer.js";
export type { MeshMember } from "./mesh/membership.js";
export type { PlaygroundHeartbeat, PlaygroundLimits, PlaygroundOptions, StartOptions } from "./options.js";
export { NODE_ERROR_CODES, PlaygroundError, RemotePeerError, isRemotePeerError } from "./errors.js";
export { MIN_FRAME_SIZE } from "./resolved-options.js";
export type { NodeErrorCode } from "./errors.js";
export { FIXED_SHAPE_KINDS, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, RESERVED_PREFIX } from "./protocol.js";
export { safeText } from "./safe-text.js";
export type { SafeTextOptions } from "./safe-text.js";
export { TypedEvents } from "./typed-events.js";
export { ReplyError, isReplyError } from "./reply-error.js";
export type { RequestHandler } from "./request-room.js";
export type { RequestOptions } from "./request-checks.js";
export type { TopicsView } from "./topic-room.js";
// A page's identity, made on WebCrypto and kept in IndexedDB (from @xppg/secure's browser entry).
// generateIdentity (noble's, signing at once) is not here: it would put Ed25519's code in every page's first download.
export { createIdentity, loadOrCreateStoredIdentity } from "@xppg/secure";
export type { Identity } from "@xppg/secure";
