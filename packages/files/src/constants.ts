/** Limits and tunings of the files protocol (INTERNALS.md of `@xppg/node`, "Files, the swarm way"). */

/** Content ids and chunk hashes are SHA-256. */
export const HASH_BYTES = 32;
/** The smallest chunk a manifest may use. */
export const MIN_CHUNK_SIZE = 16 * 1024;
/** The largest chunk a manifest may use: a chunk is held in memory while it is verified. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The chunk size for files up to `DEFAULT_CHUNK_SIZE * MAX_CHUNKS` bytes (larger files double it). */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Most chunks in one manifest: its hashes then take 2 MiB. */
export const MAX_CHUNKS = 65_536;
/** Longest name in a manifest, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 1024;
/** Most manifest bytes sent in one message. */
export const MANIFEST_PIECE_BYTES = 48 * 1024;
/** Room for the message header around a block of data. */
export const MESSAGE_OVERHEAD = 64;
/** Requests a neighbour may have waiting with this node; more are refused (`reject`). */
export const MAX_QUEUED_REQUESTS = 64;
/** The largest manifest accepted: the header, the longest name and `MAX_CHUNKS` hashes. */
export const MAX_MANIFEST_BYTES = 18 + MAX_NAME_BYTES + MAX_CHUNKS * HASH_BYTES;
/** How long an idle source waits before it may duplicate a request in flight elsewhere (endgame), as a share of that request's deadline. */
export const ENDGAME_SHARE = 0.5;
/** Verified chunks waiting for the disk before no more are requested. */
export const MAX_PENDING_WRITES = 32;
/** Neighbours whose served bytes are counted (`uploaded`); past it the one served longest ago is forgotten. */
export const MAX_UPLOAD_STATS = 256;
