import {
  DEFAULT_MAX_ENTRIES_PER_UPDATE,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_KEYS,
  DEFAULT_MAX_REPLICA_ID_LENGTH,
  DEFAULT_MAX_TIED_WRITES,
  DEFAULT_MAX_TOTAL_SIZE,
  DEFAULT_MAX_VALUE_DEPTH,
  DEFAULT_MAX_VALUE_SIZE,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  DEFAULT_MAX_PENDING_SIZE,
} from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { isReplicaId } from "./key.js";
import type { WritePolicy, WriteSigner, WriteVerifier } from "./ownership.js";
import type { StateStore } from "./state-store.js";
import type { StateValue } from "./value.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

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

/**
 * The limits of a {@link SharedState}: what it holds and what it accepts
 * from peers. Every replica of one state should use the same limits. The
 * node takes these as `new Playground(app, { state: { ... } })`.
 */
export interface SharedStateLimits {
  /**
   * Most keys that hold a value. Deleted keys (tombstones) are not counted
   * here but by `maxTombstones`.
   * @default 10000
   */
  maxKeys?: number;
  /**
   * Most keys holding a value that one sender (the `origin` given to
   * `apply`, the peer id in the node) may have added, so that one peer
   * cannot fill `maxKeys` for everyone. A key counts against the sender that
   * made it hold a value, until it is deleted.
   * @default three quarters of maxKeys
   */
  maxKeysPerPeer?: number;
  /**
   * Keys kept free for this replica's own writes: received updates may fill
   * at most `maxKeys - reservedLocalKeys`, so `set` of a new key works
   * whatever peers sent.
   * @default a tenth of maxKeys
   */
  reservedLocalKeys?: number;
  /**
   * Most tombstones (deletes remembered so that an older write arriving
   * later does not bring the key back). Past it, the oldest are forgotten
   * first; nothing is ever refused for it.
   * @default maxKeys
   */
  maxTombstones?: number;
  /**
   * How long a tombstone is remembered, from the time in its version. After
   * that a write older than the delete that arrives late brings the key back
   * (see the README's "Tombstones").
   * @default 86400000 (24 hours)
   */
  tombstoneTtlMs?: number;
  /**
   * How far ahead of this replica's clock, in ms, a received version may be
   * and still apply at once; up to twice as far it waits (see
   * `maxPendingSize`) until the clock catches up; further it is dropped.
   * Replicas' clocks should agree within this.
   * @default 300000 (5 minutes)
   */
  maxClockSkewMs?: number;
  /**
   * Bytes of received writes held back because their version is ahead of
   * this replica's clock (by less than twice `maxClockSkewMs`). Past it,
   * more such writes are dropped (a later snapshot brings them again).
   * @default 1048576 (1 MiB)
   */
  maxPendingSize?: number;
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
   * Largest approximate size of every key that holds a value (keys,
   * writers, values), in bytes. Tombstones are bounded by `maxTombstones`.
   * @default 16777216 (16 MiB)
   */
  maxTotalSize?: number;
  /**
   * Bytes the keys one sender added may hold (they count against it until
   * deleted, whoever overwrites them), so that one peer cannot fill
   * `maxTotalSize` for every other.
   * @default three quarters of maxTotalSize
   */
  maxTotalSizePerPeer?: number;
  /**
   * Bytes kept free for this replica's own writes: received updates may
   * fill at most `maxTotalSize - reservedLocalSize`.
   * @default a tenth of maxTotalSize
   */
  reservedLocalSize?: number;
  /**
   * With `merge`: most concurrent writes kept per key (those of the greatest
   * writer ids). Without `merge` one is kept.
   * @default 16
   */
  maxTiedWrites?: number;
}

