import { TRANSPORT_ERROR_CODES, type CloseInfo, type Connection } from "@xppg/transport";
import { SendWaiters } from "@xppg/transport/adapter";
import { isXppgError, type XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, type Envelope, type EnvelopeCodec, type EnvelopeLink } from "@xppg/framing";
import { NODE_ERROR_CODES, PlaygroundError, RemotePeerError, rateLimitedError } from "./errors.js";
import { KIND, parseBye, parseHello, type Bye, type Hello, type Refusal } from "./protocol.js";
import { TokenBucket } from "./token-bucket.js";

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly localPeerId: string;
  readonly codec: EnvelopeCodec;
  /** The hello this node sends. */
  hello(): Hello;
  nextMessageId(): number;
  /** Decides whether to accept the peer; returns a refusal, or null to accept. */
  admit(session: PeerSession, hello: Hello): Refusal | null;
  /** An envelope from an accepted peer, source already checked. */
  deliver(session: PeerSession, envelope: Envelope): void;
  /** Both sides accepted each other: the session is open. */
  opened(session: PeerSession): void;
  /** A local failure to report (not the peer's fault). */
  report(error: XppgError, peerId: string | undefined): void;
  /** The session ended (after `admit` accepted it or not). */
  ended(session: PeerSession, error: XppgError | undefined): void;
}

/** Limits a session enforces. */
export interface SessionLimits {
  /** The whole handshake's limit, from the connection's start (secure handshake included). */
  handshakeTimeoutMs: number;
  /**
   * When the connection's handshake began (`performance.now()`); the xppg
   * handshake gets what is left of `handshakeTimeoutMs`. Defaults to now.
   */
  handshakeStartedAt?: number;
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  byteBurst: number;
}

/** What the node knows of the peer before its hello arrives. */
export interface SessionPeer {
  /** The peer id the secure channel proved; none without encryption. */
  authenticatedPeerId?: string | undefined;
  /** A value both ends share (the handshake hash), to pick between duplicate connections. */
  tieBreak?: string;
  /** The peer id the caller of `join` asked for; the hello must carry it. */
  expectedPeerId?: string | undefined;
}

/**
 * handshaking: waiting for the peer's hello. admitted: we accepted the peer
 * and sent our welcome; waiting for its welcome (or its refusal). open: both
 * sides accepted.
 */
type Phase = "handshaking" | "admitted" | "open" | "closed";

/** Bytes of the length before each envelope in a bundle. */
export const BUNDLE_LENGTH_BYTES = 4;
const INITIAL_BUNDLE_BYTES = 64 * 1024;
/** A bundle buffer grown past this (for one large message) is dropped after use. */
const MAX_KEPT_BUNDLE_BYTES = 256 * 1024;
/** Bytes queued or in flight per peer before `send` waits. */
const SESSION_HIGH_WATER_MARK = 1024 * 1024;
/** Bytes queued for a peer past which it is dropped as not reading (sends not awaited pile up to here). */
const SESSION_MAX_QUEUED = 64 * 1024 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();

/** Flushes at the end of the current tick: after the caller's synchronous sends, before I/O. */
const scheduleFlush: (fn: () => void) => void =
  typeof process !== "undefined" && typeof process.nextTick === "function" ? (fn) => process.nextTick(fn) : (fn) => queueMicrotask(fn);

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/**
 * One connection to one peer: the handshake, then envelopes both ways.
 *
 * A misbehaving peer loses only this session, with a typed reason; the
 * session never throws into its transport's read path.
 */
export class PeerSession {
  readonly connection: Connection;
  readonly #host: SessionHost;
  #phase: Phase = "handshaking";
  #hello: Hello | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #bucket: TokenBucket | undefined;
  #byteBucket: TokenBucket | undefined;
  /** The peer id the secure channel proved, or undefined without encryption. */
  readonly authenticatedPeerId: string | undefined;
  /** A value both ends of this connection share (its handshake hash), to pick between duplicate connections; "" without one. */
  readonly tieBreak: string;
  /** The peer id this connection was dialled for (`join`'s `peerId`), if any. */
  readonly expectedPeerId: string | undefined;
  #closeError: XppgError | undefined;
  #readyResolve!: () => void;
  #readyReject!: (error: XppgError) => void;
  /** Set on every frame received; the heartbeat clears it. */
  receivedSinceTick = true;
  /** Set on every frame sent; the heartbeat clears it. */
  sentSinceTick = true;
  /** Limits the peer's signed broadcasts (each costs a verification); set by the node. */
  broadcastBucket: TokenBucket | undefined;
  /** True once the session has been open (both sides accepted). */
  everOpened = false;
  /** Heartbeat ticks in a row with nothing received. */
  silentTicks = 0;
  /** Resolves when the handshake completes, rejects with why it did not. */
  readonly ready: Promise<void>;

