import { checkByteArray, isXppgError, type XppgError } from "@xppg/errors";
import { FRAME_RELEASED, frameTooLargeError } from "@xppg/framing";
import type { CloseInfo, Connection, FrameSink } from "../connection.js";
import { connectionClosedError, receiveBufferFullError, writeFailedError } from "../errors.js";
import { FrameInbox } from "./frame-inbox.js";
import { joinKnownParts, partsLength } from "./parts.js";
import { SendWaiters } from "./send-waiters.js";

/** What a {@link ConnectionCore} is, besides its link. */
export interface ConnectionCoreOptions {
  /** The transport's name (`"tcp"`), also `connection.transport`. */
  transport: string;
  remoteAddress: string;
  localAddress: string;
  /** The peer's host without port; see `Connection.remoteHost`. */
  remoteHost: string;
  outbound: boolean;
  /** Largest frame `send` accepts; larger ones reject with `XPPG_ERR_FRAME_TOO_LARGE`. */
  maxFrameSize: number;
  /** Bytes of received frames held for a paused sink before the link is asked to stop reading. */
  highWaterMark: number;
  /**
   * Most bytes of received frames held for a paused sink: past it the frames
   * held are dropped and the connection fails with
   * `XPPG_ERR_RECEIVE_BUFFER_FULL`, blamed on the peer. For a link that
   * cannot stop reading (no {@link ConnectionLink.pauseReading}: a browser's
   * WebSocket), where nothing else bounds them. Leave it out for a link that
   * stops reading: it holds at most the high-water mark and one read.
   */
  maxHeldBytes?: number | undefined;
  /**
   * Time from `close()` (or from a peer fault) until {@link ConnectionLink.destroy}
   * is called if the link has not reported it closed by then. Leave it out
   * only for a link whose close is bounded elsewhere (a connection over
   * another connection that has its own).
   */
  closeTimeoutMs?: number | undefined;
}

/**
 * The socket code of an adapter: what a {@link ConnectionCore} asks of it.
 * The core has already checked what it passes (open, size, type); the link
 * only moves bytes and reports what its socket does through the
 * {@link LinkController} it was made with.
 */
export interface ConnectionLink {
  /**
   * Sends one frame (at most `maxFrameSize` bytes). The caller may reuse
   * `frame` once this returns: copy it if it is kept. Return a resolved
   * promise while the send buffer is under the high-water mark, else
   * `controller.wait()` and call `controller.release()` when it drains.
   * `length` is the frame's size, read once by the language's getter
   * (`byteArrayLength` of `@xppg/errors`): write it, and copy with
   * `set` or `byteArrayView`, never by `frame.length` or `frame.buffer`,
   * which a caller's array may answer falsely.
   */
  send(frame: Uint8Array, length: number): Promise<void>;
  /**
   * Sends one frame made of `parts` (already measured: `length` bytes,
   * checked against `maxFrameSize`; each part a checked Uint8Array, its
   * size read with `byteArrayLength`, not `part.length`); the parts are handed over. Without it
   * the core joins them and calls {@link ConnectionLink.send}.
   */
  sendParts?(parts: readonly Uint8Array[], length: number): Promise<void>;
  /**
   * Lends free room of the link's send buffer ({@link Connection.lendRoom}):
   * a view of `min` to `max` bytes. Optional, with {@link ConnectionLink.sendLent}
   * and {@link ConnectionLink.endLoan}; the core does not forward it itself:
   * the connection class over it does, with `lendRoomThrough` and `sendLentThrough`.
   */
  lendRoom?(min: number, max: number): Uint8Array;
  /**
   * Sends the first `length` bytes of the current loan as one frame (within
   * `maxFrameSize`: `sendLentThrough` checked it) and ends the loan; null,
   * sending nothing, when no loan is open or `length` is past it (the loan ends too).
   */
  sendLent?(length: number): Promise<void> | null;
  /** Ends the current loan, if one is open, sending nothing: what was written in it is dropped. */
  endLoan?(): void;
  /** Stop reading from the network: received frames wait up to the high-water mark. */
  pauseReading?(): void;
  /** Read again after {@link ConnectionLink.pauseReading}. */
  resumeReading?(): void;
  /**
   * A clean local close: flush what was sent, then end (a FIN, a close
   * frame). Report `controller.closed()` once the socket is gone; the core
   * calls {@link ConnectionLink.destroy} if that takes longer than
   * `closeTimeoutMs`.
   */
  end(): void;
  /**
   * Tear down because of `error`: a local `close(error)` (`byPeer` false) or
   * a fault of the peer the link reported with `controller.fail`
   * (`byPeer` true). Drop what is queued; tell the peer if the wire can.
   */
  abort(error: XppgError, byPeer: boolean): void;
  /** The close took longer than `closeTimeoutMs`: drop the socket now, then report `controller.closed()`. */
  destroy(): void;
}

