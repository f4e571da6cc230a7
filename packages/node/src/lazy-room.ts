/** A room made at its first use; what the node's stop needs of it, whatever the room. */
export interface MadeOnUse {
  /** True once the room was made. */
  readonly made: boolean;
  /** Closes the room if it was made; one made later is closed at once. */
  close(): unknown;
}

/** A room made at its first use (`room`). */
export interface LazyRoom<T> extends MadeOnUse {
  readonly room: T;
}

/**
 * A room that a first connection does not need, made at its first use
 * instead of with the node (INTERNALS.md, "Cold start"): a fresh process
 * then runs none of its code before that. Only for rooms that hear of no
 * event before their first use (nothing is lost by not having them yet);
 * a room made after the node stopped is closed at once, as it would have
 * been at stop.
 */
export function lazyRoom<T>(make: () => T, close: (room: T) => unknown): LazyRoom<T> {
  let room: T | undefined;
  let closed = false;
  return {
    get room(): T {
      if (room === undefined) {
        room = make();
        if (closed) void close(room);
      }
      return room;
    },
    get made(): boolean {
      return room !== undefined;
    },
    close: () => ((closed = true), room === undefined ? undefined : close(room)),
  };
}
