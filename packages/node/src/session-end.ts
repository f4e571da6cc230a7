import type { XppgError } from "@xppg/errors";
import type { CloseInfo } from "@xppg/transport";

/**
 * Longest a connection is still read once closed: one closed as a duplicate (waiting for the peer to close its end), and
 * one the peer closed (its last frames, see {@link SessionEnd}).
 */
export const DRAIN_TIMEOUT_MS = 5000;

/**
 * When a session reports its end after the peer closed the connection: once
 * what the peer sent before is read, its goodbye too (it may wait behind a
 * flood that the bundle reader holds for later turns), so that the end
 * carries the peer's own reason rather than a plain disconnect. That is once
 * the connection handed up its last frame and the reader holds nothing, or as
 * soon as the session stops reading (it closed), or after
 * `DRAIN_TIMEOUT_MS` at most (a room holds the reading). A close by this
 * side is reported at once: it reads nothing more.
 */
export class SessionEnd {
  readonly #end: (info: CloseInfo) => void;
  readonly #reading: () => boolean;
  readonly #holding: () => boolean;
  /** The peer's close, waiting for the rest to be read. */
  #info: CloseInfo | undefined;
  #inputEnded = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `reading`: the session still reads the peer. `holding`: its reader holds some of it for a later turn. */
  constructor(end: (info: CloseInfo) => void, reading: () => boolean, holding: () => boolean) {
    this.#end = end;
    this.#reading = reading;
    this.#holding = holding;
  }

  /** The connection closed: reports the end now, or once the rest is read. */
  closed(info: CloseInfo): void {
    if (info.initiator === "local" || !this.#reading()) return this.#end(info);
    this.#info = info;
    this.#timer = setTimeout(() => this.#report(), DRAIN_TIMEOUT_MS);
    // A wait that must not keep a process alive that has nothing else to do.
    this.#timer.unref?.();
    this.check();
  }

  /** The connection handed up its last frame (its sink's `close`). */
  inputEnded(): void {
    this.#inputEnded = true;
    this.check();
  }

  /** Reports a waiting end once nothing is left to read (the reader caught up, or the session closed). */
  check(): void {
    if (this.#info !== undefined && (!this.#reading() || (this.#inputEnded && !this.#holding()))) this.#report();
  }

  /**
   * Reports a waiting end now, with `dropped` as its reason unless the
   * connection had one: what the reader still holds, and what the transport
   * had not handed up yet, is not read (it cannot be, within this turn: the
   * reader holds it for later turns or behind a room's work). For a peer that
   * connected again: its new connection must not meet this one as live.
   */
  now(dropped: XppgError): void {
    const info = this.#info;
    if (info === undefined) return;
    this.#info = undefined;
    clearTimeout(this.#timer);
    this.#end({ initiator: info.initiator, error: info.error ?? dropped });
  }

  #report(): void {
    const info = this.#info;
    if (info === undefined) return;
    this.#info = undefined;
    clearTimeout(this.#timer);
    // Never from within the session's own close or its reading (as a close by this side, reported from `closed`).
    queueMicrotask(() => this.#end(info));
  }
}