/** How a link reports to its {@link ConnectionCore}; given to the link when it is made. */
export interface LinkController {
  /**
   * False once this side wants no more input (after `close()`, a fault, or
   * the end): the link skips decoding what still arrives.
   */
  readonly receiving: boolean;
  /** Bytes of received frames waiting for the sink. */
  readonly queuedBytes: number;
  /** True while a sender waits in `controller.wait()`. */
  readonly waiting: boolean;
  /**
   * One received frame, whole. Dropped when not {@link LinkController.receiving}.
   * `FRAME_RELEASED` when the sink took it at once and released it (see
   * `FrameSink.frame`): the link may reuse its memory.
   */
  frame(frame: Uint8Array): typeof FRAME_RELEASED | undefined;
  /** A promise for a sender over the high-water mark; settles at `release()` or when the connection closes. */
  wait(): Promise<void>;
  /** Room freed up in the send buffer: lets waiting senders go on. */
  release(): void;
  /** The peer finished sending (a FIN): nothing more can be sent; the socket's close follows. */
  ended(): void;
  /** The socket failed with `error` (a reset): `closed` reports it unless an earlier error does. */
  error(error: XppgError): void;
  /** The peer broke the wire rules: the connection is dropped with `error`, blamed on the peer. */
  fail(error: XppgError): void;
  /**
   * The socket is gone: the connection is closed. `error` and `initiator`
   * are what the link knows (a WebSocket close code, a reset); an error or
   * a close this side already recorded wins. Later calls do nothing.
   */
  closed(error?: XppgError, initiator?: "local" | "remote"): void;
}

const noop = (): void => {};

/** The options a connection keeps as its own fields, unwritable. */
const READONLY_FIELDS = ["transport", "remoteAddress", "localAddress", "remoteHost", "outbound", "maxFrameSize"] as const;

/**
 * A {@link Connection} over an adapter's {@link ConnectionLink}: the close
 * and flow state machine every transport shares. It owns the checks of
 * `send`, the receive queue ({@link FrameInbox}), waiting senders
 * ({@link SendWaiters}), who closed and why, the close timer and
 * `Symbol.asyncDispose`; the link owns the socket.
 *
 * ```ts
 * const conn = new ConnectionCore(options, (controller) => new MyLink(socket, controller));
 * ```
 *
 * What it guarantees whatever the link does: `close()` is idempotent and
 * bounded by `closeTimeoutMs`; after a local close no frame is delivered and
 * the link is told to stop decoding; `closed` resolves once, with the first
 * error; the sink's `close` is called once, after the last frame (when the
 * peer closed, after every frame it sent, even to a paused sink, and before
 * `closed` resolves); sends
 * after close reject with `XPPG_ERR_CONNECTION_CLOSED`. The link may report
 * frames from within `open` (what its socket read ahead): a stop of reading
 * or a receive limit they trip reaches the link once `open` has returned it.
 */
