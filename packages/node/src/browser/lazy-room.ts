/**
 * How a page's room loads Node's room on first use (`import()`), shared by
 * the `#request-room` and `#routing-room` stand-ins: one load at a time, a
 * failed load tried again at the next use, calls made while it loads run
 * in order once it is there, and a room that comes after `close()` is
 * closed at once.
 */

/** Node's room behind a page's stand-in, loaded the first time it is needed. */
export class LazyRoom<R extends { close(): void }> {
  readonly #load: () => Promise<R>;
  readonly #loaded: (room: R) => void;
  readonly #failed: () => void;
  #room: R | undefined;
  #loading: Promise<R> | undefined;
  /** Calls waiting for the room: later ones wait behind them, so all run in order. */
  #waiting = 0;
  #closed = false;

  /**
   * `load` imports and makes the room; `loaded` hands it what came
   * meanwhile (it runs before any waiting call); `failed` forgets that.
   */
  constructor(load: () => Promise<R>, loaded: (room: R) => void, failed: () => void) {
    this.#load = load;
    this.#loaded = loaded;
    this.#failed = failed;
  }

  /** The room, once loaded. */
  get room(): R | undefined {
    return this.#room;
  }

  /** Calls waiting for the room. */
  get waiting(): number {
    return this.#waiting;
  }

  /** True once a load started (and did not fail). */
  get started(): boolean {
    return this.#loading !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * `use(room)` now when the room is there and nothing waits, else once it
   * loaded; a load that fails rejects with `unloaded(error)`.
   */
  call<T>(use: (room: R) => Promise<T>, unloaded: (error: unknown) => Error): Promise<T> {
    if (this.#room !== undefined && this.#waiting === 0) return use(this.#room);
    this.#waiting++;
    return this.load().then(
      (room) => {
        this.#waiting--;
        return use(room);
      },
      (error: unknown) => {
        this.#waiting--;
        throw unloaded(error);
      },
    );
  }

  /** Starts the load (once); resolves with the room. */
  load(): Promise<R> {
    this.#loading ??= this.#load().then(
      (room) => {
        if (this.#closed) room.close();
        this.#room = room;
        this.#loaded(room);
        return room;
      },
      (error: unknown) => {
        // The next use tries again.
        this.#loading = undefined;
        this.#failed();
        throw error;
      },
    );
    return this.#loading;
  }

  close(): void {
    this.#closed = true;
    this.#room?.close();
  }
}
