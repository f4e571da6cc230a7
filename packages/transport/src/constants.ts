// The frame limit belongs to the frame codec: one definition, shared.
export { DEFAULT_MAX_FRAME_SIZE } from "@xppg/framing";

/**
 * Default bound, in bytes, of each direction's buffer: a `send` stays pending
 * while this much is buffered, and a receiver stops reading the network once
 * this much waits for a paused (or not yet reading) sink.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** Default time a dial may take before it fails with `XPPG_ERR_DIAL_TIMEOUT`. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * Default time a connection may take to close, from a clean `close()` (the
 * flush and the peer's answer to our FIN or close frame) or from a fault,
 * before its socket is destroyed regardless. Short, because a closing
 * connection holds a descriptor and serves nobody: a peer that ignores our
 * FIN must not keep it (issue 16, item 10).
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/** The largest delay `setTimeout` takes; longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;
