// Flushes at the end of the current tick: after the caller's synchronous sends, before I/O.
import { allocateLarge, endOfTick as scheduleFlush, TICK_END_AT_CONNECTION } from "#next-turn";
import { TRANSPORT_ERROR_CODES, type Connection } from "@xppg/transport";
import { SendWaiters, contractBrokenError } from "@xppg/transport/adapter";
import { LENDS_ROOM, MISUSE_CHECKS } from "#host";
import { ERROR_TEXTS, isXppgError, now as nowMs, type XppgError } from "@xppg/errors";
// A bundle's lengths are written as a frame's (a big-endian u32): one copy of that code in a page's download.
import { encodeLeanBytesInto, encodeLeanBytesWithView, writeFrameHeader as writeU32, type Envelope, type EnvelopeCodec, type EnvelopeLink } from "@xppg/framing";
import { internalError } from "./errors.js";
import type { QueueBudget, QueueBudgetMember } from "./queue-budget.js";

/** Bytes of the length before each envelope in a bundle. */
export const BUNDLE_LENGTH_BYTES = 4;
const INITIAL_BUNDLE_BYTES = 64 * 1024;
/** A bundle buffer grown past this (for one large message) is not kept by the outbox after use: it goes back to the shared spare. */
const MAX_KEPT_BUNDLE_BYTES = 256 * 1024;
/** The largest spare kept for the process (the default frame limit is 1 MiB). */
const MAX_SPARE_BYTES = 4 * 1024 * 1024;
/**
 * One large bundle buffer for the whole process, lent to whichever outbox
 * needs more than `MAX_KEPT_BUNDLE_BYTES` and given back once its bundle is
 * sent (`send` copies it): a stream of large messages (file blocks)
 * reuses it instead of allocating and zeroing a new buffer for each.
 */
let spare: Uint8Array | undefined;

function takeLarge(size: number): Uint8Array {
  if (spare !== undefined && spare.length >= size) {
    const taken = spare;
    spare = undefined;
    return taken;
  }
  // Every byte is written before it is sent: no need to zero it.
  return allocateLarge(size);
}

function giveBack(buffer: Uint8Array): void {
  if (buffer.length <= MAX_SPARE_BYTES && (spare === undefined || spare.length < buffer.length)) spare = buffer;
}
/** Write-stall checks per `writeStallTimeoutMs`; this many in a row must see no progress to drop a peer. */
const STALL_TICKS = 5;
/** Bytes queued or in flight per peer before `send` waits. */
export const SESSION_HIGH_WATER_MARK = 1024 * 1024;
/** What a send answers when its envelope was queued and the sender need not wait: the one resolved promise, so a caller can tell it from a rejection without a callback. */
export const QUEUED: Promise<void> = Promise.resolve();

/** How much one peer may hold of this node's memory and time. */
export interface OutboxLimits {
  /** Bytes queued or in flight past which the peer is dropped as not reading. */
  maxQueuedBytes: number;
  /** With data queued, no write progress for this long drops the peer as not reading; 0 or `Infinity` turns it off. */
  writeStallTimeoutMs: number;
  /** The node-wide count of queued bytes, when there is one. */
  budget?: QueueBudget | undefined;
}

/** What an outbox needs from the session that owns it. */
export interface OutboxOwner {
  readonly connection: Connection;
  readonly codec: EnvelopeCodec;
  /** The peer does not read what it is sent: drop it (`reason` says how we know). Must close the outbox. */
  slow(reason: string): void;
  /** A local failure (not the peer's doing), typed. */
  report(error: XppgError): void;
  /** Tears the connection down with `error` (a `close` that throws is reported, not thrown); Node's only. */
  closeConnection?(error: XppgError): void;
  /** The error a send on the closed session rejects with. */
  closedError(): XppgError;
}

