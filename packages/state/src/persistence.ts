import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import { checkKey } from "./key.js";
import type { ResolvedOptions } from "./options.js";
import { splitWriter } from "./ownership.js";
import { resolveRows, slotSize, type Row, type Slot } from "./slot.js";
import type { StateStore, StoredRow, StoredSlot } from "./state-store.js";
import { checkValue, type StateValue } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** A held slot as the store keeps it. */
export function toStored(key: string, slot: Slot): StoredSlot {
  return {
    key,
    version: slot.version,
    owner: slot.owner,
    rows: slot.rows.map((row): StoredRow => {
      const writer = row.sig === undefined ? row.writer : ([row.writer, row.sig] as const);
      return row.value === undefined ? [writer] : [writer, row.value];
    }),
  };
}

/** Rewrites the store's log from `slots` when it asks for it; a failure is ignored (the log stays whole, only longer, and the store asks again later). */
export function compactIfWanted(store: StateStore, slots: ReadonlyMap<string, Slot>): void {
  if (!store.wantsCompaction(slots.size)) return;
  try {
    store.compact([...slots].map(([key, slot]) => toStored(key, slot)));
  } catch {
    // See above.
  }
}

/** Calls the store, turning whatever it throws into `STORE_FAILED`. */
export function storeCall<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof StateError && error.code === STATE_ERROR_CODES.STORE_FAILED) throw error;
    throw new StateError(
      STATE_ERROR_CODES.STORE_FAILED,
      ERROR_TEXTS ? `The state store failed to ${what} (${describe(error)}). Nothing was changed; free disk space or fix the store, then retry.` : [what, describe(error)],
      { cause: error },
    );
  }
}

/**
 * Reads what `store` kept into slots, the last of each key winning. Keys and
 * values are checked (and frozen) as if received, so a store edited by hand
 * cannot put what a peer could not into the replica; a slot that fails is
 * an error, not skipped (the store's checksums already caught torn writes),
 * and so is a store holding more keys or bytes than the limits allow.
 */
export function loadSlots(store: StateStore, options: ResolvedOptions<StateValue>): Map<string, Slot> {
  try {
    const slots = readSlots(store, options);
    checkTotals(slots, options);
    return slots;
  } catch (error) {
    try {
      store.close(); // the replica owns its store: one it refuses is closed before the error is thrown
    } catch {
      // The refusal is the error worth reporting.
    }
    throw error;
  }
}

/** A store written with larger limits would leave the replica over its own `maxKeys` or `maxTotalSize`, refusing every write: say so at open instead. */
function checkTotals(slots: ReadonlyMap<string, Slot>, options: ResolvedOptions<StateValue>): void {
  let keys = 0;
  let bytes = 0;
  for (const slot of slots.values()) {
    if (slot.value === undefined) continue;
    keys += 1;
    bytes += slot.size;
  }
  const over = keys > options.maxKeys ? `${keys} keys (maxKeys ${options.maxKeys})` : bytes > options.maxTotalSize ? `${bytes} bytes (maxTotalSize ${options.maxTotalSize})` : undefined;
  if (over === undefined) return;
  throw new StateError(
    STATE_ERROR_CODES.STORE_FAILED,
    ERROR_TEXTS ? `The state store holds ${over}, more than this replica allows; was it written with other limits? Open it with the limits it was written with.` : [over],
  );
}

function readSlots(store: StateStore, options: ResolvedOptions<StateValue>): Map<string, Slot> {
  const slots = new Map<string, Slot>();
  const stored = storeCall("load", () => [...store.load()]);
  for (const s of stored) {
    try {
      const key = checkKey(s.key, options.maxKeyLength, "A stored slot");
      const rows: Row[] = s.rows.map((r) => {
        const [writer, stored] = splitWriter(r[0]);
        const sig = stored === undefined ? undefined : new Uint8Array(stored);
        if (r.length === 1) return { writer, value: undefined, size: 0, sig };
        const checked = checkValue(r[1], options, `The stored value of key "${key}"`);
        return { writer, value: checked.value, size: checked.size, sig };
      });
      const value = resolveRows(key, rows, options.merge, options);
      slots.set(key, { version: s.version, rows, seq: 1, value, size: slotSize(key, { rows }), owner: value === undefined ? undefined : (s.owner ?? null) });
    } catch (error) {
      throw new StateError(
        STATE_ERROR_CODES.STORE_FAILED,
        ERROR_TEXTS ? `The state store holds a slot this replica refuses (${describe(error)}); was it written with other limits? Open it with the limits it was written with.` : [describe(error)],
        { cause: error },
      );
    }
  }
  return slots;
}
