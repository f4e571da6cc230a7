import type { ChangeListener, StateChange } from "./change.js";
import { valuesEqual } from "./compare-values.js";
import { MAX_VERSION, UPDATE_FORMAT } from "./constants.js";
import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import { checkKey } from "./key.js";
import { resolveOptions, type ResolvedOptions, type SharedStateOptions } from "./options.js";
import type { Replica } from "./replica.js";
import { joinRows, slotSize, type Row, type Slot } from "./slot.js";
import { splitUpdate, type SplitLimits } from "./split-update.js";
import { parseSizedUpdate, parseUpdate, type StateUpdate, type UpdateEntry } from "./update.js";
import { checkValue, type StateValue } from "./value.js";

/** A slot being built by `apply`, before its visible value is known. */
interface Staged {
  readonly version: number;
  readonly rows: readonly Row[];
}

/**
 * A replicated key/value map. Every write carries a version; replicas that
 * exchange updates (see {@link Replica}) converge on the same contents
 * whatever order the updates arrive in, duplicated or not.
 *
 * Values are plain data ({@link StateValue}), copied and frozen when stored:
 * what `get` returns cannot be changed behind the state's back (except the
 * bytes of a `Uint8Array`, which JavaScript cannot freeze: copy before
 * changing them).
 *
 * The type parameter `V` is a promise you make about the values, not a
 * check: updates from peers are only checked to be plain data.
 */
export class SharedState<V extends StateValue = StateValue> implements Replica<StateUpdate, StateChange<V>> {
  readonly #options: ResolvedOptions<V>;
  readonly #maxRows: number;
  readonly #slots = new Map<string, Slot>();
  readonly #listeners = new Set<ChangeListener<V>>();
  #seq = 0;
  #live = 0;
  #totalSize = 0;

  /** Throws `XPPG_ERR_STATE_INVALID_ARGUMENT` for an option out of range. */
  constructor(options: SharedStateOptions<V> = {}) {
    this.#options = resolveOptions(options);
    this.#maxRows = this.#options.merge === undefined ? 1 : this.#options.maxTiedWrites;
  }

  /** This replica's id, written with every local change. */
  get replicaId(): string {
    return this.#options.replicaId;
  }

  /** The local sequence number: grows by one with every operation that changes what is held. */
  get seq(): number {
    return this.#seq;
  }

  /** Number of keys that hold a value (deleted keys are not counted). */
  get size(): number {
    return this.#live;
  }

  /** The options in force, defaults filled in. */
  get options(): ResolvedOptions<V> {
    return this.#options;
  }

  /** The value of `key`, or `undefined` if it has none. */
  get(key: string): V | undefined;
  /** The value of `key`, or `fallback` if it has none. */
  get<F>(key: string, fallback: F): V | F;
  get<F>(key: string, fallback?: F): V | F | undefined {
    const value = this.#slots.get(key)?.value;
    return value === undefined ? fallback : (value as V);
  }

  /** True when `key` holds a value. */
  has(key: string): boolean {
    return this.#slots.get(key)?.value !== undefined;
  }

  /** The version of `key` (of its delete, if it was deleted); 0 if it was never written. */
  versionOf(key: string): number {
    return this.#slots.get(key)?.version ?? 0;
  }

