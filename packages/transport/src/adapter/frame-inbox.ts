import { FRAME_RELEASED } from "@xppg/framing";
import type { CloseInfo, FrameSink } from "../connection.js";

/** Options for {@link FrameInbox}. */
export interface FrameInboxOptions {
  /**
   * Bytes that may wait for a paused (or not yet set) sink before the inbox
   * asks its source to stop reading. Each frame held counts its payload and
   * {@link HELD_FRAME_OVERHEAD} bytes more, so empty frames fill it too.
   */
  highWaterMark: number;
  /**
   * Called with `true` when the source should stop reading from the network
   * (the queue reached the high-water mark) and with `false` when it may read
   * again. Never called twice in a row with the same value.
   */
  onFlowChange?: (stopReading: boolean) => void;
  /**
   * Most bytes the inbox holds (each frame's payload and
   * {@link HELD_FRAME_OVERHEAD} bytes more): past it, `onOverflow` is called once and
   * the frames held are dropped (the caller fails the connection). For a
   * source that cannot stop reading on `onFlowChange` (a browser's
   * WebSocket), where nothing else bounds what a paused inbox holds.
   * @default Infinity
   */
  maxHeldBytes?: number;
  /** Called once, with the bytes held (counted as for `maxHeldBytes`), when they pass `maxHeldBytes`. */
  onOverflow?: (heldBytes: number) => void;
}

/**
 * What each frame held for a paused sink counts toward the high-water mark
 * and `maxHeldBytes` besides its payload: about what holding it costs (its
 * view object and its slot in the queue). Without it a peer could make a
 * paused inbox hold any number of empty frames and never reach either.
 * Frames delivered at once are not counted at all.
 */
export const HELD_FRAME_OVERHEAD = 64;

/**
 * The receive half every transport shares: it holds frames until a sink is
 * set and not paused, delivers them in order, and calls the sink's `close`
 * exactly once, after the last frame. Once the connection has ended without
 * this side's close (the peer closed, the link broke), the frames held are
 * delivered even while paused, then `close`: they arrived, and the sink's
 * `close` must not wait for a `resume` that may never come (unless this
 * side closed meanwhile: then they are dropped). That burst is what the
 * paused inbox holds, bounded by the transport's own back-pressure: its
 * high-water mark and one read where the source stops reading on
 * `onFlowChange`. A source that cannot stop (no back-pressure: a browser's
 * WebSocket) is bounded only by `maxHeldBytes`, whose overflow drops the
 * frames held and calls `onOverflow` (the connection fails). A consumer that must bound its work bounds it itself (the
 * node reads a closing peer's frames within a budget).
 *
 * For transport authors. A transport pushes each received frame with
 * {@link FrameInbox.push}, forwards `read`/`pause`/`resume` to it, and calls
 * {@link FrameInbox.end} once when the connection is gone.
 */
export class FrameInbox {
  readonly highWaterMark: number;
  readonly #onFlowChange: ((stopReading: boolean) => void) | undefined;
  readonly #maxHeldBytes: number;
  readonly #onOverflow: ((heldBytes: number) => void) | undefined;
  #overflowed = false;
  #sink: FrameSink | null = null;
  #queue: Uint8Array[] = [];
  #head = 0;
  #queuedBytes = 0;
  #paused = false;
  #stopped = false;
  #delivering = false;
  #drainScheduled = false;
  #end: CloseInfo | null = null;
  #closeDelivered = false;

  constructor(options: FrameInboxOptions) {
    this.highWaterMark = options.highWaterMark;
    this.#onFlowChange = options.onFlowChange;
    this.#maxHeldBytes = options.maxHeldBytes ?? Infinity;
    this.#onOverflow = options.onOverflow;
  }

  /** Bytes held for the sink. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Frames held for the sink. */
  get queuedFrames(): number {
    return this.#queue.length - this.#head;
  }

