import type { StateValue } from "./value.js";

/**
 * One key whose visible value changed. A write that leaves the value as it
 * was (a duplicate, or an equal value at a newer version) is not a change.
 */
export interface StateChange<V extends StateValue = StateValue> {
  /** The key. */
  readonly key: string;
  /** The new value; `undefined` when the key was deleted. */
  readonly value: V | undefined;
  /** True when the change deleted the key. */
  readonly deleted: boolean;
  /** The value before; `undefined` when the key did not exist (or was deleted). */
  readonly oldValue: V | undefined;
  /** The key's version after the change. */
  readonly version: number;
  /** `"local"` for `set`/`delete` on this replica, `"remote"` for `apply`. */
  readonly source: "local" | "remote";
  /** What the caller passed to `apply(update, origin)` (the node passes the peer id); `undefined` for local changes. */
  readonly origin: unknown;
}

/** A `"change"` listener: gets every change one operation made, at once. */
export type ChangeListener<V extends StateValue = StateValue> = (changes: readonly StateChange<V>[]) => void;
