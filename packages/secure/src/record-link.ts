import { byteArrayLength, byteArrayView, isXppgError, type XppgError } from "@xppg/errors";
import { FRAME_HEADER_SIZE, FRAME_RELEASED, FrameDecoder, frameTooLargeError, writeFrameHeader } from "@xppg/framing";
import { TRANSPORT_ERROR_CODES, type CloseInfo, type Connection } from "@xppg/transport";
import { TickHooks, connectionClosedError, sendJoined, writeFailedError, type LinkController } from "@xppg/transport/adapter";
import { closeBelow } from "./close-below.js";
import { NOISE_MAX_MESSAGE_SIZE, NOISE_TAG_SIZE, RECORD_FILL_PLAINTEXT } from "./constants.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { deferred, type Deferred } from "./deferred.js";
import { endCountRecord, readEnd } from "./end-count.js";
import { decryptFailedError, frameHandlerError, linkCloseVerdict, sendEndedError } from "./errors.js";
import type { CipherState } from "./noise/cipher-state.js";
import type { HandshakeResult } from "./noise/handshake-state.js";
import type { RecordLayer, SecureChannelOptions } from "./secure-channel.js";

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);
const INITIAL_PLAIN_SIZE = 4096;
/**
 * Bytes sealed in one tick before `send` makes the caller wait for the next
 * one. Without it a sender that never waits encrypts megabytes in one
 * synchronous burst while the socket sits idle, and the two sides take
 * turns instead of working at once.
 */
const TICK_BUDGET = 4 * RECORD_FILL_PLAINTEXT;
/**
 * Sealed bytes that the connection below has not taken yet past which
 * `send` waits, whatever the high-water mark: two ticks' worth. The
 * connection below buffers up to its own high-water mark before it stops
 * taking records, so a second megabyte here only doubled what a fast sender
 * held in flight (issue 15: peak RSS).
 */
const SEND_AHEAD = 2 * TICK_BUDGET;
/**
 * Records this large or larger are sealed straight into room the
 * connection below lends of its own send buffer (`lendRoom`, as TCP's
 * does), when it lends: the record is never copied there by `send`. A
 * smaller one (a ping-pong's) is sealed in the record buffer and copied as
 * before: the loan's view and its two calls would cost more than the copy
 * they save.
 */
const LEND_FROM_BYTES = 16 * 1024;


/**
 * The record layer over a finished handshake.
 *
 * Send: frames are written, each with its 4-byte length prefix, into one
 * plaintext buffer; a full buffer ({@link RECORD_FILL_PLAINTEXT} bytes, or
 * fewer so that a record fits the connection below's `maxFrameSize`) is
 * encrypted and sent at once as one frame of the connection below. The
 * first frame of a tick is sealed at once too, and the rest of the tick's
 * frames on the provider's `defer` (one record for many small frames). Frames may span records: the plaintext is one stream.
 * The buffer is reused: with an in-place provider each record is sealed
 * where it lies (a large one straight into the connection below's send
 * buffer, when it lends room of it) and nothing is allocated per record;
 * otherwise the ciphertext is the only new allocation.
 *
 * Receive: each record is decrypted with the next implicit nonce (so any
 * tampered, replayed, reordered or dropped record fails), and the plaintext
 * fed to a {@link FrameDecoder}. An empty record is the authenticated end
 * of stream, sent by a clean `close()`: a clean close of the link without
 * it means the tail was cut off. After this side closed, records are no
 * longer decrypted.
 */
export class RecordLink implements RecordLayer {
  readonly #conn: Connection;
  readonly #provider: CryptoProvider;
  readonly #session: HandshakeResult;
  readonly #controller: LinkController;
  readonly #decoder: FrameDecoder;
  readonly #onFrame: (frame: Uint8Array) => typeof FRAME_RELEASED | undefined;
  readonly #remoteAddress: string;
  /** The provider seals and opens a record in one piece (`CryptoProvider.wholeRecords`). */
  readonly #whole: boolean;
  /** The connection below lends room of its send buffer (`lendRoom` with `sendLent`): large records are sealed into it (see {@link LEND_FROM_BYTES}). False after a loan of the wrong size (see #sealLent). */
  #lends: boolean;