/** Options of {@link SharedState}. Every replica of one state should use the same limits. */
export interface SharedStateOptions<V extends StateValue = StateValue> extends SharedStateLimits {
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
   * The wall clock, in ms since the epoch: versions are read from it and
   * received ones checked against it. Tests pass a fixed clock.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Where to keep the state across restarts: `openFileStore(path)` of
   * `@xppg/state/store`, or any {@link StateStore}. The constructor loads
   * what it holds; every change is written to it before `set` returns or
   * `apply` emits. Call `close()` when done.
   * @default undefined (memory only)
   */
  store?: StateStore;
  /**
   * Signs this replica's writes to its own keys (`@<replicaId>/...`). The
   * node passes its identity's Ed25519 `sign`. A signer whose signature
   * comes later (a promise: WebCrypto's, in a page) makes such a write take
   * effect once signed, after the writes before it: `get` shows it, `change`
   * and `delta` carry it from then on.
   * @default undefined
   */
  sign?: WriteSigner;
  /**
   * Turns ownership on: a key `@<id>/...` may be written only by `id`, with
   * its signature, checked by this function on every received write
   * (`verify(writer, data, signature)`, false for a bad one); others'
   * keys cannot be written here. Shared keys stay writable by all.
   * @default undefined (no ownership)
   */
  verify?: WriteVerifier;
  /**
   * An application rule checked on every local and received write:
   * `canWrite(writer, key)`; false refuses it (`WRITE_NOT_ALLOWED`).
   * @default undefined (everything allowed)
   */
  canWrite?: WritePolicy;
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
  /** See {@link SharedStateLimits.maxTotalSizePerPeer}. */
  readonly maxTotalSizePerPeer: number;
  /** See {@link SharedStateLimits.reservedLocalSize}. */
  readonly reservedLocalSize: number;
  /** See {@link SharedStateLimits.maxKeysPerPeer}. */
  readonly maxKeysPerPeer: number;
  /** See {@link SharedStateLimits.reservedLocalKeys}. */
  readonly reservedLocalKeys: number;
  /** See {@link SharedStateLimits.maxTombstones}. */
  readonly maxTombstones: number;
  /** See {@link SharedStateLimits.tombstoneTtlMs}. */
  readonly tombstoneTtlMs: number;
  /** See {@link SharedStateLimits.maxClockSkewMs}. */
  readonly maxClockSkewMs: number;
  /** See {@link SharedStateLimits.maxPendingSize}. */
  readonly maxPendingSize: number;
  /** See {@link SharedStateOptions.now}. */
  readonly now: () => number;
  /** See {@link SharedStateOptions.sign}. */
  readonly sign: WriteSigner | undefined;
  /** See {@link SharedStateOptions.verify}. */
  readonly verify: WriteVerifier | undefined;
  /** See {@link SharedStateOptions.canWrite}. */
  readonly canWrite: WritePolicy | undefined;
}

/** The error for a bad option `name`: `SharedState option <name> <rule>`. */
function optionError(name: string, rule: ErrorText): StateError {
  return new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `SharedState option ${name} ${rule}.` : [name, rule], { details: { option: name } });
}

function limit(given: unknown, name: keyof SharedStateLimits, fallback: number, min: number): number {
  const value = given ?? fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) throw optionError(name, ERROR_TEXTS ? `must be an integer of at least ${min}, not ${String(value)}` : [min, String(value)]);
  return value;
}

function randomId(): string {
  // getRandomValues, not randomUUID: a page served over plain http (not a secure context) has only the former.
  let hex = "";
  for (const b of globalThis.crypto.getRandomValues(new Uint8Array(16))) hex += (b < 16 ? "0" : "") + b.toString(16);
  return hex;
}

