/**
 * Layout version of the {@link StateUpdate} objects this code writes and reads.
 * An update with another `format` is refused with `XPPG_ERR_STATE_UNSUPPORTED_FORMAT`.
 */
export const UPDATE_FORMAT = 1;

/**
 * The highest version a key can reach. Versions are exact integers, so the
 * ceiling is `Number.MAX_SAFE_INTEGER` (2^53 - 1); a local write to a key at
 * the ceiling throws `XPPG_ERR_STATE_VERSION_EXHAUSTED`.
 */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/** Default of `maxKeys`: keys held, tombstones included. */
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
 * Default of `maxVersionJump`: how far above the version a replica holds for
 * a key a received version may be (2^32). An honest replica would need four
 * billion writes to one key between two syncs to go further; a hostile one
 * needs about two million accepted updates to push a key to
 * {@link MAX_VERSION}, instead of one.
 */
export const DEFAULT_MAX_VERSION_JUMP = 2 ** 32;
