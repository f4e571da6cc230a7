import { compareValues, valuesEqual } from "./compare-values.js";
import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import type { MergeFunction } from "./options.js";
import type { UpdateEntry } from "./update.js";
import { splitWriter } from "./ownership.js";
import { checkValue, stringSize, type StateValue, type ValueLimits } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** One write held for a key: by `writer`, a value or a delete. */
export interface Row {
  readonly writer: string;
  /** The value written; `undefined` for a delete. */
  readonly value: StateValue | undefined;
  /** Approximate encoded size of the value, in bytes (0 for a delete). */
  readonly size: number;
  /** The writer's signature of this write (keys `@<writer>/...`); see `ownership.ts`. */
  readonly sig?: Uint8Array | undefined;
}

/**
 * Everything a replica holds for one key: the highest version seen and the
 * writes made at that version (one without a merge function; up to
 * `maxTiedWrites` with one), sorted by writer id, one per writer.
 */
export interface Slot {
  readonly version: number;
  readonly rows: readonly Row[];
  /** The local sequence number of the last change to this slot. */
  readonly seq: number;
  /** What `get` shows: the winning value, or the merge of the tied values; `undefined` when deleted. */
  readonly value: StateValue | undefined;
  /** Approximate bytes held for this key, for `maxTotalSize`. */
  readonly size: number;
  /**
   * Who the key is charged to while it holds a value (`null`: this
   * replica; a string: the sender that made it hold one); `undefined` for a
   * tombstone. See `key-budget.ts`.
   */
  readonly owner: string | null | undefined;
  /** The origin of the update that last changed the slot when it holds exactly what that update sent; else undefined. */
  readonly from?: unknown;
}

/**
 * Orders two writes of one version by the same writer (a replica that lost
 * its state and reused its id, or a hostile one): a delete sorts below any
 * value, values by {@link compareValues}. The greater is kept.
 */
function compareSameWriter(a: Row, b: Row): number {
  if (a.value === undefined || b.value === undefined) {
    return (a.value === undefined ? 0 : 1) - (b.value === undefined ? 0 : 1);
  }
  return compareValues(a.value, b.value);
}

/**
 * Joins one received write into the rows held at the same version. The
 * result depends only on the set of writes ever joined, never on their
 * order or repetition: per writer the greater write (see above) is kept,
 * and of the writers the `maxRows` greatest ids (by UTF-16 code units) are
 * kept. Keeping "the K greatest" of a union is itself order-free, which is
 * why a cap can exist without breaking convergence.
 *
 * Returns the same array when nothing changed.
 */
export function joinRows(rows: readonly Row[], row: Row, maxRows: number): readonly Row[] {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((rows[mid] as Row).writer < row.writer) lo = mid + 1;
    else hi = mid;
  }
  const existing = rows[lo];
  if (existing !== undefined && existing.writer === row.writer) {
    if (compareSameWriter(row, existing) <= 0) return rows;
    const next = rows.slice();
    next[lo] = row;
    return next;
  }
  if (rows.length >= maxRows && lo === 0) return rows; // the new writer would be the one dropped
  const next = rows.slice();
  next.splice(lo, 0, row);
  if (next.length > maxRows) next.splice(0, next.length - maxRows);
  return next;
}

/** Approximate bytes a slot holds (key, version, writers and values), for `maxTotalSize`. */
export function slotSize(key: string, slot: Pick<Slot, "rows">): number {
  let size = stringSize(key) + 9;
  for (const row of slot.rows) size += rowSize(row);
  return size;
}

/** Approximate bytes of a row's writer, signature and value. */
export function rowSize(row: Row): number {
  return stringSize(row.writer) + row.size + (row.sig === undefined ? 0 : row.sig.length + 4);
}

/** A held row as an update row. */
export function toEntry(key: string, version: number, row: Row): UpdateEntry {
  const writer = row.sig === undefined ? row.writer : ([row.writer, row.sig] as const);
  return row.value === undefined ? [key, version, writer] : [key, version, writer, row.value];
}

/**
 * What `get` shows for a key from the writes held at its version: the
 * single row's value, or `merge` folded over the live rows in writer order
 * (deletes left out). Throws `MERGE_FAILED` when `merge` throws or returns
 * something that is not a value within `limits`.
 */
export function resolveRows(key: string, rows: readonly Row[], merge: MergeFunction | undefined, limits: ValueLimits): StateValue | undefined {
  if (merge === undefined) return rows[rows.length - 1]?.value;
  let result: StateValue | undefined;
  for (const row of rows) {
    if (row.value === undefined) continue;
    if (result === undefined) {
      result = row.value;
      continue;
    }
    try {
      result = checkValue(merge(result, row.value, key), limits, `The merge of key "${key}"`).value;
    } catch (error) {
      throw new StateError(
        STATE_ERROR_CODES.MERGE_FAILED,
        ERROR_TEXTS ? `The merge function failed on key "${key}" (${describe(error)}). Nothing was applied; fix the merge function so it returns plain data and never throws.` : [key, describe(error)],
        { cause: error, details: { key } },
      );
    }
  }
  return result;
}

/**
 * True when a received row cannot change `held`, a live value (never a
 * tombstone): it is older than the key's version, or it is the very write
 * held already (same version, writer, signature and value). Such a row
 * needs no signature check: a live value is not forgotten while the update
 * is applied, and versions only rise, so the row loses whatever else the
 * update holds.
 */
export function cannotChange(held: Slot | undefined, entry: UpdateEntry): boolean {
  // A tombstone may be forgotten (its time past) before the row is staged, and then it stops nothing: check such rows.
  if (held === undefined || held.value === undefined) return false;
  const version = entry[1];
  if (version !== held.version) return version < held.version;
  const [writer, sig] = splitWriter(entry[2]);
  const row = held.rows.find((r) => r.writer === writer);
  if (sig === undefined || row?.sig === undefined || !sameBytes(row.sig, sig)) return false;
  const value = entry.length === 4 ? entry[3] : undefined;
  return value === undefined || row.value === undefined ? value === row.value : valuesEqual(value, row.value);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The slot a local write of `row` at `version` makes over `held`, once
 * `check(keys, bytes)` (the key budget's, which throws) allowed the keys and
 * bytes it adds.
 */
export function localSlot(key: string, row: Row, version: number, sig: Uint8Array | undefined, seq: number, held: Slot | undefined, check: (keys: number, bytes: number) => void): Slot {
  const rows = [sig === undefined ? row : { ...row, sig }];
  const size = slotSize(key, { rows });
  const wasLive = held?.value !== undefined;
  const live = row.value !== undefined;
  check(live && !wasLive ? 1 : 0, (live ? size : 0) - (wasLive ? held.size : 0));
  return { version, rows, seq, value: row.value, size, owner: live ? (wasLive ? held.owner : null) : undefined };
}
