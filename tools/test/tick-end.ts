// Helpers of the end-of-tick tests (`Connection.atTickEnd`) of several packages.

/**
 * `conn` as a connection written before `atTickEnd` joined the contract (a
 * page's, a WebSocket's): it offers no end of tick; everything else is its own.
 */
export function withoutTickEnd<T extends object>(conn: T): T {
  return new Proxy(conn, {
    get(target, key) {
      if (key === "atTickEnd") return undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Takes the process's uncaught exceptions for a test (a throwing hook's error
 * is one of its own): `thrown` collects them; `restore` puts the listeners it
 * took back, and is to run first among the test's cleanups.
 */
export function catchUncaught(): { thrown: unknown[]; restore: () => Promise<void> } {
  const thrown: unknown[] = [];
  const kept = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  const catcher = (error: unknown): void => void thrown.push(error);
  process.on("uncaughtException", catcher);
  const restore = async (): Promise<void> => {
    process.off("uncaughtException", catcher);
    for (const listener of kept) process.on("uncaughtException", listener);
  };
  return { thrown, restore };
}
