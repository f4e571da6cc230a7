/**
 * How a page's room loads Node's room on first use (`import()`), shared by
 * the `#request-room` and `#routing-room` stand-ins: one load at a time, a
 * failed load tried again at the next use, calls made while it loads run
 * in order once it is there, and a room that comes after `close()` is
 * closed at once. What peers send meanwhile is held, bounded, and handed
 * over first.
 */

/** Items held while the room loads: at most this many, and {@link MAX_HELD_BYTES}. */
const MAX_HELD = 1024;
/** Bytes held while the room loads (as each stand-in counts an item: what it keeps of it). */
const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** Node's room behind a page's stand-in, loaded the first time it is needed. */
export class LazyRoom<R extends { close(): unknown }, H> {
  readonly #load: () => Promise<R>;
  readonly #loaded: (room: R, held: H[]) => void;
  /** What came while the room loads, in order, and its bytes. */
  held: H[] = [];
  #heldBytes = 0;
  #room: R | undefined;
  #loading: Promise<R> | undefined;
  /** Calls waiting for the room: later ones wait behind them, so all run in order. */
  #waiting = 0;
  #closed = false;

  /**
   * `load` imports and makes the room; `loaded` hands it what was held
   * meanwhile (it runs before any waiting call). A failed load, or
   * `close()`, drops what was held.
   */
  constructor(load: () => Promise<R>, loaded: (room: R, held: H[]) => void) {
    this.#load = load;
    this.#loaded = loaded;
  }

  /**
   * Holds `item` (`bytes` of it kept) for the room and starts the load;
   * false, and nothing held, when `full` or past 1024 items or 8 MiB.
   */
  hold(item: H, bytes: number, full = false): boolean {
    if (full || this.held.length >= MAX_HELD || this.#heldBytes + bytes > MAX_HELD_BYTES) return false;
    this.held.push(item);
    this.#heldBytes += bytes;
    this.load().catch(() => {});
    return true;
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
        if (this.#closed) void room.close();
        this.#room = room;
        const held = this.held;
        this.#drop();
        this.#loaded(room, held);
        return room;
      },
      (error: unknown) => {
        // The next use tries again.
        this.#loading = undefined;
        this.#drop();
        throw error;
      },
    );
    return this.#loading;
  }

  /** Closes the room if it loaded (and one that loads later at once); what the room's `close` returns. */
  close(): ReturnType<R["close"]> | undefined {
    this.#closed = true;
    this.#drop();
    return this.#room?.close() as ReturnType<R["close"]> | undefined;
  }

  #drop(): void {
    this.held = [];
    this.#heldBytes = 0;
  }
}
