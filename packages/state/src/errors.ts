import { XppgError, type XppgErrorOptions, type ErrorText } from "@xppg/errors";

/**
 * Stable codes of the errors `@xppg/state` throws.
 *
 * Every code except `LISTENER_FAILED` means nothing was changed: an update
 * is applied whole or not at all.
 */
export const STATE_ERROR_CODES = {
  /** A received update does not have the shape of a {@link StateUpdate}. */
  INVALID_UPDATE: "XPPG_ERR_STATE_INVALID_UPDATE",
  /** A received update has a `format` this code does not read. */
  UNSUPPORTED_FORMAT: "XPPG_ERR_STATE_UNSUPPORTED_FORMAT",
  /** A key is not a string, or holds a lone UTF-16 surrogate. */
  INVALID_KEY: "XPPG_ERR_STATE_INVALID_KEY",
  /** A key is longer than `maxKeyLength`. */
  KEY_TOO_LONG: "XPPG_ERR_STATE_KEY_TOO_LONG",
  /** A value is not plain data (or nests deeper than `maxValueDepth`). */
  INVALID_VALUE: "XPPG_ERR_STATE_INVALID_VALUE",
  /** A value is larger than `maxValueSize`. */
  VALUE_TOO_LARGE: "XPPG_ERR_STATE_VALUE_TOO_LARGE",
  /** Holding the result would take more than `maxKeys` keys (received updates: more than `maxKeys - reservedLocalKeys`). */
  TOO_MANY_KEYS: "XPPG_ERR_STATE_TOO_MANY_KEYS",
  /** A received update would make its sender hold more than `maxKeysPerPeer` keys. */
  TOO_MANY_KEYS_FROM_PEER: "XPPG_ERR_STATE_TOO_MANY_KEYS_FROM_PEER",
  /** A received update has more rows than `maxEntriesPerUpdate`. */
  TOO_MANY_ENTRIES: "XPPG_ERR_STATE_TOO_MANY_ENTRIES",
  /** Holding the result would take more than `maxTotalSize` bytes (received updates: more than `maxTotalSize - reservedLocalSize`). */
  TOO_LARGE: "XPPG_ERR_STATE_TOO_LARGE",
  /** A received update would make the keys its sender added hold more than `maxTotalSizePerPeer` bytes. */
  TOO_LARGE_FROM_PEER: "XPPG_ERR_STATE_TOO_LARGE_FROM_PEER",
  /**
   * A received update holds a write its sender says it made itself, at a
   * version more than twice `maxClockSkewMs` ahead of this replica's clock.
   */
  VERSION_TOO_FAR_AHEAD: "XPPG_ERR_STATE_VERSION_TOO_FAR_AHEAD",
  /** A key's version is at {@link MAX_VERSION}; it cannot be written again. */
  VERSION_EXHAUSTED: "XPPG_ERR_STATE_VERSION_EXHAUSTED",
  /** The `merge` option threw, or returned something that is not a valid value. */
  MERGE_FAILED: "XPPG_ERR_STATE_MERGE_FAILED",
  /** A change listener threw. The change itself was made. */
  LISTENER_FAILED: "XPPG_ERR_STATE_LISTENER_FAILED",
  /**
   * A write to a key its writer may not write: another peer's `@<peerId>/`
   * key, a signature missing or wrong, or the `canWrite` option said no.
   */
  WRITE_NOT_ALLOWED: "XPPG_ERR_STATE_WRITE_NOT_ALLOWED",
  /** The `store` could not read or keep the state (disk full, a file that is not a state log, a closed store). Nothing was changed. */
  STORE_FAILED: "XPPG_ERR_STATE_STORE_FAILED",
  /** A constructor option or a method argument is out of range or of the wrong type. */
  INVALID_ARGUMENT: "XPPG_ERR_STATE_INVALID_ARGUMENT",
} as const;

/** One of the {@link STATE_ERROR_CODES}. */
export type StateErrorCode = (typeof STATE_ERROR_CODES)[keyof typeof STATE_ERROR_CODES];

/** An error from `@xppg/state`. Match on `code`, never on the message. */
export class StateError extends XppgError {
  declare readonly code: StateErrorCode;

  constructor(code: StateErrorCode, message: ErrorText, options?: XppgErrorOptions) {
    super(code, message, options, new.target === StateError ? "StateError" : undefined);
  }
}

/** A short, never-throwing description of something thrown, for messages. */
export function describe(thrown: unknown): string {
  try {
    return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : typeof thrown;
  } catch {
    return "an unreadable error";
  }
}
