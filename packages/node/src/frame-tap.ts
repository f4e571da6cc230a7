import type { CloseInfo, Connection } from "@xppg/transport";

/** How many frames a {@link FrameTap} holds while nobody takes them. */
const MAX_HELD_FRAMES = 64;

/**
 * Reads a connection once and hands its frames to a handler that can be
 * swapped: the relay's control messages first, then circuit data. Frames that
 * arrive while no handler is set are held (a few; then reading pauses).
 */
export class FrameTap {
  readonly connection: Connection;
  #handler: ((frame: Uint8Array) => void) | undefined;
  #onClose: ((info: CloseInfo) => void) | undefined;
  #held: Uint8Array[] = [];
  #closed: CloseInfo | undefined;

  constructor(connection: Connection) {
    this.connection = connection;
    connection.read({
      frame: (frame) => {
        if (this.#handler !== undefined) {
          this.#handler(frame);
          return;
        }
        this.#held.push(frame.slice());
        if (this.#held.length >= MAX_HELD_FRAMES) connection.pause();
      },
      close: (info) => {
        this.#closed = info;
        if (this.#handler !== undefined || this.#held.length === 0) this.#onClose?.(info);
      },
    });
  }

  /** Sets who gets the frames from now on; held frames go first. */
  take(handler: (frame: Uint8Array) => void, onClose: (info: CloseInfo) => void): void {
    this.#handler = handler;
    this.#onClose = onClose;
    const held = this.#held;
    this.#held = [];
    for (const frame of held) handler(frame);
    this.connection.resume();
    if (this.#closed !== undefined) onClose(this.#closed);
  }

  /** Stops handing frames on: later ones are held. */
  release(): void {
    this.#handler = undefined;
  }
}
