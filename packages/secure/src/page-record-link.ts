// A page's record layer: the same records as `RecordLink` (the wire format in
// the README), sealed and opened by an AEAD that answers later (WebCrypto's
// AES-GCM; ChaCha20-Poly1305 from noble, answered at once, for a peer that
// takes no AES-GCM). Node keeps `RecordLink`, whose seal and open return at
// once, in place; this one stays out of Node's path, and `RecordLink` out of
// a page's download.
import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { FRAME_HEADER_SIZE, FRAME_RELEASED, FrameDecoder, writeFrameHeader } from "@xppg/framing";
import type { CloseInfo, Connection } from "@xppg/transport";
import { connectionClosedError, type LinkController } from "@xppg/transport/adapter";
import { NOISE_MAX_MESSAGE_SIZE, NOISE_TAG_SIZE, RECORD_FILL_PLAINTEXT } from "./constants.js";
import type { AsyncAead } from "./crypto/provider.js";
import { deferred, type Deferred } from "./deferred.js";
import { endCountRecord, readEnd } from "./end-count.js";
import { decryptFailedError, frameHandlerError, linkCloseVerdict, noKeyError, sendEndedError } from "./errors.js";
import type { CipherState } from "./noise/cipher-state.js";
import type { HandshakeResult } from "./noise/handshake-state.js";
import type { RecordLayer, SecureChannelOptions } from "./secure-channel.js";

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);
/** Sealed bytes not yet taken by the connection below past which `send` waits, whatever the high-water mark (as `RecordLink`). */
const SEND_AHEAD = 8 * RECORD_FILL_PLAINTEXT;
/**
 * Seals in flight past which the frames sent wait for one to finish, and
 * then share one record: each WebCrypto call costs a trip to another thread,
 * so a page that sends faster than it seals makes larger records, not more
 * calls. A frame sent while none is in flight is sealed on the next microtask.
 */
const SEALS_AHEAD = 1;
/** Records received and still being opened past which reading pauses: what a fast sender can make a page hold. */
const OPENING_AHEAD = 16;

/**
 * The record layer over a finished handshake, for an AEAD that answers
 * later. Send: frames, each with its 4-byte length, are copied into one
 * plaintext stream; the frames of one tick are sealed together on the next
 * microtask, or, while a seal is out, once it answers (a frame past a full record cuts it: records carry at most
 * {@link RECORD_FILL_PLAINTEXT} bytes), each record with the next nonce,
 * and handed to the connection below in nonce order whatever order the
 * AEAD answers in. Receive: each record is given the next nonce as it
 * arrives and its plaintext decoded in arrival order; at most
 * {@link OPENING_AHEAD} wait to be opened before reading pauses. An empty
 * record is the authenticated end of stream; the link's close is judged
 * once every record before it is opened.
 */
export class PageRecordLink implements RecordLayer {
  readonly #conn: Connection;
  readonly #aead: AsyncAead;
  readonly #send: CipherState;
  readonly #receive: CipherState;
  readonly #controller: LinkController;
  readonly #decoder: FrameDecoder;
  readonly #remoteAddress: string;
  readonly #highWaterMark: number;
  /** Plaintext bytes of a full record: {@link RECORD_FILL_PLAINTEXT}, or less so that a record and its tag fit the `maxFrameSize` the connection below states. */
  readonly #fill: number;

  /** The tick's plaintext, in pieces (copies), and its length. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #flushScheduled = false;
  /** The last record handed to the connection below: the next is handed after it. */
  #handed: Promise<void> = RESOLVED;
  /** Bytes sealed (or being sealed) that the connection below has not taken. */
  #unsettled = 0;
  #drain: Deferred | null = null;
  /** Flushes whose seals have not answered yet (see {@link SEALS_AHEAD}). */
  #sealing = 0;
  #sendClosed = false;
  /** `end()` was called: the core, closing, keeps only an error it is told of. */
  #ending = false;
  /** Why the link failed (the peer's fault, or a record this side could not seal or open): nothing more is handed down or decoded. */
  #fault: XppgError | undefined;
  /** Whose the fault is: the close is reported as the peer's or as this side's. */
  #faultBy: "local" | "remote" = "remote";

