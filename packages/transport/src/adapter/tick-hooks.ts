/**
 * What the layers above asked to run at a tick's end (`Connection.atTickEnd`),
 * kept by a link that ends its ticks itself: one hook in a field (a layer
 * above adds one a tick), a list only for more, so no array is emptied and
 * grown again per message.
 */
export class TickHooks {
  #first: (() => void) | null = null;
  #more: Array<() => void> | null = null;

  /** True while a hook waits for the tick's end. */
  get waiting(): boolean {
    return this.#first !== null;
  }

  /** `fn` runs at the tick's end, after the hooks added before it. */
  add(fn: () => void): void {
    if (this.#first === null) this.#first = fn;
    else (this.#more ??= []).push(fn);
  }

  /**
   * Runs the hooks in order, those they add too. They may run inside a
   * write's callback: a hook that throws keeps neither the others nor the
   * caller's work from running, so its error is rethrown on a microtask of
   * its own (an uncaught exception, as a throwing tick callback's).
   */
  run(): void {
    let fn = this.#first;
    while (fn !== null) {
      const more = this.#more;
      this.#first = more !== null && more.length > 0 ? more.shift()! : null;
      try {
        fn();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
      fn = this.#first;
    }
  }
}
