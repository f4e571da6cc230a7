import {
  DEFAULT_MAX_ENTRIES_PER_UPDATE,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_KEYS,
  DEFAULT_MAX_REPLICA_ID_LENGTH,
  DEFAULT_MAX_TIED_WRITES,
  DEFAULT_MAX_TOTAL_SIZE,
  DEFAULT_MAX_VALUE_DEPTH,
  DEFAULT_MAX_VALUE_SIZE,
  DEFAULT_MAX_VERSION_JUMP,
} from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { isReplicaId } from "./key.js";
import type { StateValue } from "./value.js";

/**
 * Combines two values written to one key at the same version by different
 * replicas (a concurrent write). It must be pure and deterministic: the same
 * inputs give the same output on every replica, and it must not throw.
 *
 * The state calls it as a left fold over the tied writes sorted by writer
 * id, so every replica computes the same result whatever order the writes
 * arrived in. Make it commutative and associative as well (max, set union,
 * per-field max) and the result also does not depend on the writer ids.
 * Deletes among tied writes are left out of the fold (a concurrent write
 * beats a concurrent delete); the merge sees values only.
 */
export type MergeFunction<V extends StateValue = StateValue> = (a: V, b: V, key: string) => V;

/** Options of {@link SharedState}. Every replica of one state should use the same limits. */
export interface SharedStateOptions<V extends StateValue = StateValue> {
  /**
   * This replica's id, written with every local change; ties between
   * replicas break on it. The node sets it to its peer id.
   * @default a random UUID
   */
  replicaId?: string;
  /**
   * Combines concurrent writes of equal version; see {@link MergeFunction}.
   * Without it, the write of the greatest writer id wins a tie.
   * @default undefined
   */
  merge?: MergeFunction<V>;
  /**
   * Most keys held, deleted ones (tombstones) included.
   * @default 10000
   */
  maxKeys?: number;
  /**
   * Longest key, in UTF-16 code units.
   * @default 256
   */
  maxKeyLength?: number;
  /**
   * Longest replica id accepted as a writer in a received update.
   * @default 256
   */
  maxReplicaIdLength?: number;
  /**
   * Most rows in one received update.
   * @default 10000
   */
  maxEntriesPerUpdate?: number;
  /**
   * Largest approximate encoded size of one value, in bytes.
   * @default 65536 (64 KiB)
   */
  maxValueSize?: number;
  /**
   * Deepest nesting of arrays and objects in one value.
   * @default 16
   */
  maxValueDepth?: number;
  /**
   * Largest approximate size of everything held (keys, writers, values,
   * tombstones), in bytes.
   * @default 16777216 (16 MiB)
   */
  maxTotalSize?: number;
  /**
   * With `merge`: most concurrent writes kept per key (those of the greatest
   * writer ids). Without `merge` one is kept.
   * @default 16
   */
  maxTiedWrites?: number;
  /**
   * How far above the version held for a key a received version may be.
   * Stops one message from pushing a key to the version ceiling, where no
   * one could write it again.
   * @default 4294967296 (2^32)
   */
  maxVersionJump?: number;
}

/** Options with every default filled in and checked. */
export interface ResolvedOptions<V extends StateValue> {
  /** See {@link SharedStateOptions.replicaId}. */
  readonly replicaId: string;
  /** See {@link SharedStateOptions.merge}. */
  readonly merge: MergeFunction<V> | undefined;
  /** See {@link SharedStateOptions.maxKeys}. */
  readonly maxKeys: number;
  /** See {@link SharedStateOptions.maxKeyLength}. */
  readonly maxKeyLength: number;
  /** See {@link SharedStateOptions.maxReplicaIdLength}. */
  readonly maxReplicaIdLength: number;
  /** See {@link SharedStateOptions.maxEntriesPerUpdate}. */
  readonly maxEntriesPerUpdate: number;
  /** See {@link SharedStateOptions.maxValueSize}. */
  readonly maxValueSize: number;
  /** See {@link SharedStateOptions.maxValueDepth}. */
  readonly maxValueDepth: number;
  /** See {@link SharedStateOptions.maxTotalSize}. */
  readonly maxTotalSize: number;
  /** See {@link SharedStateOptions.maxTiedWrites}. */
  readonly maxTiedWrites: number;
  /** See {@link SharedStateOptions.maxVersionJump}. */
  readonly maxVersionJump: number;
}

function limit(given: unknown, name: keyof SharedStateOptions, fallback: number, min: number): number {
  const value = given ?? fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, `SharedState option ${name} must be an integer of at least ${min}, not ${String(value)}.`, {
      details: { option: name },
    });
  }
  return value;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** Fills in defaults and checks every option; throws `XPPG_ERR_STATE_INVALID_ARGUMENT`. */
export function resolveOptions<V extends StateValue>(options: SharedStateOptions<V>): ResolvedOptions<V> {
  const maxReplicaIdLength = limit(options.maxReplicaIdLength, "maxReplicaIdLength", DEFAULT_MAX_REPLICA_ID_LENGTH, 1);
  const replicaId = options.replicaId ?? randomId();
  if (!isReplicaId(replicaId, maxReplicaIdLength)) {
    throw new StateError(
      STATE_ERROR_CODES.INVALID_ARGUMENT,
      `SharedState option replicaId must be a non-empty string of at most ${maxReplicaIdLength} characters with no lone surrogate.`,
      { details: { option: "replicaId" } },
    );
  }
  if (options.merge !== undefined && typeof options.merge !== "function") {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, "SharedState option merge must be a function.", { details: { option: "merge" } });
  }
  return {
    replicaId,
    merge: options.merge,
    maxKeys: limit(options.maxKeys, "maxKeys", DEFAULT_MAX_KEYS, 0),
    maxKeyLength: limit(options.maxKeyLength, "maxKeyLength", DEFAULT_MAX_KEY_LENGTH, 0),
    maxReplicaIdLength,
    maxEntriesPerUpdate: limit(options.maxEntriesPerUpdate, "maxEntriesPerUpdate", DEFAULT_MAX_ENTRIES_PER_UPDATE, 1),
    maxValueSize: limit(options.maxValueSize, "maxValueSize", DEFAULT_MAX_VALUE_SIZE, 1),
    maxValueDepth: limit(options.maxValueDepth, "maxValueDepth", DEFAULT_MAX_VALUE_DEPTH, 0),
    maxTotalSize: limit(options.maxTotalSize, "maxTotalSize", DEFAULT_MAX_TOTAL_SIZE, 0),
    maxTiedWrites: limit(options.maxTiedWrites, "maxTiedWrites", DEFAULT_MAX_TIED_WRITES, 1),
    maxVersionJump: limit(options.maxVersionJump, "maxVersionJump", DEFAULT_MAX_VERSION_JUMP, 1),
  };
}
