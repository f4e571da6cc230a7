import type { XppgError } from "@xppg/errors";

/** Why and by whom a connection was closed. */
export interface CloseInfo {
  /** `"local"` when this side called `close()`, `"remote"` when the other side ended it or the link broke. */
  readonly initiator: "local" | "remote";
  /** The error that ended the connection; absent for a clean close. */
  readonly error?: XppgError | undefined;
}

/**
 * Receives what a {@link Connection} delivers. `frame` is called once per
 * frame, in order, synchronously from the transport's read path: keep it
 * quick, or call `connection.pause()` while slow work (a disk write) runs.
 */
export interface FrameSink {
  /**
   * One whole frame. The bytes may be a view into a larger buffer that the
   * transport does not reuse; copy them only if you keep them for long.
   * Return `FRAME_RELEASED` (exported by this package) only if nothing of `data` is kept after
   * the call (no reference, no view): the transport may then reuse its
   * memory. Returning anything else is always safe.
   */
  frame(data: Uint8Array): void;
  /**
   * Called once, after the last frame, when the connection has closed. When
   * the peer closed (or the link broke) and this side had not, every frame
   * received before is delivered first, in order, even while the connection
   * is paused (what a paused connection buffers: bounded by the transport's
   * high-water mark where it has back-pressure), and this is called before
   * `closed` resolves; a close by this side drops what is still held.
   */
  close?(info: CloseInfo): void;
}

/**
 * A message-oriented duplex between two endpoints: frames in, frames out.
 *
 * The layers above (handshake, encryption, dispatch) use only this interface
 * and never learn which transport carries them. Frames arrive whole, in the
 * order they were sent, or the connection closes with an error.
 */
export interface Connection extends AsyncDisposable {
  /** Short name of the transport that made this connection (`"tcp"`, `"ws"`, `"memory"`). */
  readonly transport: string;
  /**
   * The largest frame `send` takes, when the connection says (the
   * `maxFrameSize` it was made with: its transport's, or a secure
   * connection's own): a layer that joins several messages into one frame
   * keeps the joined frame within it.
   */
  readonly maxFrameSize?: number;
  /** The remote end, as an address its transport can read (`"tcp://127.0.0.1:7337"`). */
  readonly remoteAddress: string;
  /** The local end, in the same form. */
  readonly localAddress: string;
  /**
   * The peer's host without the port: for TCP and WebSocket its IP address
   * as the socket reports it (`"192.0.2.7"`; IPv6 compressed, lowercase and
   * without brackets, `"2001:db8::7"`; an IPv4-mapped IPv6 address as plain
   * IPv4), for a dialled WebSocket in a browser the URL's host name, for the
   * memory transport the dialling transport's `host`. The same peer machine
   * gives the same string on every connection, so limits and bans can be
   * keyed by it.
   */
  readonly remoteHost: string;
  /** True when this side dialled, false when it accepted. */
  readonly outbound: boolean;
  /** True once the connection has closed, by either side. */
  readonly isClosed: boolean;
  /** Resolves (never rejects) once the connection has closed, with the reason. */
  readonly closed: Promise<CloseInfo>;

  /**
   * Starts delivering frames to `sink`. Frames that arrived before are
   * delivered first, in order. A connection has one sink; calling `read`
   * again replaces it.
   */
  read(sink: FrameSink): void;

  /**
   * Sends one frame. Resolves once the transport has taken it and its send
   * buffer is below the high-water mark, so awaiting each `send` is the
   * backpressure. Rejects with `XPPG_ERR_CONNECTION_CLOSED` if the connection
   * is closed, `XPPG_ERR_FRAME_TOO_LARGE` if the frame exceeds the
   * transport's `maxFrameSize`.
   *
   * The transport is done with `frame` when `send` returns (it copied the
   * bytes): the caller may reuse its buffer at once.
   */
  send(frame: Uint8Array): Promise<void>;