  /**
   * Writes `value` under `key`, at a version above every version seen for
   * the key, so this write wins over everything this replica has seen.
   * The value is checked, copied and frozen. Returns the state.
   *
   * Throws a {@link StateError}: `INVALID_KEY`, `KEY_TOO_LONG`,
   * `INVALID_VALUE`, `VALUE_TOO_LARGE`, `TOO_MANY_KEYS`, `TOO_LARGE`,
   * `VERSION_EXHAUSTED`; or `LISTENER_FAILED` after the write was made.
   */
  set(key: string, value: V): this {
    checkKey(key, this.#options.maxKeyLength, "SharedState.set");
    const checked = checkValue(value, this.#options, `The value for key "${key}"`);
    this.#write(key, { writer: this.#options.replicaId, value: checked.value, size: checked.size });
    return this;
  }

  /**
   * Deletes `key`, leaving a versioned tombstone so an older write arriving
   * later does not bring it back. Returns false (and does nothing) when the
   * key holds no value.
   */
  delete(key: string): boolean {
    if (!this.has(key)) return false;
    this.#write(key, { writer: this.#options.replicaId, value: undefined, size: 0 });
    return true;
  }

  /** The keys that hold a value, in first-written order. */
  *keys(): IterableIterator<string> {
    for (const [key, slot] of this.#slots) if (slot.value !== undefined) yield key;
  }

  /** The values, in the order of {@link keys}. */
  *values(): IterableIterator<V> {
    for (const slot of this.#slots.values()) if (slot.value !== undefined) yield slot.value as V;
  }

  /** `[key, value]` pairs, in the order of {@link keys}. */
  *entries(): IterableIterator<[string, V]> {
    for (const [key, slot] of this.#slots) if (slot.value !== undefined) yield [key, slot.value as V];
  }

  /**
   * The keys that hold a value, as a plain object (for logs, `JSON.stringify`,
   * tests). Keys are defined as own properties, so a key named `"__proto__"`
   * is an ordinary property, not a prototype.
   */
  toJSON(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const [key, value] of this.entries()) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** Calls `listener` with the changes of every operation; returns a function that removes it. */
  on(event: "change", listener: ChangeListener<V>): () => void {
    if (event !== "change" || typeof listener !== "function") {
      throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, `SharedState.on takes "change" and a function; got ${String(event)}.`);
    }
    // A wrapper, so the same function added twice is called twice and removed once per call.
    const entry: ChangeListener<V> = (changes) => listener(changes);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** An update holding every key, deletes included, stamped with the current {@link seq}. */
  snapshot(): StateUpdate {
    return this.delta(0);
  }

  /**
   * An update holding the keys changed (by this replica or by `apply`) after
   * the local sequence number `sinceSeq`, stamped with the current
   * {@link seq}: pass that to the next `delta`. `delta(0)` is a snapshot.
   */
  delta(sinceSeq: number): StateUpdate {
    if (typeof sinceSeq !== "number" || !Number.isSafeInteger(sinceSeq) || sinceSeq < 0) {
      throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, `SharedState.delta takes a non-negative integer, not ${String(sinceSeq)}.`);
    }
    const entries: UpdateEntry[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.seq <= sinceSeq) continue;
      for (const row of slot.rows) {
        entries.push(row.value === undefined ? [key, slot.version, row.writer] : [key, slot.version, row.writer, row.value]);
      }
    }
    return { format: UPDATE_FORMAT, seq: this.#seq, entries };
  }

  /** Cuts an update into pieces that each fit in one message; see {@link splitUpdate}. */
  splitUpdate(update: StateUpdate, limits: SplitLimits = {}): StateUpdate[] {
    return splitUpdate(update, { maxEntries: this.#options.maxEntriesPerUpdate, ...limits });
  }

  /**
   * Checks decoded network data against this state's limits and returns it
   * as a frozen {@link StateUpdate}; throws a {@link StateError} otherwise
   * (see `parseUpdate` for the codes). Does not look at what is held, so an
   * update that passes can still be refused by `apply` (too many keys,
   * version too far ahead).
   */
  validateUpdate(input: unknown): StateUpdate {
    return parseUpdate(input, this.#options);
  }

  /**
   * Merges a received snapshot, delta or piece into this state, all of it
   * or nothing, treating it as hostile. For each key the higher version
   * wins; equal versions are settled by the merge function or the writer
   * ids. Returns the changes it made, after emitting them to listeners.
   *
   * Throws a {@link StateError}, having changed nothing: any code of
   * `validateUpdate`, `TOO_MANY_KEYS`, `TOO_LARGE`, `VERSION_TOO_FAR_AHEAD`,
   * `MERGE_FAILED`. `LISTENER_FAILED` is thrown after the update was applied.
   *
   * @param origin passed through to each change (the node passes the sender's peer id)
   */
  apply(input: unknown, origin?: unknown): readonly StateChange<V>[] {
    // The checks of validateUpdate, keeping the size counted for each value so staging need not walk it again.
    const { update, sizes } = parseSizedUpdate(input, this.#options);
    const staged = this.#stage(update, sizes);
    // Everything is computed and checked before anything is stored.
    const slots = new Map<string, Slot>();
    let newKeys = 0;
    let sizeChange = 0;
    for (const [key, { version, rows }] of staged) {
      const held = this.#slots.get(key);
      if (held === undefined) newKeys++;
      const size = slotSize(key, { rows });
      sizeChange += size - (held?.size ?? 0);
      slots.set(key, { version, rows, seq: this.#seq + 1, value: this.#resolve(key, rows), size });
    }
    this.#checkCapacity(newKeys, sizeChange, "Received state update");
    return this.#commit(slots, "remote", origin);
  }

  /** `sizes[i]` is the size of the value of `update.entries[i]`, as parsing measured it. */
  #stage(update: StateUpdate, sizes: readonly number[]): Map<string, Staged> {
    const staged = new Map<string, Staged>();
    const { entries } = update;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as UpdateEntry;
      const [key, version, writer] = entry;
      const held = this.#slots.get(key);
      const heldVersion = held?.version ?? 0;
      // Against the version held before this update, so a chain of rows in one update cannot climb.
      if (version - heldVersion > this.#options.maxVersionJump) {
        throw new StateError(
          STATE_ERROR_CODES.VERSION_TOO_FAR_AHEAD,
          `Received state update writes key "${key}" at version ${version}, more than maxVersionJump (${this.#options.maxVersionJump}) ` +
            `above the version held (${heldVersion}). Nothing was applied; a peer sending this is trying to pin the key.`,
          { details: { key, version, heldVersion, maxVersionJump: this.#options.maxVersionJump } },
        );
      }
      const current = staged.get(key) ?? held;
      const value = entry.length === 4 ? entry[3] : undefined;
      const row: Row = { writer, value, size: sizes[i] as number };
      if (current === undefined || version > current.version) {
        staged.set(key, { version, rows: [row] });
      } else if (version === current.version) {
        const rows = joinRows(current.rows, row, this.#maxRows);
        if (rows !== current.rows) staged.set(key, { version, rows });
      }
    }
    return staged;
  }

  /** The visible value of a key from the writes held at its version. */
  #resolve(key: string, rows: readonly Row[]): StateValue | undefined {
    const merge = this.#options.merge;
    if (merge === undefined) return rows[rows.length - 1]?.value;
    let result: StateValue | undefined;
    for (const row of rows) {
      if (row.value === undefined) continue;
      result = result === undefined ? row.value : this.#merge(merge, result, row.value, key);
    }
    return result;
  }

  #merge(merge: (a: V, b: V, key: string) => V, a: StateValue, b: StateValue, key: string): StateValue {
    let merged: unknown;
    try {
      merged = merge(a as V, b as V, key);
      return checkValue(merged, this.#options, `The merge of key "${key}"`).value;
    } catch (error) {
      throw new StateError(
        STATE_ERROR_CODES.MERGE_FAILED,
        `The merge function failed on key "${key}" (${describe(error)}). Nothing was applied; fix the merge function so it returns plain data and never throws.`,
        { cause: error, details: { key } },
      );
    }
  }

  #checkCapacity(newKeys: number, sizeChange: number, where: string): void {
    const { maxKeys, maxTotalSize } = this.#options;
    if (this.#slots.size + newKeys > maxKeys) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_MANY_KEYS,
        `${where} would hold ${this.#slots.size + newKeys} keys (deleted ones included), over maxKeys (${maxKeys}). Nothing was changed; ` +
          "use fewer keys, or raise maxKeys on every replica.",
        { details: { keys: this.#slots.size, adding: newKeys, maxKeys } },
      );
    }
    if (sizeChange > 0 && this.#totalSize + sizeChange > maxTotalSize) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_LARGE,
        `${where} would hold about ${this.#totalSize + sizeChange} bytes, over maxTotalSize (${maxTotalSize}). Nothing was changed; ` +
          "store less, or raise maxTotalSize on every replica.",
        { details: { size: this.#totalSize, adding: sizeChange, maxTotalSize } },
      );
    }
  }

  #write(key: string, row: Row): void {
    const held = this.#slots.get(key);
    const version = (held?.version ?? 0) + 1;
    if (version > MAX_VERSION) {
      throw new StateError(
        STATE_ERROR_CODES.VERSION_EXHAUSTED,
        `Key "${key}" is at the highest version (${MAX_VERSION}) and cannot be written again. Use another key; ` +
          "a peer that pushed it there was hostile (see maxVersionJump).",
        { details: { key } },
      );
    }
    const rows = [row];
    const size = slotSize(key, { rows });
    this.#checkCapacity(held === undefined ? 1 : 0, size - (held?.size ?? 0), `SharedState.set("${key}")`);
    this.#commit(new Map([[key, { version, rows, seq: this.#seq + 1, value: row.value, size }]]), "local", undefined);
  }

  #commit(slots: ReadonlyMap<string, Slot>, source: "local" | "remote", origin: unknown): readonly StateChange<V>[] {
    if (slots.size === 0) return [];
    this.#seq++;
    const changes: StateChange<V>[] = [];
    for (const [key, slot] of slots) {
      const held = this.#slots.get(key);
      this.#slots.set(key, slot);
      this.#totalSize += slot.size - (held?.size ?? 0);
      const oldValue = held?.value;
      this.#live += (slot.value === undefined ? 0 : 1) - (oldValue === undefined ? 0 : 1);
      const same = oldValue === undefined || slot.value === undefined ? oldValue === slot.value : valuesEqual(oldValue, slot.value);
      if (same) continue;
      changes.push(
        Object.freeze({
          key,
          value: slot.value as V | undefined,
          deleted: slot.value === undefined,
          oldValue: oldValue as V | undefined,
          version: slot.version,
          source,
          origin,
        }),
      );
    }
    if (changes.length > 0) this.#emit(Object.freeze(changes));
    return changes;
  }

  #emit(changes: readonly StateChange<V>[]): void {
    let failure: { error: unknown } | undefined;
    for (const listener of [...this.#listeners]) {
      try {
        listener(changes);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) {
      throw new StateError(
        STATE_ERROR_CODES.LISTENER_FAILED,
        `A "change" listener threw (${describe(failure.error)}). The change was made and the other listeners were called; fix the listener.`,
        { cause: failure.error },
      );
    }
  }
}