export class ConnectionCore implements Connection {
  // Readonly for real, not only in their types (own data properties, not
  // writable, set in the constructor): an assignment, from JavaScript or past
  // the type, throws and changes nothing. One to `maxFrameSize` used to widen
  // what `send` accepts; one to `remoteHost`, the key of limits and bans.
  declare readonly transport: string;
  declare readonly remoteAddress: string;
  declare readonly localAddress: string;
  declare readonly remoteHost: string;
  declare readonly outbound: boolean;
  /** The largest frame `send` takes (its options' `maxFrameSize`), read by the send path as a field. */
  declare readonly maxFrameSize: number;
  readonly closed: Promise<CloseInfo>;
  readonly #closeTimeoutMs: number | undefined;
  readonly #inbox: FrameInbox;
  readonly #waiters = new SendWaiters();
  readonly #link: ConnectionLink;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Sends are refused (close called, the peer ended, or finished). */
  #sendClosed = false;
  /** This side wants no more input. */
  #discardInput = false;
  /** `close` was called: frames still held are dropped at the end, even when the peer ended first. */
  #closedHere = false;
  #initiator: "local" | "remote" | null = null;
  #error: XppgError | undefined;
  #finished = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The link is being made (`open` has not returned): a link may hand frames over from its constructor (what its
   * socket read ahead), and the limits they trip wait for the link, recorded in the two fields below.
   */
  #opening = true;
  /** The inbox asked to stop reading while the link was being made. */
  #stopAtOpen = false;
  /** The fault (`controller.fail`) reported while the link was being made. */
  #faultAtOpen: XppgError | undefined;

  constructor(options: ConnectionCoreOptions, open: (controller: LinkController) => ConnectionLink) {
    // Configurable: a wrapper (a Proxy) may still state other values; only an assignment is refused.
    for (const key of READONLY_FIELDS) Object.defineProperty(this, key, { value: options[key], enumerable: true, configurable: true });
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const maxHeldBytes = options.maxHeldBytes;
    this.#inbox = new FrameInbox({
      highWaterMark: options.highWaterMark,
      ...(maxHeldBytes === undefined
        ? {}
        : { maxHeldBytes, onOverflow: (held: number) => controller.fail(receiveBufferFullError(this.remoteAddress, maxHeldBytes, held)) }),
      onFlowChange: (stop) => {
        if (this.#finished) return;
        if (this.#opening) this.#stopAtOpen = stop;
        else if (stop) this.#link.pauseReading?.();
        else this.#link.resumeReading?.();
      },
    });
    const controller = this.#controller();
    const link = (this.#link = open(controller));
    this.#opening = false;
    if (this.#faultAtOpen !== undefined) {
      // Unless the link reported its socket gone meanwhile: then there is nothing left to tear down.
      if (!this.#finished) link.abort(this.#faultAtOpen, true);
      this.#armCloseTimer();
    } else if (this.#stopAtOpen && !this.#finished) {
      // As for a stop asked later: a link that reported its socket gone is not asked to pause.
      link.pauseReading?.();
    }
  }

  get isClosed(): boolean {
    return this.#sendClosed;
  }

  read(sink: FrameSink): void {
    this.#inbox.read(sink);
  }

  pause(): void {
    this.#inbox.pause();
  }

  resume(): void {
    this.#inbox.resume();
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#sendClosed) return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    let length: number;
    try {
      // Read once by the language's own getter and handed down: a frame's own `length` may lie, and the link
      // would write a header for bytes it does not copy (the memory around them would go to the peer).
      length = checkByteArray(frame, "send", "frame");
    } catch (err) {
      return Promise.reject(err);
    }
    if (length > this.maxFrameSize) return Promise.reject(frameTooLargeError(length, this.maxFrameSize, "sent"));
    try {
      return this.#link.send(frame, length);
    } catch (err) {
      return sendThrew(this, err);
    }
  }

  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    if (this.#sendClosed) return Promise.reject(connectionClosedError(this.remoteAddress, this.#error));
    let length: number;
    try {
      // One reading of the caller's list: measured and then sent, the same parts (an index getter or a Proxy
      // could answer otherwise the second time, and the header would not match the bytes).
      // Spread into a new plain array: `slice` would build the copy with the list's own constructor
      // (`Symbol.species`), which may hand back an object that answers other parts at each reading.
      if (Array.isArray(parts)) parts = [...parts];
      length = partsLength(parts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (length > this.maxFrameSize) return Promise.reject(frameTooLargeError(length, this.maxFrameSize, "sent"));
    const link = this.#link;
    try {
      return link.sendParts !== undefined ? link.sendParts(parts, length) : link.send(joinKnownParts(parts, length), length);
    } catch (err) {
      return sendThrew(this, err);
    }
  }

  close(error?: XppgError): Promise<void> {
    // Even after the peer ended (its FIN read, the socket not yet closed): this side wants no more frames.
    this.#closedHere = true;
    this.#discardInput = true;
    // Already ended: what the inbox still holds is dropped, even mid-burst.
    if (this.#finished) this.#inbox.discard();
    if (this.#initiator === null && !this.#finished) {
      this.#initiator = "local";
      this.#sendClosed = true;
      this.#discardInput = true;
      if (error === undefined) {
        this.#link.end();
      } else {
        this.#error = error;
        this.#link.abort(error, false);
      }
    }
    // Bounded even when the peer closed first and the link never reports the socket gone.
    this.#armCloseTimer();
    return this.closed.then(noop);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #armCloseTimer(): void {
    if (this.#finished || this.#closeTimeoutMs === undefined || this.#closeTimer !== undefined) return;
    // A peer that never reads, or ignores our FIN, must not hold the socket.
    this.#closeTimer = setTimeout(() => this.#link.destroy(), this.#closeTimeoutMs);
    (this.#closeTimer as { unref?: () => void }).unref?.();
  }

  #finish(linkError: XppgError | undefined, linkInitiator: "local" | "remote"): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sendClosed = true;
    this.#discardInput = true;
    clearTimeout(this.#closeTimer);
    const recorded = this.#initiator;
    const initiator = recorded ?? linkInitiator;
    // What this side recorded wins; after our own close the link's view (a reset, a close code) is noise.
    const error = this.#error ?? (recorded === "local" ? undefined : linkError);
    const info: CloseInfo = error === undefined ? { initiator } : { initiator, error };
    this.#waiters.settle(info, this.remoteAddress);
    // After a close by this side (even one that came after the peer ended) it wants no more frames: drop those
    // held. Else they are delivered, even to a paused sink; ended first, the inbox hands them and the sink's close
    // over before `closed`'s handlers run.
    this.#inbox.end(info, initiator === "local" || this.#closedHere);
    this.#resolveClosed(info);
  }

  /** The controller the link reports through (see {@link ConnectionCore.#CoreController}). */
  #controller(): LinkController {
    return new ConnectionCore.#CoreController(this, this.#inbox, this.#waiters);
  }

  /**
   * The controller's class, one for every connection: its getters lie on one
   * prototype, so V8 inlines a link's `controller.receiving` and
   * `controller.waiting` (read on every frame and every write). Getters of an
   * object literal are closures of each object's own, which V8 (Node 20)
   * reads through the load IC: about 20 ns a read. Its methods stay closures
   * of each controller's own, as before: a link may take one unbound
   * (`controller.frame`).
   */
  static readonly #CoreController = class CoreController implements LinkController {
    readonly #core: ConnectionCore;
    readonly #inbox: FrameInbox;
    readonly #waiters: SendWaiters;
    // Declared only: each is assigned once, in the constructor (no class field to initialize first).
    declare readonly frame: (frame: Uint8Array) => typeof FRAME_RELEASED | undefined;
    declare readonly wait: () => Promise<void>;
    declare readonly release: () => void;
    declare readonly ended: () => void;
    declare readonly error: (error: XppgError) => void;
    declare readonly fail: (error: XppgError) => void;
    declare readonly closed: (error?: XppgError, initiator?: "local" | "remote") => void;

    constructor(core: ConnectionCore, inbox: FrameInbox, waiters: SendWaiters) {
      this.#core = core;
      this.#inbox = inbox;
      this.#waiters = waiters;
      this.frame = (frame) => (!core.#discardInput && inbox.push(frame) ? FRAME_RELEASED : undefined);
      this.wait = () => waiters.wait();
      this.release = () => {
        if (!waiters.empty) waiters.release();
      };
      this.ended = () => {
        if (core.#finished) return;
        core.#initiator ??= "remote";
        core.#sendClosed = true;
      };
      this.error = (error) => {
        // The first error wins: after a local close(error) or a fault, the reset that follows is ours.
        if (core.#error !== undefined || core.#finished) return;
        core.#initiator ??= "remote";
        core.#error = error;
      };
      this.fail = (error) => {
        if (core.#finished || core.#discardInput) return;
        core.#initiator ??= "remote";
        core.#error ??= error;
        core.#sendClosed = true;
        core.#discardInput = true;
        // The link is told once it exists (and the close timer, which would destroy it, armed then).
        if (core.#opening) {
          core.#faultAtOpen = error;
          return;
        }
        core.#link.abort(error, true);
        core.#armCloseTimer();
      };
      this.closed = (error, initiator = "remote") => {
        core.#finish(error, initiator);
      };
    }

    get receiving(): boolean {
      return !this.#core.#discardInput;
    }

    get queuedBytes(): number {
      return this.#inbox.queuedBytes;
    }

    get waiting(): boolean {
      return !this.#waiters.empty;
    }
  };
}

/**
 * A link threw while writing (a frame may be written at once, so a failure
 * there, e.g. sealing, surfaces in the send): what it held is in an unknown
 * state, so the connection closes with a typed error, and the send rejects
 * with it, rather than a promise-returning `send` throwing. Shared with the
 * lending sends (`lent-send.ts`).
 */
export function sendThrew(core: ConnectionCore, err: unknown): Promise<void> {
  const error = isXppgError(err) ? err : writeFailedError(core.remoteAddress, err);
  void core.close(error);
  return Promise.reject(error);
}