/** Fills in defaults and checks every option; throws `XPPG_ERR_STATE_INVALID_ARGUMENT`. */
export function resolveOptions<V extends StateValue>(options: SharedStateOptions<V>): ResolvedOptions<V> {
  const maxReplicaIdLength = limit(options.maxReplicaIdLength, "maxReplicaIdLength", DEFAULT_MAX_REPLICA_ID_LENGTH, 1);
  const replicaId = options.replicaId ?? randomId();
  if (!isReplicaId(replicaId, maxReplicaIdLength)) {
    throw optionError("replicaId", ERROR_TEXTS ? `must be a non-empty string of at most ${maxReplicaIdLength} characters with no lone surrogate` : [maxReplicaIdLength]);
  }
  if (options.merge !== undefined && typeof options.merge !== "function") {
    throw optionError("merge", ERROR_TEXTS ? "must be a function" : []);
  }
  if (options.store !== undefined && !isStore(options.store)) {
    throw optionError("store", ERROR_TEXTS ? "must be a StateStore (load, write, wantsCompaction, compact, close)" : []);
  }
  for (const name of ["sign", "verify", "canWrite"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") {
      throw optionError(name, ERROR_TEXTS ? "must be a function" : []);
    }
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw optionError("now", ERROR_TEXTS ? "must be a function returning ms since the epoch" : []);
  }
  const maxKeys = limit(options.maxKeys, "maxKeys", DEFAULT_MAX_KEYS, 0);
  const reservedLocalKeys = limit(options.reservedLocalKeys, "reservedLocalKeys", Math.floor(maxKeys / 10), 0);
  if (reservedLocalKeys > maxKeys) {
    throw optionError("reservedLocalKeys", `(${reservedLocalKeys}) must not exceed maxKeys (${maxKeys})`);
  }
  const maxTotalSize = limit(options.maxTotalSize, "maxTotalSize", DEFAULT_MAX_TOTAL_SIZE, 0);
  const reservedLocalSize = limit(options.reservedLocalSize, "reservedLocalSize", Math.floor(maxTotalSize / 10), 0);
  if (reservedLocalSize > maxTotalSize) {
    throw optionError("reservedLocalSize", `(${reservedLocalSize}) must not exceed maxTotalSize (${maxTotalSize})`);
  }
  return {
    replicaId,
    merge: options.merge,
    maxKeys,
    maxKeysPerPeer: limit(options.maxKeysPerPeer, "maxKeysPerPeer", Math.floor((maxKeys * 3) / 4), 0),
    reservedLocalKeys,
    maxTombstones: limit(options.maxTombstones, "maxTombstones", maxKeys, 0),
    tombstoneTtlMs: limit(options.tombstoneTtlMs, "tombstoneTtlMs", DEFAULT_TOMBSTONE_TTL_MS, 0),
    maxClockSkewMs: limit(options.maxClockSkewMs, "maxClockSkewMs", DEFAULT_MAX_CLOCK_SKEW_MS, 0),
    maxPendingSize: limit(options.maxPendingSize, "maxPendingSize", DEFAULT_MAX_PENDING_SIZE, 0),
    now: options.now ?? Date.now,
    sign: options.sign,
    verify: options.verify,
    canWrite: options.canWrite,
    maxKeyLength: limit(options.maxKeyLength, "maxKeyLength", DEFAULT_MAX_KEY_LENGTH, 0),
    maxReplicaIdLength,
    maxEntriesPerUpdate: limit(options.maxEntriesPerUpdate, "maxEntriesPerUpdate", DEFAULT_MAX_ENTRIES_PER_UPDATE, 1),
    maxValueSize: limit(options.maxValueSize, "maxValueSize", DEFAULT_MAX_VALUE_SIZE, 1),
    maxValueDepth: limit(options.maxValueDepth, "maxValueDepth", DEFAULT_MAX_VALUE_DEPTH, 0),
    maxTotalSize,
    maxTotalSizePerPeer: limit(options.maxTotalSizePerPeer, "maxTotalSizePerPeer", Math.floor((maxTotalSize * 3) / 4), 0),
    reservedLocalSize,
    maxTiedWrites: limit(options.maxTiedWrites, "maxTiedWrites", DEFAULT_MAX_TIED_WRITES, 1),
  };
}

function isStore(store: unknown): store is StateStore {
  if (typeof store !== "object" || store === null) return false;
  const s = store as Record<string, unknown>;
  return ["load", "write", "wantsCompaction", "compact", "close"].every((name) => typeof s[name] === "function");
}