  #recordsIn = 0;
  /** A record of impossible size came: the link fails once the records before it are decoded; none after it is opened. */
  #refused = false;
  /** The last record's decoding: the next is decoded after it. */
  #opened: Promise<void> = RESOLVED;
  #opening = 0;
  #pausedByMe = false;
  #pausedByUser = false;
  #endReceived = false;
  /** The authenticated end of stream was sealed (`closeWrite`, or the close): never a second. */
  #endSent = false;
  /** `closeWrite()` ended the sending (not a close): a send then has its own words (`sendEndedError`). */
  #writeEnded = false;
  readonly #onRemoteEnd: ((counted: number | undefined) => void) | undefined;
  /** `SecureConnectionOptions.countedEnd`. */
  readonly #countedEnd: boolean;
  /** Records of frames sealed (`recordsSent`), and decoded. */
  #recordsOut = 0;
  #dataIn = 0;
  #linkClosed = false;

  constructor(aead: AsyncAead, conn: Connection, session: HandshakeResult, controller: LinkController, options: SecureChannelOptions) {
    // Without a key the async seal and open pass the bytes through (as the handshake needs): never for records.
    if (!session.send.hasKey() || !session.receive.hasKey()) throw noKeyError("PageRecordLink");
    this.#aead = aead;
    this.#conn = conn;
    this.#send = session.send;
    this.#receive = session.receive;
    this.#controller = controller;
    this.#remoteAddress = conn.remoteAddress;
    this.#highWaterMark = Math.min(options.highWaterMark, SEND_AHEAD);
    // As `RecordLink`: one too small even for a tag and a byte keeps the full size, and its first record's refusal ends the link.
    const limit = Math.floor(conn.maxFrameSize ?? Infinity);
    this.#fill = limit > NOISE_TAG_SIZE ? Math.min(RECORD_FILL_PLAINTEXT, limit - NOISE_TAG_SIZE) : RECORD_FILL_PLAINTEXT;
    this.#decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize });
    this.#onRemoteEnd = options.onRemoteEnd;
    this.#countedEnd = options.countedEnd === true;
    conn.read({ frame: this.#onRecord, close: (info) => this.#onLinkClosed(info) });
  }

  pauseReading(): void {
    this.#pausedByUser = true;
    this.#conn.pause();
  }

  resumeReading(): void {
    this.#pausedByUser = false;
    if (!this.#pausedByMe) this.#conn.resume();
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    // `length`: the core's reading by the language's getter (the frame's own `byteLength` may lie).
    return this.sendParts([frame], length);
  }

  sendParts(parts: readonly Uint8Array[], length: number): Promise<void> {
    if (this.#sendClosed || this.#conn.isClosed) return Promise.reject(this.#sendRefused());
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    writeFrameHeader(header, 0, length);
    this.#pending.push(header);
    // Copied: the caller may reuse its bytes once this returns.
    // `new Uint8Array(part)` reads the part's own bytes (its `slice` may be a subclass's, and lie).
    for (const part of parts) this.#pending.push(new Uint8Array(part));
    this.#pendingBytes += FRAME_HEADER_SIZE + length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTick);
    }
    if (this.#unsettled + this.#pendingBytes < this.#highWaterMark) return RESOLVED;
    this.#drain ??= deferred();
    return this.#drain.promise;
  }

  end(): void {
    this.#ending = true;
    // A fault of ours that came before this close: the core, closing, keeps it only when told.
    if (this.#fault) this.#controller.error(this.#fault);
    this.#endWrites();
    void this.#handed.then(() => this.#conn.close(this.#fault));
  }

  /** `SecureConnection.recordsSent`: counted at the seal, each handed below after the ones before it. */
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

  /** What waits, then the authenticated end of stream (once): lets the peer tell our close from a cut. */
  #endWrites(): void {
    this.#sendClosed = true;
    if (this.#endSent) return;
    this.#endSent = true;
    this.#flush();
    // As `RecordLink`: counting the peer's records decoded so far, when asked to. Not in `recordsSent`: only #flush
    // counts, its records of frames, so a failed end (a rejected seal) leaves nothing to undo.
    void this.#seal(this.#countedEnd ? endCountRecord(this.#dataIn) : EMPTY);
  }

  abort(error: XppgError, byPeer: boolean): void {
    this.#sendClosed = true;
    // A fault of ours came first: it stays ours (and #faultBy "remote" until then).
    if (byPeer) this.#fault ??= error;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#releaseDrain(error);
    void this.#conn.close(error);
  }

  /** Not called (no close timer here: the connection below bounds its close); for the interface. */
  destroy(): void {
    void this.#conn.close(connectionClosedError(this.#remoteAddress));
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    // While a flush's seals are out, what is sent waits for them, to go out in the next (larger) records.
    if (!this.#sendClosed && this.#sealing < SEALS_AHEAD) this.#flush();
  };

  /** A flush's last seal answered: what waited for it is flushed now. */
  readonly #sealed = (): void => {
    this.#sealing--;
    if (this.#pendingBytes > 0 && !this.#flushScheduled && !this.#sendClosed) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTick);
    }
  };

  /** Seals the tick's plaintext as records of at most `#fill` bytes. */
  #flush(): void {
    let left = this.#pendingBytes;
    if (left === 0) return;
    const pieces = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let piece = 0;
    let at = 0;
    while (left > 0) {
      const record = new Uint8Array(Math.min(left, this.#fill));
      let filled = 0;
      while (filled < record.byteLength) {
        const p = pieces[piece]!;
        const take = Math.min(p.byteLength - at, record.byteLength - filled);
        record.set(p.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (at === p.byteLength) {
          piece++;
          at = 0;
        }
      }
      left -= record.byteLength;
      this.#recordsOut++;
      const sealed = this.#seal(record);
      if (left === 0) {
        this.#sealing++;
        sealed.then(this.#sealed, this.#sealed);
      }
    }
  }

  /** Seals `plain` with the next nonce and hands the record to the connection below after the ones before it; the promise is the seal's. */
  #seal(plain: Uint8Array): Promise<unknown> {
    const size = plain.byteLength + NOISE_TAG_SIZE;
    this.#unsettled += size;
    // An async method: a spent key or nonce comes back as a rejection, not a throw.
    const sealed = this.#send.encryptWithAdAsync(this.#aead, EMPTY, plain);
    const settle = (): void => {
      this.#unsettled -= size;
      if (this.#unsettled + this.#pendingBytes < this.#highWaterMark) this.#releaseDrain(undefined);
    };
    sealed.catch(Boolean); // handled now (a no-op): its rejection is dealt with after the records before it
    // After the records before it are handed, whichever answers first.
    this.#handed = this.#handed
      .then(() => sealed)
      .then(
        (record) => {
          if (this.#conn.isClosed || this.#fault) return settle();
          // A record refused by a connection that stays open is lost, a gap in the nonces: nothing may follow it.
          this.#conn.send(record).then(settle, (err: XppgError) => (settle(), this.#conn.isClosed || this.#failHere(err)));
        },
        (err: unknown) => {
          settle();
          // Nothing after a record that could not be sealed may go out, the end of stream neither: the peer's
          // nonces would no longer match.
          this.#failHere(connectionClosedError(this.#remoteAddress, err));
        },
      );
    return sealed;
  }

  /**
   * A fault of this side (a record it could not seal or open, a key it used up): nothing more goes out or is
   * decoded, and the connection below is closed with why, as this side's close (the peer did nothing wrong).
   */
  #failHere(error: XppgError): void {
    this.#sendClosed = true;
    if (this.#fault === undefined) {
      this.#fault = error;
      this.#faultBy = "local";
    }
    // During our own close the core reports only an error it is told of (told now: it stays this side's close).
    if (this.#ending) this.#controller.error(this.#fault);
    void this.#conn.close(this.#fault);
  }

  #releaseDrain(error: XppgError | undefined): void {
    const drain = this.#drain;
    this.#drain = null;
    if (drain === null) return;
    if (error === undefined) drain.resolve();
    else drain.reject(connectionClosedError(this.#remoteAddress, error));
  }

  /** One record, opened with the next nonce now and decoded after the ones before it. Nothing of it is kept (the AEAD copies it). */
  readonly #onRecord = (record: Uint8Array): typeof FRAME_RELEASED | undefined => {
    // After a fault (a record the connection below delivers as it closes) nothing more is opened or judged; nor after
    // a record of impossible size, whose failure waits for the records before it: each one after it would queue work
    // of its own (they do not count towards OPENING_AHEAD), and a genuine one would be opened with its nonce.
    if (!this.#controller.receiving || this.#fault || this.#refused) return;
    const index = this.#recordsIn++;
    if (record.byteLength < NOISE_TAG_SIZE || record.byteLength > NOISE_MAX_MESSAGE_SIZE) {
      // Judged in order, as a record whose open fails: the records before it, still being opened, are the peer's
      // authenticated data, and their frames go up first (failed here at once, they were dropped unread).
      this.#refused = true;
      const error = decryptFailedError(this.#remoteAddress, index, ERROR_TEXTS ? `its size (${record.byteLength} bytes) is impossible for a record` : [record.byteLength]);
      this.#opened = this.#opened.then(() => {
        if (this.#controller.receiving && !this.#fault) this.#controller.fail(error);
      });
      return;
    }
    // The AEAD reads the bytes after this returns: a copy, as the connection below may reuse them.
    const opened = this.#receive.decryptWithAdAsync(this.#aead, EMPTY, record.slice());
    if (++this.#opening >= OPENING_AHEAD && !this.#pausedByMe) {
      this.#pausedByMe = true;
      this.#conn.pause();
    }
    opened.catch(Boolean); // as in #seal
    // Decoded after the records before it, even when its own open fails first.
    this.#opened = this.#opened
      .then(() => opened)
      .then(
        (plain) => this.#decode(plain, index),
        // The AEAD itself failed (its code not loaded, a key not imported): a fault on this side, not the peer's bad tag.
        (err: unknown) => this.#decode(connectionClosedError(this.#remoteAddress, err), index),
      );
    return FRAME_RELEASED;
  };

  #decode(plain: Uint8Array | XppgError | null, index: number): void {
    if (--this.#opening < OPENING_AHEAD / 2 && this.#pausedByMe) {
      this.#pausedByMe = false;
      if (!this.#pausedByUser) this.#conn.resume();
    }
    if (!this.#controller.receiving || this.#fault) return;
    if (this.#endReceived) return this.#controller.fail(decryptFailedError(this.#remoteAddress, index, ERROR_TEXTS ? "it came after the peer's authenticated end of stream" : []));
    if (plain === null) return this.#controller.fail(decryptFailedError(this.#remoteAddress, index));
    if (!(plain instanceof Uint8Array)) return this.#failHere(plain);
    // As `RecordLink`: the end of stream, empty or counting, then a microtask on.
    const end = readEnd(plain, this.#decoder.idle);
    if (end !== false) {
      this.#endReceived = true;
      const onEnd = this.#onRemoteEnd;
      if (onEnd !== undefined) queueMicrotask(() => onEnd(end));
      return;
    }
    this.#dataIn++;
    try {
      this.#decoder.push(plain, this.#controller.frame);
    } catch (err) {
      // The decoder's XPPG_ERR_FRAME_TOO_LARGE is the peer's doing; anything else was thrown by the frame sink above.
      this.#controller.fail(frameHandlerError(err));
    }
  }

  #onLinkClosed(info: CloseInfo): void {
    if (this.#linkClosed) return;
    this.#linkClosed = true;
    this.#sendClosed = true;
    // Judged once the records before the close are opened: the end of stream may be among them.
    const judge = (): void => {
      const { error, initiator } = linkCloseVerdict(info, this.#endReceived && this.#decoder.idle, this.#decoder.bufferedBytes, this.#remoteAddress, this.#fault, this.#faultBy);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#releaseDrain(error);
      this.#controller.closed(error, initiator);
    };
    void this.#opened.then(judge, judge);
  }
}
