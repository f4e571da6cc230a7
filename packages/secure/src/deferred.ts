/** A promise with its settle functions, for a send answered later (when the record it joined is written). */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A new {@link Deferred}; its rejection is handled, so a caller that fires and forgets causes no unhandled rejection. */
export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that fires and forgets must not cause an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