  /** True after {@link FrameInbox.pause} until {@link FrameInbox.resume}. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True once {@link FrameInbox.end} was called. */
  get ended(): boolean {
    return this.#end !== null;
  }

  /** Sets (or replaces) the sink; frames held so far are delivered first, asynchronously. */
  read(sink: FrameSink): void {
    this.#sink = sink;
    this.#scheduleDrain();
  }

  /** Stops delivery. The source keeps reading until the high-water mark. */
  pause(): void {
    this.#paused = true;
  }

  /** Restarts delivery, asynchronously, with the frames held while paused. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#scheduleDrain();
  }

  /**
   * One received frame. Delivered at once when nothing is held and the sink
   * is ready. True when it was delivered at once and the sink released it
   * (returned `FRAME_RELEASED`: it keeps nothing of it); a frame held for later is never released.
   */
  push(frame: Uint8Array): boolean {
    if (this.#end !== null || this.#overflowed) return false;
    if (this.#sink !== null && !this.#paused && !this.#delivering && this.#head === this.#queue.length) {
      this.#delivering = true;
      try {
        return (this.#sink.frame(frame) as unknown) === FRAME_RELEASED;
      } finally {
        this.#delivering = false;
      }
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.byteLength;
    const held = this.#heldCharge();
    if (held > this.#maxHeldBytes) {
      // Past the hard cap: what is held goes at once (it is what the peer overran), and nothing more is taken.
      this.#overflowed = true;
      this.#drop();
      this.#onOverflow?.(held);
      return false;
    }
    if (!this.#stopped && held >= this.highWaterMark) {
      this.#stopped = true;
      this.#onFlowChange?.(true);
    }
    this.#scheduleDrain();
    return false;
  }

  /**
   * The connection is gone. The frames held are delivered, even while
   * paused, then the sink's `close` is called; with `discard`, they are
   * dropped and it is called at once (used when this side closed: it wants
   * no more frames).
   */
  end(info: CloseInfo, discard = false): void {
    if (this.#end !== null) return;
    this.#end = info;
    if (discard) this.#drop();
    this.#scheduleDrain();
  }

  /**
   * This side closed after the connection ended (e.g. from a frame callback
   * during the close burst): the frames still held are dropped; the sink's
   * `close` still comes, once.
   */
  discard(): void {
    if (this.#end === null) return;
    this.#drop();
    this.#scheduleDrain();
  }

  /** What the frames held count toward the high-water mark and the cap: their payloads, and {@link HELD_FRAME_OVERHEAD} each. */
  #heldCharge(): number {
    return this.#queuedBytes + (this.#queue.length - this.#head) * HELD_FRAME_OVERHEAD;
  }

  /** Forgets the frames held. */
  #drop(): void {
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    // Never deliver inside the caller's stack (`read`, `resume`, a `send` on
    // the other side): a sink may call back into the connection.
    queueMicrotask(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#delivering) return;
    const sink = this.#sink;
    if (sink === null) return;
    this.#delivering = true;
    try {
      // Once ended, a pause no longer holds frames back: no resume need come for the close to be called.
      while (this.#head < this.#queue.length && (!this.#paused || this.#end !== null) && this.#sink === sink) {
        const frame = this.#queue[this.#head]!;
        this.#queue[this.#head] = EMPTY;
        this.#head++;
        this.#queuedBytes -= frame.byteLength;
        sink.frame(frame);
      }
    } finally {
      this.#delivering = false;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (this.#stopped && this.#heldCharge() < this.highWaterMark) {
        this.#stopped = false;
        if (this.#end === null) this.#onFlowChange?.(false);
      }
    }
    if (this.#sink !== sink) {
      // The sink was replaced from inside a frame callback: continue with the new one.
      this.#scheduleDrain();
      return;
    }
    if (this.#end !== null && this.#head === this.#queue.length && !this.#closeDelivered) {
      this.#closeDelivered = true;
      sink.close?.(this.#end);
    }
  }
}

const EMPTY = new Uint8Array(0);