  /**
   * Sends one frame whose bytes are `parts` joined: the peer receives it
   * exactly as if their concatenation had been passed to `send` (same
   * promise, same errors, `maxFrameSize` applies to the total).
   *
   * Unlike `send`, the caller hands the buffers over: the transport may keep
   * them until they are written instead of copying them, so they must not
   * change afterwards. For layers that build a frame from buffers they just
   * made (a ciphertext and its tag), it saves joining them.
   */
  sendParts(parts: readonly Uint8Array[]): Promise<void>;

  /**
   * Lends free room of the connection's own send buffer, so that a frame is
   * written in place instead of copied there by `send`: a view of at least
   * `min` and at most `max` bytes, the
   * frame's first byte at index 0. Send what was written with
   * {@link Connection.sendLent}. Optional: a connection without it (or one
   * that answers `undefined`, as a closed one does) is sent to with `send`.
   * `min` and `max` are whole numbers with `0 <= min <= max` (else it throws
   * `XPPG_ERR_INVALID_ARGUMENT` and the connection stays open); a `min` over
   * `maxFrameSize` answers `undefined`.
   *
   * The loan ends at the connection's next `lendRoom`, `send`, `sendParts`,
   * `sendLent`, `endLoan` or `close`, whichever comes first: write nothing into
   * `bytes` after that (a later loan may lend the same memory again).
   */
  lendRoom?(min: number, max: number): Uint8Array | undefined;

  /**
   * Sends the first `length` bytes of the current loan ({@link Connection.lendRoom})
   * as one frame, exactly as `send` would send a copy of them (same promise,
   * same errors; over `maxFrameSize` it rejects and sends nothing), and ends
   * the loan. When no loan is open (none was taken, or another send ended it:
   * what was written in it is lost) or `length` is past the room lent, the
   * connection closes and the promise rejects with `XPPG_ERR_TRANSPORT_CONTRACT`
   * (the caller's mistake).
   */
  sendLent?(length: number): Promise<void>;

  /**
   * Ends the current loan ({@link Connection.lendRoom}) without sending: what
   * was written in it never leaves, and the room is the connection's again.
   * Optional, with `lendRoom`; nothing happens when no loan is open. A caller
   * that took a loan and will not send it (the frame could not be written)
   * calls it, so the room is not held until its next send.
   */
  endLoan?(): void;

  /**
   * Runs `fn` at the end of this tick's sends, before the tick's later
   * frames leave (its first frame may have gone already): true when `fn`
   * was taken (a tick is open: its first frame was sent and its flush is
   * scheduled), otherwise nothing is scheduled and the caller keeps its own
   * end of tick. What `fn` sends joins the tick's later frames, in order.
   * For layers that batch a tick's sends themselves: one callback ends the
   * tick for both. Optional: a connection without it takes nothing (a layer
   * then queues its own end of tick before its first send of the tick, so
   * that its later frames still reach the connection before its flush).
   *
   * `fn` runs once, in the order taken, even when the connection was closed
   * or reset in that tick (it may then find the connection closed), and it
   * may run from inside the transport's write callback (Node's). It must not
   * throw: an error it throws is rethrown on a microtask of its own (an
   * uncaught exception), after the other hooks and the flush have run.
   */
  atTickEnd?(fn: () => void): boolean | undefined;

  /**
   * Stops delivering frames (and, where the transport can, reading from the
   * network). Once the peer has closed, the frames it sent before are
   * delivered anyway (see {@link FrameSink.close}).
   */
  pause(): void;
  /** Resumes delivery after {@link Connection.pause}. */
  resume(): void;

  /**
   * Closes the connection. Frames already passed to `send` are flushed first
   * when `error` is absent. With `error`, the connection is torn down at once
   * and `closed` reports that error. Either way this side wants no more
   * frames: those received but not yet delivered to its sink may be dropped;
   * the sink's `close` is still called once. Idempotent.
   */
  close(error?: XppgError): Promise<void>;

  /** `close()`, for `await using conn = await transport.dial(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}