  #plain: Uint8Array | null = null;
  #plainLength = 0;
  /**
   * Views of #plain's first `#viewLength` bytes, of those plus the tag's
   * room after them, and of that room, kept while #plain is: the next
   * record of the same length (every record of a ping-pong) is sealed with
   * no view to make.
   */
  #viewLength = -1;
  #bodyView: Uint8Array = EMPTY;
  #recordView: Uint8Array = EMPTY;
  #tagView: Uint8Array = EMPTY;
  /**
   * Plaintext bytes of a full record: {@link RECORD_FILL_PLAINTEXT}, or less
   * when the connection below states a smaller `maxFrameSize` (a record and
   * its tag fit one of its frames).
   */
  readonly #fill: number;
  /** Where the record being filled is sealed: a full record, or the end of a large frame's head (see #startFrame). */
  #recordEnd: number;
  #flushScheduled = false;
  /** What the layer above asked to run at this tick's end, before its last record is sealed (`atTickEnd`). */
  readonly #tickHooks = new TickHooks();
  #partialWaiter: Deferred | null = null;
  #lastSend: Promise<void> = RESOLVED;
  #unsettledBytes = 0;
  /** The last promise of the connection below seen resolved: a send answered with it again was taken at once. */
  #taken: Promise<void> | null = null;
  #sealedThisTick = 0;
  #tickWaiter: Deferred | null = null;
  /** Sealed bytes not yet taken by the connection below (plus the record being filled) past which `send` waits: the smaller of the high-water mark and {@link SEND_AHEAD}. */
  readonly #highWaterMark: number;

  /** No more sealing: close was called or the link failed. */
  #sendClosed = false;
  #fault: XppgError | undefined;
  #recordsIn = 0;
  /** Frames handed up from the record being decoded. */
  #framesUp = 0;
  /** Of them, those the sink above kept that are views of the record's plaintext (see #onRecord). */
  #viewsKept = 0;
  /** 1 when the first frame handed up from the record is one begun in an earlier record, in a buffer of its own. */
  #assembled = 0;
  #endReceived = false;
  /** The authenticated end of stream was sealed (`closeWrite`, or the close): never a second. */
  #endSent = false;
  /** `closeWrite()` ended the sending (not a close): a send then has its own words (`sendEndedError`). */
  #writeEnded = false;
  /** `SecureConnectionOptions.onRemoteEnd`. */
  readonly #onRemoteEnd: ((counted: number | undefined) => void) | undefined;
  /** `SecureConnectionOptions.countedEnd`: this side's end of stream counts the records received (`end-count.ts`). */
  readonly #countedEnd: boolean;
  /** Records sealed (see `recordsSent`). */
  #recordsOut = 0;
  #linkClosed = false;
  /** The largest record the connection below takes, when it says (its `maxFrameSize`): a larger one is refused before a nonce is spent on it. */
  readonly #recordLimit: number;
  /** A 4-byte frame header, written before it is copied into the plaintext stream (see #writeHeader). */
  readonly #header = new Uint8Array(FRAME_HEADER_SIZE);

