import { ChangeListeners, type ChangeListener, type StateChange } from "./change.js";
import { valuesEqual } from "./compare-values.js";
import { lastVersionAtTime, nextVersion, sortByClock, timeOfVersion, versionExhausted } from "./clock.js";
import { MAX_VERSION, UPDATE_FORMAT } from "./constants.js";
import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { checkKey } from "./key.js";
import { KeyBudget, ownerOf, type Owner, type OwnerChange } from "./key-budget.js";
import { resolveOptions, type MergeFunction, type ResolvedOptions, type SharedStateOptions } from "./options.js";
import { authorizeLocal, checkReceivedWrites, splitWriter } from "./ownership.js";
import { LaterSignatures } from "./later-signatures.js";
import { PendingWrites } from "./pending.js";
import { compactIfWanted, loadSlots, storeCall, toStored } from "./persistence.js";
import type { Replica } from "./replica.js";
import { cutSnapshot } from "./snapshot-pieces.js";
import { cannotChange, joinRows, localSlot, resolveRows, slotSize, toEntry, type Row, type Slot } from "./slot.js";
import { splitUpdate, type SplitLimits } from "./split-update.js";
import type { StateStore } from "./state-store.js";
import { Tombstones } from "./tombstones.js";
import { parseSizedUpdate, parseUpdate, type StateUpdate, type UpdateEntry } from "./update.js";
import { checkValue, type StateValue } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** A slot being built by `apply`, before its visible value is known. */
type Staged = Pick<Slot, "version" | "rows"> & { readonly whole?: boolean };

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
  readonly #listeners = new ChangeListeners<V>();
  readonly #budget = new KeyBudget();
  readonly #tombstones = new Tombstones();
  readonly #pending: PendingWrites;
  readonly #store: StateStore | undefined;
  #seq = 0;
  readonly #later = new LaterSignatures();

  /**
   * Throws `XPPG_ERR_STATE_INVALID_ARGUMENT` for an option out of range,
   * `XPPG_ERR_STATE_STORE_FAILED` when the `store` cannot be read.
   */
  constructor(options: SharedStateOptions<V> = {}) {
    this.#options = resolveOptions(options);
    this.#maxRows = this.#options.merge === undefined ? 1 : this.#options.maxTiedWrites;
    this.#pending = new PendingWrites(this.#maxRows, this.#options.maxPendingSize);
    this.#store = options.store;
    if (this.#store !== undefined) this.#restore(this.#store);
  }

  /** Takes in what the store kept: no change events (nobody listens yet), nothing checked against the peers' shares. */
  #restore(store: StateStore): void {
    const loaded = loadSlots(store, this.#options as unknown as ResolvedOptions<StateValue>);
    for (const [key, slot] of loaded) {
      this.#slots.set(key, slot);
      if (slot.value !== undefined) this.#budget.add(slot.owner ?? null, 1, slot.size);
      else this.#tombstones.add(key, timeOfVersion(slot.version) + this.#options.tombstoneTtlMs);
    }
    if (loaded.size > 0) this.#seq = 1;
    this.#collect();
    compactIfWanted(store, this.#slots); // a log of many small records reloads faster once rewritten
  }

  /** Flushes and closes the `store` (a no-op without one); later changes throw `STORE_FAILED`; a write still waiting for its signature is dropped. */
  close(): void {
    this.#later.close();
    if (this.#store !== undefined) storeCall("close", () => (this.#store as StateStore).close());
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
    return this.#budget.live;
  }

  /** Tombstones held (deleted keys remembered; see `maxTombstones`, `tombstoneTtlMs`). */
  get tombstones(): number {
    return this.#tombstones.size;
  }

  /** Received writes waiting for this replica's clock to catch up with their version. */
  get pending(): number {
    return this.#pending.rows;
  }

  /**
   * When (ms since the epoch, by the `now` clock) the first write waiting
   * for the clock may be applied by {@link releasePending}; `undefined` when
   * none waits. The node arms a timer for it.
   */
  get pendingUntil(): number | undefined {
    const lowest = this.#pending.lowestVersion();
    return lowest === undefined ? undefined : timeOfVersion(lowest) - this.#options.maxClockSkewMs;
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
    return this.#listeners.on(event, listener);
  }

  /** An update holding every key, deletes included, stamped with the current {@link seq}. */
  snapshot(): StateUpdate {
    return this.delta(0);
  }

  /**
   * An update holding the keys changed (by this replica or by `apply`) after
   * the local sequence number `sinceSeq`, stamped with the current
   * {@link seq}: pass that to the next `delta`. `delta(0)` is a snapshot.
   * With `except`, keys whose last change was an update from that origin
   * (exactly as it sent them) are left out: that peer has them already.
   */
  delta(sinceSeq: number, except?: unknown): StateUpdate {
    if (typeof sinceSeq !== "number" || !Number.isSafeInteger(sinceSeq) || sinceSeq < 0) {
      throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `SharedState.delta takes a non-negative integer, not ${String(sinceSeq)}.` : [String(sinceSeq)]);
    }
    this.#collect();
    const now = this.#options.now();
    const entries: UpdateEntry[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.seq <= sinceSeq || (slot.value === undefined && this.#expired(slot.version, now))) continue;
      if (except !== undefined && slot.from === except) continue;
      for (const row of slot.rows) entries.push(toEntry(key, slot.version, row));
    }
    return { format: UPDATE_FORMAT, seq: this.#seq, entries };
  }

  /**
   * The snapshot, cut as it is read into pieces that each fit `limits` (as
   * {@link splitUpdate} would cut it), without building the whole first:
   * a carrier sends one piece, yields to the event loop, then asks for the
   * next. Keys written between two pieces are sent as they are then (rows
   * are independent, and the change goes out as a delta anyway).
   */
  *snapshotPieces(limits: SplitLimits = {}): Generator<StateUpdate, void, undefined> {
    this.#collect();
    const now = this.#options.now();
    yield* cutSnapshot(this.#slots, () => this.#seq, { maxEntries: this.#options.maxEntriesPerUpdate, ...limits }, (slot) =>
      slot.value === undefined && this.#expired(slot.version, now),
    );
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
   * ids. Writes whose version is ahead of this replica's clock by more than
   * `maxClockSkewMs` wait (see {@link releasePending}); by more than twice
   * that they are dropped. Returns the changes it made, after emitting them.
   *
   * Throws a {@link StateError}, having changed nothing: any code of
   * `validateUpdate`, `TOO_MANY_KEYS`, `TOO_MANY_KEYS_FROM_PEER`,
   * `TOO_LARGE`, `VERSION_TOO_FAR_AHEAD`, `MERGE_FAILED`.
   * `LISTENER_FAILED` is thrown after the update was applied.
   *
   * @param origin who sent it (the node passes the sender's peer id):
   *   passed through to each change, charged with the keys it adds
   *   (`maxKeysPerPeer`), and compared with each write's writer
   */
  apply(input: unknown, origin?: unknown): readonly StateChange<V>[] {
    // The checks of validateUpdate, keeping the size counted for each value so staging need not walk it again.
    const { update, sizes } = parseSizedUpdate(input, this.#options);
    const now = this.#options.now();
    checkReceivedWrites(update.entries, this.#options, (entry) => cannotChange(this.#held(entry[0], now), entry));
    this.#collect();
    const { rows, early } = sortByClock(update, sizes, origin, now, this.#options.maxClockSkewMs);
    const slots = this.#prepare(rows, origin, now);
    for (const { key, version, row } of early) this.#pending.hold(key, version, row, origin);
    return this.#commit(slots, "remote", origin);
  }

  /**
   * Applies the received writes that were waiting for this replica's clock
   * (see {@link pendingUntil}) and are now within `maxClockSkewMs` of it, as
   * `apply` would have, each with the origin it came with. Returns the
   * changes. If some cannot be held (this replica is full), the others are
   * still applied and the first such error is thrown afterwards.
   */
  releasePending(): readonly StateChange<V>[] {
    this.#collect();
    const now = this.#options.now();
    const due = this.#pending.takeDue(lastVersionAtTime(now + this.#options.maxClockSkewMs));
    const byOrigin = new Map<unknown, [UpdateEntry, number][]>();
    for (const [key, slot] of due) {
      let rows = byOrigin.get(slot.origin);
      if (rows === undefined) byOrigin.set(slot.origin, (rows = []));
      for (const row of slot.rows) rows.push([toEntry(key, slot.version, row), row.size]);
    }
    const changes: StateChange<V>[] = [];
    let failure: unknown;
    for (const [origin, rows] of byOrigin) {
      try {
        changes.push(...this.#commit(this.#prepare(rows, origin, now), "remote", origin));
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return changes;
  }

  /** Stages received rows and checks the result against the limits; returns the slots to store. Changes nothing. */
  #prepare(rows: readonly [UpdateEntry, number][], origin: unknown, now: number): Map<string, Slot> {
    const staged = this.#stage(rows, now);
    // Everything is computed and checked before anything is stored.
    const slots = new Map<string, Slot>();
    const owner = ownerOf(origin);
    const changes = new Map<Owner, OwnerChange>();
    const charge = (who: Owner, keys: number, bytes: number): void => {
      const change = changes.get(who) ?? { keys: 0, bytes: 0 };
      change.keys += keys;
      change.bytes += bytes;
      changes.set(who, change);
    };
    for (const [key, { version, rows: kept, whole }] of staged) {
      const held = this.#slots.get(key);
      const value = resolveRows(key, kept, this.#options.merge as MergeFunction | undefined, this.#options);
      const wasLive = held?.value !== undefined;
      if (value === undefined && !wasLive && this.#expired(version, now)) continue; // a delete already past its time: nothing to remember
      const size = slotSize(key, { rows: kept });
      // A key stays charged to whoever made it hold a value, until it is deleted.
      const slotOwner: Owner | undefined = value === undefined ? undefined : wasLive ? (held.owner ?? null) : owner;
      if (wasLive) charge(held.owner ?? null, -1, -held.size);
      if (slotOwner !== undefined) charge(slotOwner, 1, size);
      // A slot now exactly as the sender sent it is one the sender holds (or has gone past): see delta's `except`.
      slots.set(key, { version, rows: kept, seq: this.#seq + 1, value, size, owner: slotOwner, from: whole === true ? origin : undefined });
    }
    this.#budget.checkReceived(this.#options, owner, changes);
    return slots;
  }

  /** Joins rows into copies of the slots they touch. */
  #stage(rows: readonly [UpdateEntry, number][], now: number): Map<string, Staged> {
    const staged = new Map<string, Staged>();
    for (const [entry, size] of rows) {
      const [key, version, signed] = entry;
      const [writer, sig] = splitWriter(signed);
      const current = staged.get(key) ?? this.#held(key, now);
      const value = entry.length === 4 ? entry[3] : undefined;
      const row: Row = { writer, value, size, sig };
      if (current === undefined || version > current.version) {
        staged.set(key, { version, rows: [row], whole: true });
      } else if (version === current.version) {
        const joined = joinRows(current.rows, row, this.#maxRows);
        if (joined !== current.rows) staged.set(key, { version, rows: joined, whole: false });
      }
    }
    return staged;
  }

  #write(key: string, row: Row): void {
    this.#collect();
    const held = this.#slots.get(key);
    const now = this.#options.now();
    const version = nextVersion(Math.max(held?.version ?? 0, this.#later.versionOf(key)), now);
    if (version > MAX_VERSION) throw versionExhausted(key);
    const sig = authorizeLocal(key, version, row.writer, row.value, this.#options);
    if (!(sig instanceof Promise)) return this.#made(key, row, version, sig);
    // Checked against the budget now, as any write, and made once signed, unless the key has a version as high by then (the same owner's other replica).
    this.#made(key, row, version, undefined, false);
    this.#later.add(key, version, sig, (signature) => (this.#slots.get(key)?.version ?? 0) < version && this.#made(key, row, version, signature));
  }

  /** Makes a local write, after the budget's check (which throws); `commit` false: only checks it. */
  #made(key: string, row: Row, version: number, sig: Uint8Array | undefined, commit = true): void {
    const slot = localSlot(key, row, version, sig, this.#seq + 1, this.#slots.get(key), (keys, bytes) => this.#budget.checkLocal(this.#options, key, keys, bytes));
    if (commit) this.#commit(new Map([[key, slot]]), "local", undefined);
  }

  /**
   * What is held for `key`, a tombstone past its time counting as nothing
   * (whether or not it was collected yet), so that what a replica does
   * depends on the writes it received and the clock, not on when it swept.
   */
  #held(key: string, now: number): Slot | undefined {
    const slot = this.#slots.get(key);
    return slot !== undefined && slot.value === undefined && this.#expired(slot.version, now) ? undefined : slot;
  }

  /** True when a tombstone at `version` may be forgotten at `now`. */
  #expired(version: number, now: number): boolean {
    return timeOfVersion(version) + this.#options.tombstoneTtlMs <= now;
  }

  /** Forgets the tombstones past their time or beyond `maxTombstones`. */
  #collect(): void {
    if (this.#tombstones.size === 0) return;
    for (const key of this.#tombstones.collect(this.#options.now(), this.#options.maxTombstones)) this.#slots.delete(key);
  }

  #commit(slots: ReadonlyMap<string, Slot>, source: "local" | "remote", origin: unknown): readonly StateChange<V>[] {
    if (slots.size === 0) return [];
    // Kept before it is held: a write the store refused changes nothing.
    const store = this.#store;
    if (store !== undefined) storeCall("write", () => store.write([...slots].map(([key, slot]) => toStored(key, slot))));
    this.#seq++;
    const changes: StateChange<V>[] = [];
    for (const [key, slot] of slots) {
      const held = this.#slots.get(key);
      this.#slots.set(key, slot);
      const oldValue = held?.value;
      if (oldValue !== undefined) this.#budget.add((held as Slot).owner ?? null, -1, -(held as Slot).size);
      if (slot.value !== undefined) {
        this.#budget.add(slot.owner ?? null, 1, slot.size);
        this.#tombstones.remove(key);
      } else {
        const expiresAt = timeOfVersion(slot.version) + this.#options.tombstoneTtlMs;
        // A delete already past its time is applied (the value goes) but not remembered.
        if (expiresAt <= this.#options.now()) {
          this.#slots.delete(key);
          this.#tombstones.remove(key);
        } else this.#tombstones.add(key, expiresAt);
      }
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
    this.#collect();
    if (store !== undefined) compactIfWanted(store, this.#slots);
    if (changes.length > 0) this.#listeners.emit(Object.freeze(changes));
    return changes;
  }

}
