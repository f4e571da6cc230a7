import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

/**
 * A map with a fixed capacity that forgets its oldest entry to make room:
 * the seen-cache, the message cache and the route table are all bounded
 * this way, so no peer can grow them without limit.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  /** The most entries kept. */
  readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(ERROR_TEXTS ? `capacity must be a positive integer, got ${capacity}` : valuesMessage("", [capacity]));
    this.capacity = capacity;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets a value; a new key past the capacity evicts the oldest one. Returns false when the key was already there (its value is replaced). */
  set(key: K, value: V): boolean {
    if (this.#map.has(key)) {
      this.#map.set(key, value);
      return false;
    }
    if (this.#map.size >= this.capacity) this.#map.delete(this.#map.keys().next().value as K);
    this.#map.set(key, value);
    return true;
  }

  /** Moves a key to the newest end (least recently used eviction). */
  touch(key: K): void {
    const value = this.#map.get(key);
    if (value === undefined) return;
    this.#map.delete(key);
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  clear(): void {
    this.#map.clear();
  }
}

/** The key of one broadcast: its origin and the origin's message id. */
export function messageKey(origin: string, id: number): string {
  return `${origin}#${id}`;
}