  constructor(provider: CryptoProvider, conn: Connection, session: HandshakeResult, controller: LinkController, options: SecureChannelOptions) {
    this.#provider = provider;
    this.#conn = conn;
    this.#session = session;
    this.#controller = controller;
    this.#remoteAddress = conn.remoteAddress;
    // Floored: a fractional limit would leave a record's end between two bytes, where #write never reaches it.
    const limit = Math.floor(conn.maxFrameSize ?? Infinity);
    this.#recordLimit = limit;
    // Records cut to what the connection below takes. One too small even for a tag and a byte keeps the
    // full size: every record is then refused at its seal (#sealAndSend), and the link ends with that error.
    this.#fill = limit > NOISE_TAG_SIZE ? Math.min(RECORD_FILL_PLAINTEXT, limit - NOISE_TAG_SIZE) : RECORD_FILL_PLAINTEXT;
    this.#recordEnd = this.#fill;
    this.#whole = provider.wholeRecords === true;
    this.#lends = typeof conn.lendRoom === "function" && typeof conn.sendLent === "function";
    this.#highWaterMark = Math.min(options.highWaterMark, SEND_AHEAD);
    this.#decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize });
    this.#onFrame = controller.frame;
    this.#onRemoteEnd = options.onRemoteEnd;
    this.#countedEnd = options.countedEnd === true;
    conn.read({ frame: this.#onRecord, close: (info) => this.#onLinkClosed(info) });
  }

  /** Hands a sealed record to the connection below; one written before `sendParts` joined the contract gets it joined. */
  #sendRecord(parts: [Uint8Array, Uint8Array]): Promise<void> {
    const conn = this.#conn;
    return typeof conn.sendParts === "function" ? conn.sendParts(parts) : sendJoined(conn, parts);
  }

  pauseReading(): void {
    this.#conn.pause();
  }

  resumeReading(): void {
    this.#conn.resume();
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    if (this.#sendClosed || this.#conn.isClosed) return Promise.reject(this.#sendRefused());
    // `length`: the core's reading by the language's getter (the frame's own `length` may lie).
    this.#appendFrame(frame, length);
    return this.#queued();
  }

  sendParts(parts: readonly Uint8Array[], length: number): Promise<void> {
    if (this.#sendClosed || this.#conn.isClosed) return Promise.reject(this.#sendRefused());
    // Copied into the plaintext stream like send(): the parts stay the caller's.
    this.#startFrame(FRAME_HEADER_SIZE + length);
    this.#writeHeader(length);
    // Each part through a plain view: #write slices it, and a part's own `subarray` or `length` may lie.
    for (const part of parts) this.#write(byteArrayView(part, byteArrayLength(part)));
    return this.#queued();
  }

  /**
   * Runs `fn` at this tick's end, before the frames sent after the tick's
   * first are sealed: what it sends shares their record. Only while a tick
   * is open; see `Connection.atTickEnd`.
   */
  atTickEnd(fn: () => void): boolean {
    if (!this.#flushScheduled) return false;
    this.#tickHooks.add(fn);
    return true;
  }

  /** Schedules the tick's flush; the promise a send returns (backpressure). */
  #queued(): Promise<void> {
    if ((this.#plainLength > 0 || this.#sealedThisTick > 0) && !this.#flushScheduled) {
      this.#flushScheduled = true;
      // A connection below without an end of tick of its own queues its flush when the first record reaches it:
      // ours is queued first, so that the tick's later records reach it before that flush (one write, as before).
      const own = this.#conn.atTickEnd === undefined;
      if (own) this.#provider.defer(this.#flushTick);
      try {
        // The tick's first frames are sealed at once (a reply waits for no turn); the rest share the tick's next record.
        if (this.#sealedThisTick === 0) this.#flush();
      } finally {
        // The tick ends with the connection's below, whose tick that record opened (one callback for both), or on our own.
        if (!own && this.#conn.atTickEnd!(this.#flushTick) !== true) this.#provider.defer(this.#flushTick);
      }
    }
    if (this.#unsettledBytes + this.#plainLength < this.#highWaterMark) {
      if (this.#sealedThisTick < TICK_BUDGET) return RESOLVED;
      // Let the connection below write what was sealed before sealing more.
      this.#tickWaiter ??= deferred();
      return this.#tickWaiter.promise;
    }
    // Over the high-water mark: resolve once the record that carries the end
    // of this frame has been taken by the connection below.
    if (this.#plainLength === 0) return this.#lastSend;
    this.#partialWaiter ??= deferred();
    return this.#partialWaiter.promise;
  }

  end(): void {
    if (!this.#endWrites()) return;
    closeBelow(this.#conn, this.#controller);
  }

  /** `SecureConnection.recordsSent`: every record sealed is handed below at once. */
  get recordsSent(): number {
    return this.#recordsOut;
  }

  /** Ends sending only (`SecureConnection.closeWrite`): the end of stream goes out, reading goes on. */
  closeWrite(): void {
    if (this.#sendClosed) return;
    this.#writeEnded = true;
    this.#endWrites();
  }

  /** Why a send is refused: this side's `closeWrite()` while it still reads, else the connection closed. */
  #sendRefused(): XppgError {
    return this.#writeEnded && !this.#conn.isClosed ? sendEndedError(this.#remoteAddress) : connectionClosedError(this.#remoteAddress, this.#fault);
  }

  /** What waits, then the authenticated end of stream (once): lets the peer tell our close from a cut. False when a seal failed (the link is closing with that error). */
  #endWrites(): boolean {
    this.#sendClosed = true;
    if (this.#endSent) return true;
    this.#endSent = true;
    if (!this.#flushOutsideSend(() => this.#sealEnd())) return false;
    // The tick's frames are sealed and handed below, as at the tick's end: their sends resolve (not rejected by a
    // link below that reports its close at once, a routed one, though what they sent goes out before the end).
    const tick = this.#tickWaiter;
    this.#tickWaiter = null;
    tick?.resolve();
    return true;
  }

  /**
   * Seals the end of stream, after what waited: empty, or counting the
   * peer's records received before it (`countedEnd`; the peer's own end of
   * stream, when in, is not one). Not a record of frames: not in `recordsSent`.
   */
  #sealEnd(): void {
    const end = this.#countedEnd ? endCountRecord(this.#recordsIn - (this.#endReceived ? 1 : 0)) : EMPTY;
    void this.#sealAndSend(end.byteLength, end, false).catch(() => {});
  }

  /** Seals what waits outside `send` (a tick's later frames, the last at close). A failed seal (a spent key budget) closes the link with its error, reported by `closed`: nothing may leave after a gap in the nonces. */
  #flushOutsideSend(then?: () => void): boolean {
    try {
      this.#flush();
      then?.();
      return true;
    } catch (err) {
      const error = isXppgError(err) ? err : writeFailedError(this.#remoteAddress, err);
      if (this.#sendClosed) this.#controller.error(error); // at our own close, the core reports only what it is told
      this.abort(error, false);
      return false;
    }
  }

  abort(error: XppgError, byPeer: boolean): void {
    this.#sendClosed = true;
    if (byPeer) this.#fault = error;
    this.#dropPending(error);
    closeBelow(this.#conn, this.#controller, error);
  }

  /** Not called (no close timer here: the connection below bounds its close); for the interface. */
  destroy(): void {
    closeBelow(this.#conn, this.#controller, connectionClosedError(this.#remoteAddress));
  }

  #appendFrame(frame: Uint8Array, length: number): void {
    const plain = this.#plain;
    if (plain !== null && plain.length - this.#plainLength >= FRAME_HEADER_SIZE + length) {
      // Fast path: the frame fits in the current record.
      const at = this.#plainLength;
      writeFrameHeader(plain, at, length);
      plain.set(frame, at + FRAME_HEADER_SIZE);
      this.#plainLength = at + FRAME_HEADER_SIZE + length;
      return;
    }
    this.#startFrame(FRAME_HEADER_SIZE + length);
    this.#writeHeader(length);
    // A plain view of the caller's bytes: #write slices and measures it, and the frame's own `subarray` or `length` may lie.
    this.#write(byteArrayView(frame, length));
  }

  /**
   * Chooses where a frame of `total` bytes (its length prefix included)
   * that does not fit in the record being filled starts, so that the
   * records after its first one lie wholly inside it: its first
   * `total mod #fill` bytes (the head) end a record of
   * their own, and the rest fills whole records, which the receiver
   * decrypts straight into the frame's buffer (no copy, no buffer per
   * record). A frame smaller than a record starts a new record rather than
   * being split. Only where records are cut changes: the plaintext stream,
   * and so the wire format, is the same.
   */
  #startFrame(total: number): void {
    const fill = this.#fill;
    const room = fill - this.#plainLength;
    if (total <= room) return;
    const head = total % fill;
    // A head too short for the length prefix (rare): the frame is cut where the records fall.
    if (head !== 0 && head < FRAME_HEADER_SIZE) return;
    if ((head === 0 || head > room) && this.#plainLength > 0) void this.#sealPartial();
    if (head !== 0 && total > fill) this.#recordEnd = this.#plainLength + head;
  }

  /**
   * Seals what the record being filled holds, now. Its outcome is tracked by
   * #sealAndSend itself (a failed record closes the channel); the promise is
   * for a caller that waits for the send.
   */
  #sealPartial(): Promise<void> {
    const sent = this.#sealAndSend(this.#plainLength);
    this.#plainLength = 0;
    this.#recordEnd = this.#fill;
    return sent;
  }

  #writeHeader(length: number): void {
    // Copied out by #write before it returns: one array serves every frame.
    const header = this.#header;
    writeFrameHeader(header, 0, length);
    this.#write(header);
  }

  /** Copies `bytes` into the plaintext stream, sealing each record that fills up. */
  #write(bytes: Uint8Array): void {
    let offset = 0;
    const end = bytes.byteLength;
    while (offset < end) {
      if (this.#plainLength === this.#recordEnd) void this.#sealPartial();
      let plain = this.#plain;
      const whole = this.#recordEnd;
      if (this.#plainLength === 0 && end - offset >= whole && plain !== null && plain.byteLength >= whole) {
        // A whole record of the caller's bytes: sealed from where they lie
        // into the record buffer, not copied there first (a 64 KiB memcpy
        // per record of a large frame).
        void this.#sealAndSend(whole, bytes.subarray(offset, offset + whole));
        this.#recordEnd = this.#fill;
        offset += whole;
        continue;
      }
      if (plain === null || this.#plainLength === plain.byteLength) {
        // Grow (idle connections keep a small buffer; busy ones reach one full record).
        const size = Math.min(this.#fill, Math.max(INITIAL_PLAIN_SIZE, (plain?.byteLength ?? 0) * 2, this.#plainLength + end - offset));
        // Room for the tag after the plaintext: a record can be sealed where it lies.
        const next = new Uint8Array(size + NOISE_TAG_SIZE).subarray(0, size);
        if (plain !== null) next.set(plain.subarray(0, this.#plainLength));
        this.#plain = next;
        this.#viewLength = -1;
        plain = next;
      }
      const take = Math.min(Math.min(plain.byteLength, this.#recordEnd) - this.#plainLength, end - offset);
      plain.set(bytes.subarray(offset, offset + take), this.#plainLength);
      this.#plainLength += take;
      offset += take;
    }
  }

  /**
   * Encrypts `length` bytes, `source` or else the first bytes of the record
   * buffer (#plain), and sends them as one record; the record buffer is
   * free again on return. With an in-place provider a large record is
   * sealed into room the connection below lends of its send buffer, when it
   * lends (see {@link LEND_FROM_BYTES}); any other is sealed into the record
   * buffer, its tag written just after it (the buffer keeps room for one),
   * and the two sent as one frame with `send`, which copies it (into the
   * transport's reused batches): nothing is allocated per record. Otherwise
   * the ciphertext and tag are new buffers, handed over unjoined. A record
   * of frames (`frames`, not the end of stream) is counted in `recordsSent`
   * once sealed and handed below: one refused or failing to seal, never.
   */
  #sealAndSend(length: number, source: Uint8Array | null = null, frames = true): Promise<void> {
    // A record the connection below would refuse: refused here, before its nonce is spent (a lost record is a gap every
    // later record falls into). The throw ends the link with the error, as a failed seal does.
    if (length + NOISE_TAG_SIZE > this.#recordLimit) throw frameTooLargeError(length + NOISE_TAG_SIZE, this.#recordLimit, "sent");
    const cipher = this.#session.send;
    let sent: Promise<void>;
    const plain = this.#plain;
    const lent = length >= LEND_FROM_BYTES && this.#lends && cipher.inPlaceFor(length) ? this.#sealLent(cipher, length, source) : null;
    if (lent !== null) {
      sent = lent;
    } else if (plain !== null && length <= plain.length && cipher.inPlaceFor(length)) {
      if (length !== this.#viewLength) {
        // #plain starts its memory, which has room for the tag after its last byte.
        const memory = plain.buffer;
        this.#bodyView = new Uint8Array(memory, 0, length);
        this.#recordView = new Uint8Array(memory, 0, length + NOISE_TAG_SIZE);
        this.#tagView = this.#whole ? EMPTY : new Uint8Array(memory, length, NOISE_TAG_SIZE);
        this.#viewLength = length;
      }
      const record = this.#recordView;
      // With a provider of whole records, an empty tag: the record takes the tag after the ciphertext.
      cipher.encryptInto(source ?? this.#bodyView, this.#whole ? record : this.#bodyView, this.#tagView);
      sent = this.#conn.send(record);
    } else {
      sent = this.#sendRecord(cipher.encryptParts(source ?? plain!.subarray(0, length)));
    }
    // Counted only now: a throw above (a spent key) leaves the count as it was, with nothing to undo.
    if (frames) this.#recordsOut++;
    const size = length + NOISE_TAG_SIZE;
    this.#sealedThisTick += size;
    this.#lastSend = sent;
    // The connection below answers a send it took at once with the same
    // resolved promise each time (TCP's): once that one has resolved, a
    // record answered with it is taken, and needs no callback of its own
    // (a promise, two closures and a microtask per record, on every round trip).
    if (sent === this.#taken) return sent;
    this.#unsettledBytes += size;
    sent.then(
      () => {
        this.#unsettledBytes -= size;
        this.#taken = sent;
      },
      (error: unknown) => {
        this.#unsettledBytes -= size;
        // Refused by a connection that stays open (a record over its `maxFrameSize`): the record is lost, a gap
        // in the nonces that every later record would fall into. Nothing may follow it: the link ends with the error.
        if (!this.#conn.isClosed && !isXppgError(error, TRANSPORT_ERROR_CODES.CONNECTION_CLOSED)) this.abort(isXppgError(error) ? error : writeFailedError(this.#remoteAddress, error), false);
      },
    );
    return sent;
  }

  /**
   * Seals a record of `length` bytes (`source`, or the first bytes of the
   * record buffer) into room the connection below lends, and sends it from
   * there: null when it lends none (closed), and the record goes the other way.
   * A loan of another size than asked breaks `lendRoom`'s contract: a longer
   * one is cut to the record (`sendLent` sends its first bytes); a shorter
   * one goes back (`endLoan`), nothing is sealed in it, and this link asks
   * for no more loans (the record, and every one after it, is sent as a copy).
   */
  #sealLent(cipher: CipherState, length: number, source: Uint8Array | null): Promise<void> | null {
    const conn = this.#conn;
    const size = length + NOISE_TAG_SIZE;
    const lent = conn.lendRoom!(size, size);
    if (lent === undefined) return null;
    if (lent.byteLength < size) {
      conn.endLoan?.();
      this.#lends = false;
      return null;
    }
    const room = lent.byteLength === size ? lent : lent.subarray(0, size);
    const plaintext = source ?? this.#plain!.subarray(0, length);
    try {
      // With a provider of whole records, the tag goes after the ciphertext in the same call (an empty tag).
      if (this.#whole) cipher.encryptInto(plaintext, room, EMPTY);
      else cipher.encryptInto(plaintext, room.subarray(0, length), room.subarray(length));
    } catch (err) {
      // Nothing was sealed (a spent key budget): the room goes back, and the throw ends the link as a failed seal does.
      conn.endLoan?.();
      throw err;
    }
    return conn.sendLent!(size);
  }

  readonly #flushTick = (): void => {
    // The hooks run while the tick is still open: what they send joins the tick's last record.
    if (this.#tickHooks.waiting) this.#tickHooks.run();
    this.#endTick();
  };

  #endTick(): void {
    this.#flushScheduled = false;
    if (!this.#sendClosed) this.#flushOutsideSend();
    // After the flush: what it sealed ends this tick, and the next tick's first frame is sealed at once again.
    this.#sealedThisTick = 0;
    const waiter = this.#tickWaiter;
    this.#tickWaiter = null;
    waiter?.resolve();
  }

  #flush(): void {
    const waiter = this.#partialWaiter;
    this.#partialWaiter = null;
    if (this.#plainLength === 0 || this.#plain === null) {
      waiter?.resolve();
      return;
    }
    const sent = this.#sealPartial();
    if (waiter !== null) sent.then(waiter.resolve, (err) => waiter.reject(connectionClosedError(this.#remoteAddress, this.#fault ?? err)));
  }

  #dropPending(error: XppgError | undefined): void {
    this.#plainLength = 0;
    this.#recordEnd = this.#fill;
    this.#plain = null;
    this.#viewLength = -1;
    this.#bodyView = this.#recordView = this.#tagView = EMPTY;
    const tick = this.#tickWaiter;
    this.#tickWaiter = null;
    tick?.reject(connectionClosedError(this.#remoteAddress, error));
    const waiter = this.#partialWaiter;
    this.#partialWaiter = null;
    waiter?.reject(connectionClosedError(this.#remoteAddress, error));
  }

  /** One record; `FRAME_RELEASED` when nothing of it is kept (see `FrameSink.frame`). */
  readonly #onRecord = (record: Uint8Array): typeof FRAME_RELEASED | undefined => {
    // After our close, or a fault, nothing more is decrypted.
    if (!this.#controller.receiving) return;
    const index = this.#recordsIn++;
    if (this.#endReceived) {
      this.#controller.fail(decryptFailedError(this.#remoteAddress, index, "it came after the peer's authenticated end of stream"));
      return;
    }
    // `.length`, not `.byteLength`, on this path's byte arrays: the same for them, and V8 (Node 20) reads it
    // inline where `byteLength` is a call through the load IC, about 12 ns each, several per record.
    const size = record.length;
    if (size < NOISE_TAG_SIZE || size > NOISE_MAX_MESSAGE_SIZE) {
      this.#controller.fail(decryptFailedError(this.#remoteAddress, index, `its size (${size} bytes) is impossible for a record`));
      return;
    }
    const length = size - NOISE_TAG_SIZE;
    if (length > 0 && length <= this.#decoder.pendingBodyBytes) {
      // The record lies wholly inside the frame being assembled: decrypted
      // straight into the frame's buffer, with no copy and no buffer of its own.
      if (!this.#openInto(record, this.#decoder.bodyWindow(length))) {
        this.#controller.fail(decryptFailedError(this.#remoteAddress, index));
        return;
      }
      this.#decode(null, length);
      // Nothing of the record is kept: the connection below may reuse its memory.
      return FRAME_RELEASED;
    }
    const inPlace = this.#session.receive.inPlaceFor(size);
    const plain = this.#open(record, inPlace);
    if (plain === null) {
      this.#controller.fail(decryptFailedError(this.#remoteAddress, index));
      return;
    }
    // The end of stream: empty, or a count between frames (`end-count.ts`).
    const end = readEnd(plain, this.#decoder.idle);
    if (end !== false) {
      this.#endReceived = true;
      // A microtask on: its owner may close this link then, not from inside the connection below's delivery.
      const onEnd = this.#onRemoteEnd;
      if (onEnd !== undefined) queueMicrotask(() => onEnd(end));
      return FRAME_RELEASED;
    }
    // The decoder hands up a frame begun in an earlier record (this record is longer than what it lacked, or it
    // would have been opened into it above) in that frame's own buffer, first; every other frame it hands up
    // is a view of the plaintext: of the record's memory when the record was opened in place.
    this.#assembled = this.#decoder.pendingBodyBytes > 0 ? 1 : 0;
    this.#framesUp = 0;
    this.#viewsKept = 0;
    this.#decode(plain, 0);
    // A frame went up as a view of the record and the sink kept it: its memory is kept. Otherwise the sink released every
    // such view (it keeps nothing of them), or their bytes were copied into a frame being assembled.
    return this.#viewsKept > 0 && (inPlace || plain.buffer === record.buffer) ? undefined : FRAME_RELEASED;
  };

  /**
   * A frame decoded from a record's plaintext: handed up, and counted (see
   * #onRecord) with whether the sink kept it. The sink's answer goes back to
   * the decoder, which reuses the buffer of a frame it assembled once that
   * frame is released.
   */
  readonly #onPlainFrame = (frame: Uint8Array): typeof FRAME_RELEASED | undefined => {
    const answer = this.#onFrame(frame);
    // The decoder hands up the frame begun in an earlier record first: not a view of this record.
    if (answer !== FRAME_RELEASED && this.#framesUp >= this.#assembled) this.#viewsKept++;
    this.#framesUp++;
    return answer;
  };

  /** Hands decrypted bytes to the frame decoder: `plain`, or `committed` bytes already written into its frame. */
  #decode(plain: Uint8Array | null, committed: number): void {
    try {
      if (plain === null) this.#decoder.commitBody(committed, this.#onFrame);
      else this.#decoder.push(plain, this.#onPlainFrame);
    } catch (err) {
      // The decoder's XPPG_ERR_FRAME_TOO_LARGE is the peer's doing and is reported as it is; anything
      // else was thrown by the frame sink above us: close with that error as it is.
      this.#controller.fail(frameHandlerError(err));
    }
  }

  /** Decrypts `record` (ciphertext, then the tag) into `out`; false when it does not authenticate. */
  #openInto(record: Uint8Array, out: Uint8Array): boolean {
    const cipher = this.#session.receive;
    if (cipher.inPlaceFor(record.length)) return this.#decryptInPlace(cipher, record, out);
    const plain = cipher.decryptWithAd(EMPTY, record);
    if (plain === null) return false;
    out.set(plain);
    return true;
  }

  /**
   * Decrypts one record; null when it does not authenticate. An in-place
   * provider decrypts in the record's own bytes, which the connection below
   * handed over and never reuses (the {@link Connection} read contract).
   */
  #open(record: Uint8Array, inPlace: boolean): Uint8Array | null {
    const cipher = this.#session.receive;
    if (!inPlace) return cipher.decryptWithAd(EMPTY, record);
    const body = record.subarray(0, record.length - NOISE_TAG_SIZE);
    return this.#decryptInPlace(cipher, record, body) ? body : null;
  }

  /** Decrypts `record` into `out` with an in-place provider: in one piece (an empty tag) when it takes whole records. */
  #decryptInPlace(cipher: CipherState, record: Uint8Array, out: Uint8Array): boolean {
    if (this.#whole) return cipher.decryptInto(record, EMPTY, out);
    const length = out.length;
    return cipher.decryptInto(record.subarray(0, length), record.subarray(length), out);
  }

  #onLinkClosed(info: CloseInfo): void {
    if (this.#linkClosed) return;
    this.#linkClosed = true;
    this.#sendClosed = true;
    const { error, initiator } = linkCloseVerdict(info, this.#endReceived && this.#decoder.idle, this.#decoder.bufferedBytes, this.#remoteAddress, this.#fault);
    this.#dropPending(error);
    this.#controller.closed(error, initiator);
  }
}
