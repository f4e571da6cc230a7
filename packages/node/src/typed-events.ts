import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { removedOnAbort } from "./removed-on-abort.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * A minimal typed event emitter. Unlike node:events it never throws for an
 * unhandled "error" (a library must not crash its host because nobody
 * listened), runs in browsers, and `on` returns the function that removes
 * the listener.
 */
export class TypedEvents<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();
  #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. Aborting `signal` removes it too. */
  on<K extends keyof Events>(name: K, listener: Events[K], options: { signal?: AbortSignal | undefined } = {}): () => void {
    if (typeof listener !== "function") {
      throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `events.on(name, listener, options?): listener must be a function, got ${typeof listener}. Write it as pg.events.on("peer:joined", (peer) => { ... }).` : [typeof listener]);
    }
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? "events.on(name, listener, options?): signal must be an AbortSignal. Write it as pg.events.on(name, listener, { signal: controller.signal })." : []);
    }
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return removedOnAbort(() => set.delete(listener), signal);
  }

  /** Adds a listener that runs once (or never, if `signal` aborts first). */
  once<K extends keyof Events>(name: K, listener: Events[K], options: { signal?: AbortSignal | undefined } = {}): () => void {
    const off = this.on(
      name,
      ((...args: Parameters<Events[K]>) => {
        off();
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      }) as Events[K],
      options,
    );
    return off;
  }

  /** Number of listeners for `name`. */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /** @internal Calls every listener; a listener that throws is reported, not propagated. */
  emit<K extends keyof Events>(name: K, ...args: Parameters<Events[K]>): void {
    const set = this.#listeners.get(name);
    if (set === undefined || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