/**
 * The outgoing side of one session. Envelopes queued within one tick leave
 * as one frame, a bundle: [u32 length][envelope] repeated. They are encoded
 * straight into one buffer (the outbox's own, reused, or room lent by the
 * connection, `lendRoom`, when it lends): no allocation and no extra copy per
 * message, and one send (one record when encrypted) per tick instead of one
 * per message. The first envelope of a tick, when nothing is in flight,
 * leaves at once as a bundle of its own, so that a round trip waits for no
 * turn of the event loop.
 *
 * It also watches the peer's reading (issue 16, items 1 and 7): more than
 * `maxQueuedBytes` waiting, no write progress for `writeStallTimeoutMs`, or
 * the largest queue when the node-wide budget is full, and the owner is told
 * to drop the peer as slow.
 *
 * Only the outbox sends on its session's connection: a `send` from
 * elsewhere while a loan is open would end the loan, and the bundle written
 * in it could not go (the connection closes with `XPPG_ERR_TRANSPORT_CONTRACT`).
 */
export class Outbox implements QueueBudgetMember {
  /** Set on every envelope queued; the heartbeat clears it. */
  sentSinceTick = true;
  readonly #owner: OutboxOwner;
  readonly #limits: OutboxLimits;
  /** The owner's codec, and the largest frame: the largest envelope plus its length (read on every send). */
  readonly #codec: EnvelopeCodec;
  readonly #frameLimit: number;
  #out: Uint8Array = new Uint8Array(INITIAL_BUNDLE_BYTES);
  /** The outbox's own buffer, back in use once a large bundle has gone. */
  #small = this.#out;
  #outLength = 0;
  #flushScheduled = false;
  /** Bytes handed to the connection whose `send` has not resolved yet. */
  #inFlight = 0;
  /** The last promise of the connection's `send` seen resolved: a bundle answered with it again was taken at once. */
  #taken: Promise<void> | null = null;
  readonly #waiters = new SendWaiters();
  #closed = false;
  /** When a send last resolved, or when the queue last started from empty (`now()` of @xppg/errors). */
  #progressAt = 0;
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stall checks in a row that found no progress, and the progress time the last check saw. */
  #stallTicks = 0;
  #tickProgressAt = -1;
  /** Since when senders wait (over the high-water mark), or -1. */
  #congestedSince = -1;

  constructor(owner: OutboxOwner, limits: OutboxLimits) {
    this.#owner = owner;
    this.#limits = limits;
    this.#codec = owner.codec;
    // A bundle stays within what its connection takes too (a transport made with a `maxFrameSize` below the node's limit).
    this.#frameLimit = Math.min(owner.codec.maxSize + BUNDLE_LENGTH_BYTES, owner.connection.maxFrameSize ?? Infinity);
    if (LENDS_ROOM && lends(owner.connection)) this.#loan = NO_LOAN;
    limits.budget?.join(this);
  }

  /** Bytes queued and in flight. */
  get queuedBytes(): number {
    return this.#inFlight + this.#outLength;
  }

  /** Since when (`now()` of @xppg/errors) senders have been waiting for this peer, or -1 when they need not wait. */
  get congestedSince(): number {
    return this.#congestedSince;
  }

  /** Queues one pre-encoded envelope. */
  sendBytes(bytes: Uint8Array): Promise<void> {
    const room = this.#reserve(bytes.length);
    this.#out.set(bytes, room);
    return this.#queued();
  }

  /** Queues an envelope, encoded straight into the outgoing bundle (without the two ids when `link` is given). */
  encode(envelope: Envelope, link: EnvelopeLink | undefined): Promise<void> {
    const { kind, source, destination, id, hopLimit, payload, signature } = envelope;
    return this.encodeFields(kind, source, destination, id, hopLimit, payload, signature, link);
  }

