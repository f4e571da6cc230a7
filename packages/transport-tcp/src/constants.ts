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
 * Smallest buffer a send batch starts with. Frames sent in one tick are
 * copied into batches, which go out in one socket write.
 */
export const MIN_BATCH_BYTES = 16 * 1024;

/**
 * Largest buffer a send batch grows to before another one starts (the
 * batches of one tick still leave in one corked writev).
 */
export const MAX_BATCH_BYTES = 256 * 1024;

/** The address form, for error messages. */
export const TCP_ADDRESS_FORM = "tcp://host:port (tcp://127.0.0.1:7337, tcp://[::1]:7337, tcp://example.org:7337)";
