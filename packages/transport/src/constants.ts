/**
 * Largest frame a transport accepts unless told otherwise: 1 MiB. The same
 * value as `DEFAULT_MAX_FRAME_SIZE` in `@xppg/framing` (kept here so this
 * package depends on no codec).
 */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

/**
 * Default bound, in bytes, of each direction's buffer: a `send` stays pending
 * while this much is buffered, and a receiver stops reading the network once
 * this much waits for a paused (or not yet reading) sink.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** Default time a dial may take before it fails with `XPPG_ERR_DIAL_TIMEOUT`. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * Default time a clean `close()` waits for buffered frames to be flushed and
 * the peer to acknowledge, before the connection is torn down regardless.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
