/**
 * Layout version of the {@link StateUpdate} objects this code writes and reads.
 * An update with another `format` is refused with `XPPG_ERR_STATE_UNSUPPORTED_FORMAT`.
 */
export const UPDATE_FORMAT = 3;

/**
 * The highest version a key can reach. Versions are exact integers, so the
 * ceiling is `Number.MAX_SAFE_INTEGER` (2^53 - 1); with versions read as a
 * clock ({@link VERSION_TICKS_PER_MS}) it is reached in the year 2248. A
 * local write to a key at the ceiling throws `XPPG_ERR_STATE_VERSION_EXHAUSTED`.
 */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * Versions are hybrid logical clock readings: `ms * VERSION_TICKS_PER_MS + counter`,
 * with `ms` the writer's wall clock (milliseconds since the epoch) and
 * `counter` the writes to the key within that millisecond.
 */
export const VERSION_TICKS_PER_MS = 1024;

/** Default of `maxKeys`: keys that hold a value (tombstones are counted by `maxTombstones`). */
export const DEFAULT_MAX_KEYS = 10_000;

/** Default of `maxKeyLength`, in UTF-16 code units (JavaScript string length). */
export const DEFAULT_MAX_KEY_LENGTH = 256;

/** Default of `maxReplicaIdLength` (the same bound the envelope puts on peer ids). */
export const DEFAULT_MAX_REPLICA_ID_LENGTH = 256;

/** Default of `maxEntriesPerUpdate`: rows in one received update. */
export const DEFAULT_MAX_ENTRIES_PER_UPDATE = 10_000;

/** Default of `maxValueSize`: the approximate encoded size of one value, in bytes (64 KiB). */
export const DEFAULT_MAX_VALUE_SIZE = 64 * 1024;

/** Default of `maxValueDepth`: nesting of arrays and objects inside one value. */
export const DEFAULT_MAX_VALUE_DEPTH = 16;

/** Default of `maxTotalSize`: the approximate size of everything held, in bytes (16 MiB). */
export const DEFAULT_MAX_TOTAL_SIZE = 16 * 1024 * 1024;

/** Default of `maxTiedWrites`: concurrent writes kept per key for the merge function. */
export const DEFAULT_MAX_TIED_WRITES = 16;

/**
 * Default of `maxClockSkewMs` (5 minutes): how far ahead of this replica's
 * clock a received version may be and still be applied at once. Versions up
 * to twice as far ahead wait until the clock catches up; further ones are
 * dropped.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Default of `tombstoneTtlMs` (24 hours): how long a delete is remembered after its version's time. */
export const DEFAULT_TOMBSTONE_TTL_MS = 24 * 60 * 60_000;

/** Default of `maxPendingSize`: bytes of received writes held back until the clock catches up (1 MiB). */
export const DEFAULT_MAX_PENDING_SIZE = 1024 * 1024;
