import type { SignedWriter } from "./ownership.js";
import type { StateValue } from "./value.js";

/**
 * One write kept on disk: by `writer`, a value, or a delete when there is
 * none. `[writer]` is a delete, `[writer, value]` a write; a signed write
 * has `[writer, signature]` in place of the writer id, as on the wire.
 */
export type StoredRow = readonly [writer: string | SignedWriter] | readonly [writer: string | SignedWriter, value: StateValue];

/**
 * Everything a replica holds for one key, as a {@link StateStore} keeps it:
 * the version, the writes held at it, and who the key is charged to (`null`
 * for this replica, a peer id for the sender that made it hold a value,
 * `undefined` for a tombstone).
 */
export interface StoredSlot {
  readonly key: string;
  readonly version: number;
  readonly owner: string | null | undefined;
  readonly rows: readonly StoredRow[];
}

/**
 * Where a {@link SharedState} keeps its contents across restarts (the
 * `store` option). `@xppg/state/store` has one on disk (`openFileStore`);
 * anything with these four calls works (a browser could use IndexedDB).
 *
 * Every call is synchronous: when `write` returns, the slots are as durable
 * as the store promises (`openFileStore` documents its sync policy), and
 * only then does `set` return or `apply` emit its changes.
 */
export interface StateStore {
  /** The slots kept, oldest first; a later slot of a key replaces an earlier one. Called once, by the constructor. */
  load(): Iterable<StoredSlot>;
  /** Keeps these slots (the new contents of their keys), all or none. Throws if it cannot. */
  write(slots: readonly StoredSlot[]): void;
  /**
   * True when the store wants the whole state rewritten (its log has grown
   * well past what is live). `live` is the number of keys held, tombstones
   * included.
   */
  wantsCompaction(live: number): boolean;
  /** Replaces everything kept with exactly these slots, atomically. */
  compact(slots: Iterable<StoredSlot>): void;
  /** Flushes and releases the store; later writes throw. */
  close(): void;
}
