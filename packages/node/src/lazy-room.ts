/** What the node's stop needs of a room made at its first use, whatever the room. */
export interface MadeOnUse {
  readonly made: boolean;
  close(): unknown;
}

/**
 * A room that a first connection does not need, made at its first use
 * instead of with the node (INTERNALS.md, "Cold start"): a fresh process
 * then runs none of its code before that. Only for rooms that hear of no
 * event before their first use (nothing is lost by not having them yet);
 * a room made after the node stopped is closed at once, as it would have
 * been at stop.
 */
export class LazyRoom<T> implements MadeOnUse {
  readonly #make: () => T;
  readonly #close: (room: T) => unknown;
  #room: T | undefined;
  #closed = false;

  constructor(make: () => T, close: (room: T) => unknown) {
    this.#make = make;
    this.#close = close;
  }

  /** The room, made now if this is its first use. */
  get room(): T {
    if (this.#room === undefined) {
      this.#room = this.#make();
      if (this.#closed) void this.#close(this.#room);
    }
    return this.#room;
  }

  /** True once the room was made. */
  get made(): boolean {
    return this.#room !== undefined;
  }

  /** Closes the room if it was made; one made later is closed at once. */
  close(): unknown {
    this.#closed = true;
    return this.#room === undefined ? undefined : this.#close(this.#room);
  }
}
