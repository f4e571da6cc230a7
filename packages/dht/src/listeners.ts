import { toError } from "@xppg/errors";
import { DHT_ERROR_CODES, DhtError } from "./errors.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

/** Listeners by event; one that throws is reported as an `error` (and an `error` listener that throws is ignored). */
export class Listeners<Events extends { [E in keyof Events]: Listener } & { error: (error: Error) => void }> {
  readonly #byEvent = new Map<keyof Events, Set<Listener>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.#byEvent.get(event);
    if (set === undefined) this.#byEvent.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => void set.delete(listener as Listener);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const l of [...(this.#byEvent.get(event) ?? [])]) {
      try {
        (l as unknown as (...a: unknown[]) => void)(...args);
      } catch (error) {
        if (event === "error") continue;
        this.#error(new DhtError(DHT_ERROR_CODES.LISTENER_FAILED, `A "${String(event)}" listener threw: ${toError(error).message}. The DHT carries on; fix the listener.`, { cause: error }));
      }
    }
  }

  #error(error: Error): void {
    for (const l of [...(this.#byEvent.get("error") ?? [])]) {
      try {
        l(error);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }
}