  constructor(connection: Connection, host: SessionHost, limits: SessionLimits, peer: SessionPeer = {}) {
    this.connection = connection;
    this.authenticatedPeerId = peer.authenticatedPeerId;
    this.tieBreak = peer.tieBreak ?? "";
    this.expectedPeerId = peer.expectedPeerId;
    this.#host = host;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // A rejected `ready` that nobody awaits must not become an unhandled rejection.
    this.ready.catch(() => {});
    if (limits.messagesPerSecond > 0 && Number.isFinite(limits.messagesPerSecond)) {
      this.#bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    }
    if (limits.bytesPerSecond > 0 && Number.isFinite(limits.bytesPerSecond)) {
      this.#byteBucket = new TokenBucket(limits.bytesPerSecond, limits.byteBurst);
    }
    this.#handshakeTimer = setTimeout(() => {
      this.close(
        new PlaygroundError(
          NODE_ERROR_CODES.HANDSHAKE_TIMEOUT,
          `The peer at ${connection.remoteAddress} did not complete the handshake within ${limits.handshakeTimeoutMs} ms. ` +
            "Check that it runs an xppg node on that address and port.",
          { details: { address: connection.remoteAddress, timeoutMs: limits.handshakeTimeoutMs } },
        ),
      );
    }, Math.max(0, limits.handshakeTimeoutMs - (performance.now() - (limits.handshakeStartedAt ?? performance.now()))));
    void connection.closed.then((info) => this.#onClosed(info));
    connection.read({ frame: (data) => this.#onFrame(data) });
    this.#sendEnvelope(KIND.HELLO, host.hello(), null);
  }

  /** The peer's id, once its hello has arrived. */
  get peerId(): string | undefined {
    return this.#hello?.peerId;
  }

  /** The peer's hello, once it has arrived. */
  get remoteHello(): Hello | undefined {
    return this.#hello;
  }

  get isOpen(): boolean {
    return this.#phase === "open";
  }

  get isClosed(): boolean {
    return this.#phase === "closed";
  }

  /**
   * Queues one pre-encoded envelope (a broadcast encoded once for every
   * peer). Resolves at once while less than the high-water mark is
   * buffered; else once the connection has taken enough. Rejects when the
   * connection closes first.
   */
  sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.#phase === "closed") return Promise.reject(this.#closedError());
    const room = this.#reserve(bytes.length);
    this.#out.set(bytes, room);
    return this.#queued();
  }

  /** Queues an envelope, encoded straight into the outgoing bundle. */
  sendEnvelope(envelope: Envelope): Promise<void> {
    if (this.#phase === "closed") return Promise.reject(this.#closedError());
    const codec = this.#host.codec;
    // Once both sides know each other, direct messages leave out the two ids.
    const link = this.#phase === "open" ? this.#link : undefined;
    let written = codec.encodeInto(envelope, this.#out, this.#outLength + BUNDLE_LENGTH_BYTES, link);
    if (written < 0) {
      this.#reserveRoom(-written);
      written = codec.encodeInto(envelope, this.#out, this.#outLength + BUNDLE_LENGTH_BYTES, link);
    } else if (this.#outLength > 0 && this.#outLength + BUNDLE_LENGTH_BYTES + written > this.#frameLimit()) {
      // It fit the buffer but would make the bundle too big for one frame:
      // send what was queued, then move this envelope to the front.
      const at = this.#outLength + BUNDLE_LENGTH_BYTES;
      this.#flush();
      this.#out.copyWithin(BUNDLE_LENGTH_BYTES, at, at + written);
    }
    writeU32(this.#out, this.#outLength, written);
    this.#outLength += BUNDLE_LENGTH_BYTES + written;
    return this.#queued();
  }

  /** Encodes and sends a message from this node to this peer. */
  sendMessage(kind: string, payload: unknown): Promise<void> {
    return this.#sendEnvelope(kind, payload, this.#hello?.peerId ?? null);
  }

  #sendEnvelope(kind: string, payload: unknown, destination: string | null): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = this.sendEnvelope({
        version: ENVELOPE_VERSION,
        kind,
        source: this.#host.localPeerId,
        destination,
        id: this.#host.nextMessageId(),
        hopLimit: 0,
        payload,
      });
    } catch (error) {
      // This node could not encode its own control message: a bug to report, not to hide.
      this.#host.report(isXppgError(error) ? error : this.#violation(String(error)), this.peerId);
      return RESOLVED;
    }
    return sent.catch(() => {
      // A send on a closing connection fails; `closed` reports why.
    });
  }

  // ---- outgoing bundles -------------------------------------------------
  //
  // Envelopes queued within one tick leave as one frame, a bundle:
  // [u32 length][envelope] repeated. They are encoded straight into one
  // reused buffer: no allocation and no extra copy per message, and one
  // send (one record when encrypted) per tick instead of one per message.

  /** This link's two ends (set when the peer's hello arrives); the same view for sending and receiving. */
  #link: EnvelopeLink | undefined;

  #out = new Uint8Array(INITIAL_BUNDLE_BYTES);
  #outLength = 0;
  #flushScheduled = false;
  /** Bytes handed to the connection whose `send` has not resolved yet. */
  #inFlight = 0;
  readonly #waiters = new SendWaiters();

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
    if (this.#outLength > 0 && this.#outLength + needed > this.#frameLimit()) this.#flush();
    if (this.#outLength + needed > this.#out.length) {
      if (this.#outLength > 0) this.#flush();
      if (needed > this.#out.length) this.#out = new Uint8Array(Math.max(needed, this.#out.length * 2));
    }
  }

  /** The largest frame: the largest envelope plus its length. */
  #frameLimit(): number {
    return this.#host.codec.maxSize + BUNDLE_LENGTH_BYTES;
  }

  #queued(): Promise<void> {
    this.sentSinceTick = true;
    if (this.#inFlight + this.#outLength > SESSION_MAX_QUEUED) {
      // The peer does not read: more would only grow memory. Drop it.
      this.close(
        new PlaygroundError(
          NODE_ERROR_CODES.SLOW_PEER,
          `The peer ${this.peerId ?? this.connection.remoteAddress} is not reading: ${this.#inFlight + this.#outLength} bytes are waiting for it. ` +
            "It is disconnected; await each send so that a slow peer slows you down instead.",
        ),
      );
      return Promise.reject(this.#closedError());
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      scheduleFlush(this.#flushNow);
    }
    if (this.#inFlight + this.#outLength <= SESSION_HIGH_WATER_MARK) return RESOLVED;
    return this.#waiters.wait();
  }

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.#flush();
    // Large one-off buffers are not kept past their use.
    if (this.#out.length > MAX_KEPT_BUNDLE_BYTES) this.#out = new Uint8Array(INITIAL_BUNDLE_BYTES);
  };

  /** Hands the bundle to the connection, which copies it before `send` returns, so the buffer is reused. */
  #flush(): void {
    const length = this.#outLength;
    if (length === 0) return;
    this.#outLength = 0;
    this.#inFlight += length;
    this.connection.send(this.#out.subarray(0, length)).then(
      () => {
        this.#inFlight -= length;
        if (!this.#waiters.empty && this.#inFlight + this.#outLength <= SESSION_HIGH_WATER_MARK) {
          this.#waiters.release();
        }
      },
      (error: Error) => {
        this.#inFlight -= length;
        // A closed connection is reported by `closed`; anything else is this node's bug.
        if (!isXppgError(error, TRANSPORT_ERROR_CODES.CONNECTION_CLOSED) && this.#phase !== "closed") {
          this.#host.report(isXppgError(error) ? error : this.#violation(String(error)), this.peerId);
        }
        this.#waiters.fail(error);
      },
    );
  }

  #closedError(): PlaygroundError {
    return new PlaygroundError(NODE_ERROR_CODES.STOPPED, `The connection to ${this.peerId ?? this.connection.remoteAddress} is closed; nothing more can be sent on it.`);
  }

  /**
   * Ends the session: tells the peer why (a bye), flushes, closes. The error
   * is what both sides report (a broken rule, a refusal); none means a clean
   * close.
   */
  close(error?: XppgError): void {
    if (this.#phase === "closed") return;
    this.#closeError ??= error;
    if (error !== undefined) {
      this.#sendEnvelope(KIND.BYE, { code: error.code, reason: error.message } satisfies Bye, null);
    }
    this.#flush();
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    void this.connection.close();
    const closed = this.#closedError();
    this.#waiters.fail(closed);
  }

  #onFrame(data: Uint8Array): void {
    if (this.#phase === "closed") return;
    this.receivedSinceTick = true;
    const bytes = this.#byteBucket;
    if (bytes !== undefined && !bytes.take(data.length)) {
      this.close(rateLimitedError(this.peerId ?? this.connection.remoteAddress, "bytes", bytes.rate, bytes.burst, "bytesPerSecond"));
      return;
    }
    // A bundle: [u32 length][envelope] repeated, filling the frame exactly.
    const end = data.length;
    let pos = 0;
    while (pos < end) {
      if (end - pos < BUNDLE_LENGTH_BYTES) {
        this.close(this.#violation("a bundle ends inside an envelope length"));
        return;
      }
      const length = ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0;
      const start = pos + BUNDLE_LENGTH_BYTES;
      if (length === 0 || length > end - start) {
        this.close(this.#violation(`a bundle declares an envelope of ${length} bytes where ${end - start} remain`));
        return;
      }
      pos = start + length;
      const messages = this.#bucket;
      if (messages !== undefined && !messages.take()) {
        this.close(rateLimitedError(this.peerId ?? this.connection.remoteAddress, "messages", messages.rate, messages.burst, "messagesPerSecond"));
        return;
      }
      let envelope: Envelope;
      try {
        envelope = this.#host.codec.decode(data, start, pos, this.#link);
      } catch (error) {
        this.close(error as XppgError);
        return;
      }
      this.#onEnvelope(envelope);
      // The envelope may have closed the session (a bye, a violation): read no further.
      if (this.isClosed) return;
    }
  }

  #onEnvelope(envelope: Envelope): void {
    if (this.#phase === "handshaking") {
      this.#onHandshakeEnvelope(envelope);
      return;
    }
    if (this.#phase === "admitted") {
      if (envelope.kind === KIND.BYE) this.#onBye(envelope.payload);
      else if (envelope.kind !== KIND.WELCOME) this.close(this.#violation(`it sent "${envelope.kind}" before its welcome`));
      else {
        clearTimeout(this.#handshakeTimer);
        this.#phase = "open";
        this.everOpened = true;
        this.#readyResolve();
        this.#host.opened(this);
      }
      return;
    }
    if (envelope.source !== this.#hello!.peerId) {
      this.close(this.#violation(`a message claims to come from ${envelope.source}, not from the peer itself`));
      return;
    }
    switch (envelope.kind) {
      case KIND.PING:
        void this.sendMessage(KIND.PONG, null);
        return;
      case KIND.PONG:
        return;
      case KIND.BYE:
        this.#onBye(envelope.payload);
        return;
      case KIND.HELLO:
      case KIND.WELCOME:
        this.close(this.#violation(`it sent a second ${envelope.kind}`));
        return;
    }
    try {
      this.#host.deliver(this, envelope);
    } catch (error) {
      // `deliver` rejects bad control messages by throwing a typed error.
      this.close(isXppgError(error) ? error : this.#violation(String(error)));
    }
  }

  #onHandshakeEnvelope(envelope: Envelope): void {
    if (envelope.kind === KIND.BYE) {
      this.#onBye(envelope.payload);
      return;
    }
    if (envelope.kind !== KIND.HELLO) {
      this.close(this.#violation(`its first message was "${envelope.kind}", not a hello`));
      return;
    }
    const hello = parseHello(envelope.payload);
    if (typeof hello === "string") {
      this.close(this.#violation(hello));
      return;
    }
    if (hello.peerId !== envelope.source) {
      this.close(this.#violation("the hello's peer id differs from its envelope source"));
      return;
    }
    this.#hello = hello;
    this.#link = { local: this.#host.localPeerId, remote: hello.peerId };
    const refusal = this.#host.admit(this, hello);
    if (refusal !== null) {
      this.close(new PlaygroundError(refusal.code, refusal.reason));
      return;
    }
    this.#phase = "admitted";
    void this.#sendEnvelope(KIND.WELCOME, null, hello.peerId);
  }

  #onBye(payload: unknown): void {
    const bye = parseBye(payload);
    // The code is the peer's choice: a RemotePeerError, never taken for one of this node's own.
    const error = new RemotePeerError(
      bye?.code ?? NODE_ERROR_CODES.PROTOCOL_VIOLATION,
      bye === null ? "The peer closed the connection with a malformed reason." : `The peer closed the connection: ${bye.reason}`,
    );
    // A bye is the peer's word on why it leaves; do not answer it with another.
    this.#closeError ??= error;
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    void this.connection.close();
  }

  #violation(what: string): PlaygroundError {
    return new PlaygroundError(
      NODE_ERROR_CODES.PROTOCOL_VIOLATION,
      `The peer ${this.peerId ?? this.connection.remoteAddress} broke the xppg protocol: ${what}. It is disconnected.`,
    );
  }

  #onClosed(info: CloseInfo): void {
    const wasOpen = this.#phase === "open";
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    let error = this.#closeError ?? info.error;
    if (error === undefined && wasOpen && info.initiator === "remote") {
      error = new PlaygroundError(
        NODE_ERROR_CODES.PEER_GONE,
        `The connection to ${this.peerId} closed without a goodbye: its process ended or the network dropped. Join it again when it is back.`,
      );
    }
    // No-op when the handshake had completed: a settled promise stays settled.
    this.#readyReject(
      error ??
        new PlaygroundError(
          NODE_ERROR_CODES.PROTOCOL_VIOLATION,
          `The connection to ${this.connection.remoteAddress} closed before the handshake finished. ` +
            "Check that an xppg node of the same app listens there.",
        ),
    );
    this.#host.ended(this, error);
  }
}
