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

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: Events[K]): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(name: K, listener: Events[K]): () => void {
    const off = this.on(name, ((...args: Parameters<Events[K]>) => {
      off();
      (listener as (...a: Parameters<Events[K]>) => void)(...args);
    }) as Events[K]);
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
