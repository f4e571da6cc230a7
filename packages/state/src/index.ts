export { SharedState } from "./shared-state.js";
export type { SharedStateOptions, SharedStateLimits, MergeFunction, ResolvedOptions } from "./options.js";
export { timeOfVersion, versionAtTime } from "./clock.js";
export type { StateChange, ChangeListener } from "./change.js";
export type { Replica } from "./replica.js";
export type { StateStore, StoredSlot, StoredRow } from "./state-store.js";
export { keyOwner, signingBytes, MAX_SIGNATURE_LENGTH } from "./ownership.js";
export type { SignedWriter, WriteSigner, WriteVerifier, WritePolicy } from "./ownership.js";
export { parseUpdate } from "./update.js";
export type { StateUpdate, UpdateEntry, UpdateLimits } from "./update.js";
export { splitUpdate, measureUpdate, measureEntry } from "./split-update.js";
export type { SplitLimits } from "./split-update.js";
export { compareValues, valuesEqual } from "./compare-values.js";
export { checkValue, measureValue, isBytes } from "./value.js";
export type { StateValue, StateObject, ValueLimits, CheckedValue } from "./value.js";
export { STATE_ERROR_CODES, StateError } from "./errors.js";
export type { StateErrorCode } from "./errors.js";
export {
  UPDATE_FORMAT,
  MAX_VERSION,
  DEFAULT_MAX_KEYS,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_REPLICA_ID_LENGTH,
  DEFAULT_MAX_ENTRIES_PER_UPDATE,
  DEFAULT_MAX_VALUE_SIZE,
  DEFAULT_MAX_VALUE_DEPTH,
  DEFAULT_MAX_TOTAL_SIZE,
  DEFAULT_MAX_TIED_WRITES,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  DEFAULT_MAX_PENDING_SIZE,
  VERSION_TICKS_PER_MS,
} from "./constants.js";
