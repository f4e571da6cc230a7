/** The transport's name and the address scheme it owns. */
export const TCP_TRANSPORT_NAME = "tcp";

/**
 * Default bytes a connection buffers in each direction before `send` stays
 * pending, or before a paused receiver stops reading the socket: 1 MiB.
 */
export const DEFAULT_TCP_HIGH_WATER_MARK = 1024 * 1024;

/** Default delay before the first TCP keep-alive probe on an idle connection. */
export const DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS = 30_000;

/**
 * Size of a send batch buffer: four 64 KiB frames with their length
 * prefixes. Frames sent in one tick are copied into batches; the tick's
 * first frame is written at once (with `noDelay`), and the rest of the
 * tick's batches leave in one corked writev. A larger frame gets its own buffer.
 */
export const BATCH_BYTES = 264 * 1024;

/** Parts of `sendParts` this large or larger are written by reference; smaller ones are copied into the batch. */
export const BY_REFERENCE_BYTES = 16 * 1024;

/** Size of a batch allocated for a tick that sends little, when no pooled batch is free. */
export const SMALL_BATCH_BYTES = 16 * 1024;

/** Free batch buffers kept for reuse, shared by all connections of the process. */
export const MAX_POOLED_BATCHES = 12;

/** Free small batch buffers kept for reuse (64 x 16 KiB = 1 MiB at most), shared by all connections. */
export const MAX_POOLED_SMALL_BATCHES = 64;

/** The address form, for error messages. */
export const TCP_ADDRESS_FORM = "tcp://host:port (tcp://127.0.0.1:7337, tcp://[::1]:7337, tcp://example.org:7337)";

/**
 * Size of a connection's read buffer (see `read-buffer.ts`): the socket
 * reads into it, after the bytes already there, until less than
 * {@link MIN_READ_BYTES} is free. A frame larger than it gets a buffer of its size.
 */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Frames this large or larger set the size of the next read buffer: a whole
 * number of them, at most {@link READ_BUFFER_BYTES}, so that a flood of such
 * frames of one size is never split between two buffers. Of the last
 * frame's size; where the sink keeps frames, of the largest of the last
 * ones, while the last is as large (see
 * `read-buffer.ts`).
 */
export const ALIGN_READS_FROM_BYTES = 16 * 1024;

/**
 * Where the sink keeps frames, a read buffer goes on being read into while
 * this much is free before the room kept at its end for the next frame (as
 * large as the largest of the last ones, while the last is large), then to
 * its end while that room is free; with less, the next read goes to a new
 * buffer, of that room and this much more (at least READ_BUFFER_BYTES). So a
 * run of small frames leaves at most this much of a buffer unused, and a
 * frame after small ones of up to this many bytes still fits whole.
 */
export const MIN_KEPT_READ_BYTES = 16 * 1024;

/** Room offered to each socket read, at least: Node's own read size. */
export const MIN_READ_BYTES = 64 * 1024;