  /** {@link Outbox.encode} from the envelope's fields (a small message builds no envelope object). */
  encodeFields(
    kind: string,
    source: string,
    destination: string | null,
    id: number,
    hopLimit: number,
    payload: unknown,
    signature: Uint8Array | undefined,
    link: EnvelopeLink | undefined,
  ): Promise<void> {
    const codec = this.#codec;
    // Lending: the bundle is written into a loan of the connection's (taken in #reserveRoom).
    if (LENDS_ROOM && this.#loan === NO_LOAN) this.#reserveRoom(0);
    let written = LENDS_ROOM
      ? encodeInLoan(this, codec, this.#out, this.#outLength + BUNDLE_LENGTH_BYTES, kind, source, destination, id, hopLimit, payload, signature, link)
      : codec.encodeFieldsInto(this.#out, this.#outLength + BUNDLE_LENGTH_BYTES, kind, source, destination, id, hopLimit, payload, signature, link);
    if (written < 0) {
      this.#reserveRoom(-written);
      written = codec.encodeFieldsInto(this.#out, this.#outLength + BUNDLE_LENGTH_BYTES, kind, source, destination, id, hopLimit, payload, signature, link);
    } else if (this.#outLength > 0 && this.#outLength + BUNDLE_LENGTH_BYTES + written > this.#frameLimit) {
      // It fit the buffer but would make the bundle too big for one frame:
      // send what was queued, then move this envelope to the front.
      const at = this.#outLength + BUNDLE_LENGTH_BYTES;
      this.flush();
      this.#out.copyWithin(BUNDLE_LENGTH_BYTES, at, at + written);
    }
    writeU32(this.#out, this.#outLength, written);
    this.#outLength += BUNDLE_LENGTH_BYTES + written;
    return this.#queued();
  }

  /**
   * Queues a message of raw bytes from this node to the peer on a link that
   * settled the compact direct layout (`lean/1`), written in place into the
   * loan open: nearly every message a plaintext node sends (issue 15; framing's
   * `encodeLeanBytesInto` makes the codec's checks, in its order, but the
   * id's: the layout carries none, so the caller checks its id before and
   * none is passed, as a number boxed for the call on every send). Undefined,
   * with nothing queued, when it cannot go this way (no loan open, a kind too
   * long for the layout, no room left in the loan or the bundle): then
   * {@link Outbox.encodeFields} queues it. Node's only (a page's connections lend no room).
   */
  sendLean(kind: string, payload: Uint8Array): Promise<void> | undefined {
    if (LENDS_ROOM && this.#loan === LENT) {
      const out = this.#out;
      const at = this.#outLength;
      // The loan's second message on (a tick's first message often goes alone): stores of several bytes through a DataView over the loan, made once per loan.
      let view: DataView | undefined;
      if (at > 0) view = this.#viewOf === out ? this.#view : this.#viewOver(out);
      let written: number;
      try {
        written =
          view === undefined
            ? encodeLeanBytesInto(out, at + BUNDLE_LENGTH_BYTES, kind, 0, payload, this.#codec.maxSize)
            : encodeLeanBytesWithView(out, view, at + BUNDLE_LENGTH_BYTES, kind, 0, payload, this.#codec.maxSize);
      } catch (error) {
        // As in encodeInLoan: a loan with nothing in it ends now.
        if (at === 0) this.flush();
        throw error;
      }
      const end = at + BUNDLE_LENGTH_BYTES + written;
      if (written > 0 && (at === 0 || end <= this.#frameLimit)) {
        if (view === undefined) writeU32(out, at, written);
        else view.setUint32(at, written);
        this.#outLength = end;
        // What #queued answers in the common case (its checks in its order), without the call: a flush is scheduled, the outbox is open, and the queue is under both bounds.
        const queued = this.#inFlight + end;
        // `=== true`: a comparison, where a bare field's truthiness is tested against every falsy kind of value.
        if (this.#flushScheduled === true && !this.#closed && queued <= SESSION_HIGH_WATER_MARK && queued <= this.#limits.maxQueuedBytes) {
          this.sentSinceTick = true;
          return QUEUED;
        }
        return this.#queued();
      }
    }
    return undefined;
  }

  /** A DataView over `out` (the loan open), kept with it: `.buffer` is read once per loan, not per message (in Node 20 each read is a call into C++). */
  #viewOver(out: Uint8Array): DataView {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    this.#viewOf = out;
    this.#view = view;
    return view;
  }

  /** Hands the bundle to the connection: `send` copies it before it returns (the buffer is reused); `sendLent` sends it where it was written. */
  flush(): void {
    void this.#sendBundle();
  }

  /** {@link Outbox.flush}; returns the connection's answer for the bundle (already handled here), if one went. */
  #sendBundle(): Promise<void> | undefined {
    const length = this.#outLength;
    if (length === 0 || this.#closed) {
      // A loan with nothing in it (an encode threw) is not kept past the tick: the connection's loan ends too, the next bundle borrows anew.
      if (LENDS_ROOM && this.#loan === LENT) {
        this.#loan = NO_LOAN;
        this.#out = this.#small;
        this.#owner.connection.endLoan?.();
      }
      return;
    }
    this.#outLength = 0;
    let sent: Promise<void>;
    try {
      if (LENDS_ROOM && this.#loan === LENT) {
        // Written in place: the loan ends with this send.
        this.#loan = NO_LOAN;
        this.#out = this.#small;
        sent = sendLentNaming(this.#owner.connection, length);
      } else sent = this.#owner.connection.send(this.#out.subarray(0, length));
    } catch (error) {
      // A connection whose send (or sendLent) throws (a broken contract) lost the bundle.
      this.#lost(error);
      return;
    }
    if (sent === this.#taken) {
      // Answered with the connection's promise seen resolved before: taken at once, nothing is in flight
      // (no promise, closures and microtask per bundle: a ping-pong paid them on every message).
      if (this.#inFlight > 0) this.#progressAt = nowMs();
      if (!this.#waiters.empty && this.#inFlight <= SESSION_HIGH_WATER_MARK) {
        this.#congestedSince = -1;
        this.#waiters.release();
      }
      return sent;
    }
    if (this.#inFlight === 0) {
      // The queue starts from empty: the stall clock starts now.
      this.#progressAt = nowMs();
      this.#armStallTimer();
    }
    this.#inFlight += length;
    sent.then(
      () => {
        this.#inFlight -= length;
        this.#taken = sent;
        if (this.#closed) return;
        this.#limits.budget?.remove(length);
        this.#progressAt = nowMs();
        if (this.#inFlight + this.#outLength <= SESSION_HIGH_WATER_MARK) {
          this.#congestedSince = -1;
          if (!this.#waiters.empty) this.#waiters.release();
        }
      },
      (error: unknown) => {
        this.#inFlight -= length;
        if (this.#closed) return;
        this.#limits.budget?.remove(length);
        // A closed connection is reported by `closed` (once, as the session ends).
        if (this.#owner.connection.isClosed || isXppgError(error, TRANSPORT_ERROR_CODES.CONNECTION_CLOSED)) this.#waiters.fail(error as Error);
        // Refused by a connection that stays open (a frame over its transport's `maxFrameSize`): the bundle is lost all the same.
        else this.#lost(error);
      },
    );
    // Last: passing the node-wide bound may drop this very peer (closing this outbox).
    this.#limits.budget?.add(length);
    return sent;
  }

  /**
   * A bundle is lost (the connection's `send` threw, or refused it and
   * stayed open): the session cannot go on, since the peer would read on
   * past a gap. Its messages' sends resolved when they were queued, so the
   * loss must show: the outbox closes (waiting senders and every later send
   * reject) and the connection closes with a typed error, which the
   * session's end reports once and `peer:left` carries. An error that is not
   * typed (a throw, or an untyped rejection) is the transport's broken
   * contract, made an `XPPG_ERR_TRANSPORT_CONTRACT` with the error as its
   * `cause` (in a page, `XPPG_ERR_INTERNAL` as before); a connection that closed already reported its own end, so that
   * one is reported here.
   */
  #lost(error: unknown): void {
    // A page keeps the code it had (Node's error for a broken contract costs it bytes).
    const typed = isXppgError(error) ? error : MISUSE_CHECKS ? contractBrokenError(this.#owner.connection, "send", error) : internalError(ERROR_TEXTS ? "sending to a peer" : [], error);
    this.close(typed);
    const connection = this.#owner.connection;
    if (connection.isClosed) {
      if (typed !== error) this.#owner.report(typed);
    } else if (MISUSE_CHECKS) this.#owner.closeConnection!(typed);
    else void connection.close(typed);
  }

  /** The session ended: waiting senders fail with `error`, the queue no longer counts. Idempotent. */
  close(error: XppgError): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#congestedSince = -1;
    this.#outLength = 0;
    if (LENDS_ROOM && this.#loan !== undefined) {
      // A loan still open (nothing was sent in it) ends with the outbox: the connection's room is not held past the session.
      if (this.#loan === LENT) this.#owner.connection.endLoan?.();
      this.#loan = undefined;
      this.#out = this.#small;
      this.#viewOf = this.#view = undefined;
    }
    this.#limits.budget?.leave(this, this.#inFlight);
    this.#waiters.fail(error);
  }

  /** Called by the node-wide budget. */
  dropAsSlow(reason: string): void {
    this.#owner.slow(reason);
  }

  /** Makes room for an envelope of `size` bytes; returns where it goes (after its length). */
  #reserve(size: number): number {
    this.#reserveRoom(size);
    writeU32(this.#out, this.#outLength, size);
    const at = this.#outLength + BUNDLE_LENGTH_BYTES;
    this.#outLength = at + size;
    return at;
  }

  #reserveRoom(size: number): void {
    const needed = BUNDLE_LENGTH_BYTES + size;
    // A bundle is one frame: keep it within the frame limit.
    if (this.#outLength > 0 && this.#outLength + needed > this.#frameLimit) this.flush();
    if (this.#outLength + needed > this.#out.length || (LENDS_ROOM && this.#loan === NO_LOAN)) {
      if (this.#outLength > 0) this.flush();
      if (LENDS_ROOM && this.#loan !== undefined) {
        // A loan of the connection's send buffer for the next bundle: at least what is needed, at most a frame.
        const room = borrow(this.#owner.connection, needed, this.#frameLimit, this.#closed);
        if (room instanceof Uint8Array) {
          this.#out = room;
          this.#loan = LENT;
          return;
        }
        // Declined (a closed connection): copies from then on. Or lendRoom threw: the bundle cannot go, as when send throws.
        this.#loan = undefined;
        // The outbox's own buffer from now on: a loan held before (an empty one, too small) is the connection's memory, never given back as a spare.
        this.#out = this.#small;
        if (room !== undefined) return this.#lost(room);
      }
      if (needed > this.#out.length) {
        const size = Math.max(needed, this.#out.length * 2);
        if (this.#out !== this.#small) giveBack(this.#out);
        this.#out = size > MAX_KEPT_BUNDLE_BYTES ? takeLarge(size) : new Uint8Array(size);
        if (size <= MAX_KEPT_BUNDLE_BYTES) this.#small = this.#out;
      }
    }
  }

  #queued(): Promise<void> {
    this.sentSinceTick = true;
    let queued = this.#inFlight + this.#outLength;
    if (queued > this.#limits.maxQueuedBytes) {
      // The peer does not read: more would only grow memory. Drop it (the owner closes this outbox).
      this.#owner.slow(`${queued} bytes are waiting for it, over limits.maxQueuedBytesPerPeer (${this.#limits.maxQueuedBytes})`);
      return Promise.reject(this.#owner.closedError());
    }
    if (this.#closed) return Promise.reject(this.#owner.closedError());
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The first message of a tick, with nothing in flight, leaves at once
      // (a reply goes out before the read that caused it unwinds); the rest
      // of the tick's messages follow as one bundle. A connection without an end of tick of its own (always in a page; a
      // WebSocket, a routed one) queues its flush when the first bundle
      // reaches it: ours is queued first, so that the tick's later messages
      // reach it before that flush (one record for them). One with its own
      // takes ours once the first bundle opened its tick (one callback for both).
      const atConnection = TICK_END_AT_CONNECTION && this.#inFlight === 0 && this.#owner.connection.atTickEnd !== undefined;
      if (!atConnection) scheduleFlush(this.#flushNow);
      if (this.#inFlight === 0) {
        let sent: Promise<void> | undefined;
        if (atConnection) {
          try {
            sent = this.#sendBundle();
          } finally {
            // Even when the send threw: the tick still gets its end (and #flushScheduled its reset).
            scheduleFlush(this.#flushNow, this.#owner);
          }
        } else sent = this.#sendBundle();
        // The flush may pass the node-wide bound and drop this very peer:
        // a waiter made now on a closed outbox would never settle.
        if (this.#closed) return Promise.reject(this.#owner.closedError());
        // The write failed at once and closed the connection (a record that
        // could not be sealed): the message is lost, so the send rejects with
        // the connection's typed error (`closed` reports it, once). One taken at once is not looked at.
        if (sent !== undefined && sent !== this.#taken && this.#owner.connection.isClosed) return sent;
        queued = this.#inFlight + this.#outLength;
      }
    }
    if (queued <= SESSION_HIGH_WATER_MARK) return QUEUED;
    if (this.#congestedSince < 0) this.#congestedSince = nowMs();
    return this.#waiters.wait();
  }

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.flush();
    // A large buffer is not kept past its use: it goes back to the spare (the connection copied the bundle). Never a
    // loan: a flush ends any loan (#sendBundle), so #out is the outbox's own here.
    if (this.#out !== this.#small && this.#outLength === 0) {
      giveBack(this.#out);
      this.#out = this.#small;
    }
    // Nor a view over a loan that ended: it would hold the connection's send buffer for as long as the peer is idle.
    if (LENDS_ROOM) this.#viewOf = this.#view = undefined;
  };

  /**
   * One timer per session while data is in flight, not one per send: it
   * checks {@link STALL_TICKS} times per `writeStallTimeoutMs`. A peer is
   * slow when that long has passed with no progress *and* that many checks
   * in a row saw none: a pause of this node's own event loop (a long
   * synchronous task, a suspended process) passes the time in one go, but
   * only one check, and the writes it held up complete right after.
   */
  #armStallTimer(): void {
    const ms = this.#limits.writeStallTimeoutMs;
    if (this.#stallTimer !== undefined || !(ms > 0 && Number.isFinite(ms))) return;
    this.#stallTicks = 0;
    this.#tickProgressAt = this.#progressAt;
    this.#stallTimer = setTimeout(this.#checkStall, ms / STALL_TICKS);
    this.#stallTimer.unref?.();
  }

  readonly #checkStall = (): void => {
    this.#stallTimer = undefined;
    if (this.#closed || this.#inFlight === 0) return;
    const ms = this.#limits.writeStallTimeoutMs;
    if (this.#progressAt !== this.#tickProgressAt) {
      this.#tickProgressAt = this.#progressAt;
      this.#stallTicks = 0;
    } else {
      this.#stallTicks++;
    }
    const idle = nowMs() - this.#progressAt;
    if (idle >= ms && this.#stallTicks >= STALL_TICKS) {
      this.#owner.slow(`${this.#inFlight} bytes have waited for it with no progress for ${Math.round(idle)} ms, over limits.writeStallTimeoutMs (${ms})`);
      return;
    }
    this.#stallTimer = setTimeout(this.#checkStall, ms / STALL_TICKS);
    this.#stallTimer.unref?.();
  };

  /** The loan {@link Outbox.sendLean} last wrote through a DataView, and that view: used only while that loan is `#out` (a later loan gets its own), dropped at the tick's end and as the outbox closes (Node's only). */
  #viewOf: Uint8Array | undefined;
  #view: DataView | undefined;
  /**
   * The connection lends room of its own send buffer (`lendRoom`): bundles
   * are written there, in place, and leave with `sendLent` (no copy of each
   * bundle into the connection's buffer). {@link LENT} while `#out` is a loan
   * (good until this outbox's next send on the connection), {@link NO_LOAN}
   * between loans; undefined for a connection without it (a secure channel, a
   * WebSocket), once it declined, and always in a page (`LENDS_ROOM` of
   * `#host`). Declared last and without a value: a page's download pays least for it.
   */
  #loan: typeof NO_LOAN | typeof LENT | undefined;
}

/** {@link Outbox}'s `#loan`: lending, no loan open. */
const NO_LOAN = 0;
/** {@link Outbox}'s `#loan`: `#out` is a loan of the connection's. */
const LENT = 1;

/**
 * {@link Outbox.encodeFields}'s encode on a connection that may lend (Node's
 * only: a page calls the codec straight): when the tick's first envelope
 * (`at` right after the first length) cannot be encoded, no flush is
 * scheduled, so the loan just taken for it ends now (the flush of an empty
 * bundle), not at some later send: the connection's room is not held.
 */
function encodeInLoan(
  outbox: Outbox,
  codec: EnvelopeCodec,
  out: Uint8Array,
  at: number,
  kind: string,
  source: string,
  destination: string | null,
  id: number,
  hopLimit: number,
  payload: unknown,
  signature: Uint8Array | undefined,
  link: EnvelopeLink | undefined,
): number {
  try {
    return codec.encodeFieldsInto(out, at, kind, source, destination, id, hopLimit, payload, signature, link);
  } catch (error) {
    if (at === BUNDLE_LENGTH_BYTES) outbox.flush();
    throw error;
  }
}

/**
 * The connection's `sendLent`; one that throws something not typed (a
 * broken contract) throws the `XPPG_ERR_TRANSPORT_CONTRACT` that names
 * `sendLent` (Outbox's `#lost` would name `send`).
 */
function sendLentNaming(connection: Connection, length: number): Promise<void> {
  try {
    return connection.sendLent!(length);
  } catch (error) {
    throw isXppgError(error) ? error : contractBrokenError(connection, "sendLent", error);
  }
}

/** The connection lends room of its send buffer (`lendRoom` with `sendLent`). */
function lends(connection: Connection): boolean {
  return typeof connection.lendRoom === "function" && typeof connection.sendLent === "function";
}

/**
 * A loan of the connection's send buffer: at least `size` bytes, at most a
 * frame (`frameLimit`, or `size` when more), cut to that when it lent more. Undefined when it declines (a closed one: copies
 * from then on), or the typed error for a `lendRoom` that threw (a broken
 * contract: the bundle cannot go, as when `send` throws).
 */
function borrow(connection: Connection, size: number, frameLimit: number, closed: boolean): Uint8Array | XppgError | undefined {
  if (closed) return undefined;
  try {
    // max at least min, as lendRoom asks (a frame too large for the connection: it answers undefined, the bundle is sent as a copy and refused).
    const max = Math.max(size, frameLimit);
    const room = connection.lendRoom!(size, max);
    // No more than asked, whatever the connection lent: a bundle written past a frame would be moved within a buffer it no longer holds.
    return room !== undefined && room.length > max ? room.subarray(0, max) : room;
  } catch (error) {
    return isXppgError(error) ? error : contractBrokenError(connection, "lendRoom", error);
  }
}
