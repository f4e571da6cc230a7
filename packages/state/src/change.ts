import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import type { StateValue } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

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

/** The `"change"` listeners of one state: each is called even if another throws. */
export class ChangeListeners<V extends StateValue = StateValue> {
  readonly #listeners = new Set<ChangeListener<V>>();

  /** Adds `listener`; returns a function that removes it. */
  on(event: "change", listener: ChangeListener<V>): () => void {
    if (event !== "change" || typeof listener !== "function") {
      throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `SharedState.on takes "change" and a function; got ${String(event)}.` : [String(event)]);
    }
    // A wrapper, so the same function added twice is called twice and removed once per call.
    const entry: ChangeListener<V> = (changes) => listener(changes);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Calls every listener; throws `LISTENER_FAILED` afterwards if one threw. */
  emit(changes: readonly StateChange<V>[]): void {
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
        ERROR_TEXTS ? `A "change" listener threw (${describe(failure.error)}). The change was made and the other listeners were called; fix the listener.` : [describe(failure.error)],
        { cause: failure.error },
      );
    }
  }
}
