import { FRAME_RELEASED, TRANSPORT_CONTRACT_ERROR_CODES, type CloseInfo, type Connection } from "@xppg/transport";
import { closeGuarded } from "@xppg/transport/adapter";
import { ERROR_TEXTS, isXppgError, now as nowMs, type ErrorText, type XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, LEAN, scopeReads, type Envelope, type EnvelopeLink, type ReadEnvelope } from "@xppg/framing";
import { NODE_ERROR_CODES, PlaygroundError, RemotePeerError, internalError, rateLimitedError } from "./errors.js";
import { closedInHandshakeError, handshakeTimeoutError, peerGoneError, sessionClosedError, sessionViolation, slowPeerError } from "./session-errors.js";
import { BundleReader } from "./bundle-reader.js";
import { DIRECT_ELSEWHERE, DIRECT_RELEASED } from "./message-router.js";
import { DIRECT_STREAMS, LENDS_ROOM, MISUSE_CHECKS, SCOPED_READS } from "#host";
import { Outbox } from "./outbox.js";
export { BUNDLE_LENGTH_BYTES } from "./outbox.js";
import { KIND_BYE, KIND_HELLO, KIND_PING, KIND_PONG, KIND_WELCOME, LEAN_CAPABILITY, RESERVED_PREFIX, parseBye, parseHello, type Bye, type RemoteHello } from "./protocol.js";
import { TokenBucket } from "./token-bucket.js";
import { VerifyAccount } from "./verification-budget.js";
import type { SessionHost, SessionLimits, SessionPeer } from "./session-host.js";
export type { SessionHost, SessionLimits, SessionPeer } from "./session-host.js";

/** handshaking: waiting for the peer's hello. admitted: we accepted the peer and sent our welcome; waiting for its welcome (or its refusal). open: both sides accepted. */
type Phase = "handshaking" | "admitted" | "open" | "closed";

const RESOLVED: Promise<void> = Promise.resolve();
/** Longest a connection closed as a duplicate is still read, waiting for the peer to close its end. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * One connection to one peer: the handshake, then envelopes both ways.
 *
 * A misbehaving peer loses only this session, with a typed reason; the
 * session never throws into its transport's read path.
 *
 * Only the session's {@link Outbox} sends on its connection: on one that
 * lends (`lendRoom`), the outbox writes its bundle into the connection's
 * room, and a `send` from anywhere else would end that loan (the bundle
 * could not go, and the connection closes).
 */
export class PeerSession {
  readonly connection: Connection;
  readonly #host: SessionHost;
  #phase: Phase = "handshaking";
  #hello: RemoteHello | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #bucket: TokenBucket | undefined;
  #byteBucket: TokenBucket | undefined;
  /** The peer id the secure channel proved, or undefined without encryption. */
  readonly authenticatedPeerId: string | undefined;
  /** The peer id this connection was dialled for (`join`'s `peerId`), if any. */
  readonly expectedPeerId: string | undefined;
  #closeError: XppgError | undefined;
  #readyResolve!: () => void;
  #readyReject!: (error: XppgError) => void;
  /** Set on every frame received; the heartbeat clears it. */
  receivedSinceTick = true;
  readonly #outbox: Outbox;
  /** Reads bundles a slice per turn of the event loop, so one peer's burst does not hold everyone else. */
  readonly #reader: BundleReader;
  /** Holds on reading the connection (`holdConnection`). */
  #readHolds = 0;
  /** This link's two ends (set when the peer's hello arrives); the same view for sending and receiving. */
  #link: EnvelopeLink | undefined;
  /** The application kind the router last handed to the handlers from this peer (issue 15: a stream of one kind skips its checks). */
  #appKind: string | undefined;
  /**
   * Something may keep a view of the frame being read: one of its envelopes
   * went elsewhere than to handlers that all borrow (see `#onFrame`). Set
   * false as a frame's reading starts, true by every way but that one.
   */
  #kept = true;
  /**
   * The frame whose envelopes from #releasedFrom on went to handlers that
   * all borrow, with none kept since: when one after them is kept, the frame
   * is kept whole, so their bytes are zeroed then (a kept payload's `buffer`
   * shows no message that came before it and was not its handler's).
   */
  #releasedIn: Uint8Array | null = null;
  #releasedFrom = 0;
  /** True from the first `close` call on: a second call (from within the first) does nothing. */
  #closing = false;
  /** True once the session has ended (`#onClosed`): the host has heard of it. */
  #ended = false;
  /** Closed as a duplicate, still reading what the peer sent before it heard so (see `close`); ends when the peer closes. */
  #draining: ReturnType<typeof setTimeout> | undefined;
  /** Limits the peer's signed broadcasts (each costs a verification); set by the node. */
  broadcastBucket: TokenBucket | undefined;
  /** The peer's use of the node-wide verification budget; set by the node. */
  verifyAccount: VerifyAccount | undefined;
  /** True once the session has been open (both sides accepted). */
  everOpened = false;
  /** Heartbeat ticks in a row with nothing received. */
  silentTicks = 0;
  /** Resolves when the handshake completes, rejects with why it did not. */
  readonly ready: Promise<void>;

  constructor(connection: Connection, host: SessionHost, limits: SessionLimits, peer: SessionPeer = {}) {
    this.connection = connection;
    this.authenticatedPeerId = peer.authenticatedPeerId;
    this.expectedPeerId = peer.expectedPeerId;
    this.#host = host;
    this.#outbox = new Outbox(
      {
        connection,
        codec: host.codec,
        slow: (reason) => this.close(this.#slowError(reason)),
        report: (error) => host.report(error, this.peerId),
        closedError: () => this.closedError(),
        ...(MISUSE_CHECKS ? { closeConnection: (error: XppgError) => this.#closeConnection(error) } : {}),
      },
      limits.queue,
    );
    this.ready = new Promise<void>((resolve, reject) => {
      [this.#readyResolve, this.#readyReject] = [resolve, reject];
    });
    // A rejected `ready` that nobody awaits must not become an unhandled rejection.
    this.ready.catch(() => {});
    if (limits.messagesPerSecond > 0 && Number.isFinite(limits.messagesPerSecond)) this.#bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    if (limits.bytesPerSecond > 0 && Number.isFinite(limits.bytesPerSecond)) this.#byteBucket = new TokenBucket(limits.bytesPerSecond, limits.byteBurst);
    this.#handshakeTimer = setTimeout(
      () => this.close(handshakeTimeoutError(connection.remoteAddress, limits.handshakeTimeoutMs)),
      Math.max(0, limits.handshakeTimeoutMs - (nowMs() - (limits.handshakeStartedAt ?? nowMs()))),
    );
    this.#reader = new BundleReader(
      {
        // In Node, a message of raw bytes from the peer in the compact layout (nearly all of a link's traffic once lean/1
        // settled, plaintext or encrypted) on an open link is read here, in a function small enough that V8 inlines the
        // message limit's take, the codec's read and the dispatch into the bundle reader's loop, not called each per
        // message; its payload comes back from the codec, not through its read object (a write barrier per message to
        // store it there). Any other envelope, and every envelope in a page (which reads no compact envelope and carries
        // none of this: LEAN is false there), goes to `#onEnvelopeBytes`. The message limit is taken first, for every envelope.
        envelope: (data, start, end) => {
          const messages = this.#bucket;
          if (messages !== undefined && !messages.take()) {
            this.close(rateLimitedError(this.peerId ?? this.connection.remoteAddress, "messages", messages.rate, messages.burst, "messagesPerSecond"));
            return false;
          }
          if (LEAN && this.#phase === "open" && this.#draining === undefined) {
            const codec = this.#host.codec;
            let bytes: Uint8Array | undefined;
            try {
              bytes = codec.readBytes!(data, start, end, this.#link);
            } catch (error) {
              this.close(error as XppgError);
              return false;
            }
            if (bytes !== undefined) {
              const open = DIRECT_STREAMS && !this.#kept;
              const kind = codec.bytesKind!;
              const link = this.#link!;
              // The link's ends are the peer's (its hello's) and this node's: `#onMessage`'s direct message, of the kind its handlers took last.
              if (DIRECT_STREAMS && kind === this.#appKind) {
                // The same dispatch, in the same try, as `#onMessage`'s (keep the two alike).
                try {
                  if (!this.#host.dispatcher.dispatch(link.remote, kind, bytes)) this.#kept = true;
                } catch (error) {
                  this.#kept = true;
                  // As `#onMessage` closes: the dispatcher reports what a handler throws, anything else is this node's bug.
                  this.close(isXppgError(error) ? error : internalError(ERROR_TEXTS ? `handling a "${kind}" message` : [kind], error));
                }
              } else this.#onMessage(kind, link.remote, link.local, bytes, undefined);
              if (open) this.#afterOpenEnvelope(data, start);
              // The handler may have closed the session: read no further.
              return !this.isClosed || this.#draining !== undefined;
            }
          }
          return this.#onEnvelopeBytes(data, start, end);
        },
        violation: (what) => this.close(this.#violation(what)),
        // The reader's wait for a later turn is one more hold on the same count as the rooms'.
        pause: () => this.holdConnection(true),
        resume: () => this.holdConnection(false),
        isClosed: () => this.isClosed && this.#draining === undefined,
        unchecked: () => host.unverified?.(),
        unread: (count) => host.unread?.(count),
      },
      limits.envelopesPerTurn,
      limits.checks,
    );
    // Ends on the sink's close when the peer closed (it comes after the peer's last frame, before `closed`);
    // on `closed` when this side closed (a close, an abort, a stop): the second call does nothing.
    void connection.closed.then((info) => this.#onClosed(info));
    connection.read({ frame: (data) => this.#onFrame(data), close: (info) => this.#onLastFrame(info) });
    // Never rejects: a failed send shows up as the connection's `closed` reason.
    void this.#sendEnvelope(KIND_HELLO, host.hello(), null);
  }

  /**
   * Counts work beyond the envelope itself (rows, a signature check: `check`,
   * also counted node-wide), in envelopes, against this peer's slice of the turn.
   */
  chargeTurn(envelopes: number, check = false): void {
    this.#reader.charge(envelopes, check);
  }

  /**
   * Takes (`held` true) or releases one hold on reading the connection: the
   * reader's wait for a later turn, a congested next hop's, the disk's
   * (`read-holds.ts`). The one owner of the connection's pause: paused at the
   * first hold, resumed only when none remains. Returns the holds left.
   */
  holdConnection(held: boolean): number {
    if (held) {
      if (this.#readHolds++ === 0) this.connection.pause();
    } else if (this.#readHolds > 0 && --this.#readHolds === 0) this.connection.resume();
    return this.#readHolds;
  }

  /**
   * From now on spends from `other`'s rate limits (a standby of the same peer): one peer, one set of limits.
   * Its share of the verification budget too, made now if the broadcast screen has not made it yet (it does at a first broadcast).
   */
  shareLimits(other: PeerSession): void {
    [this.#bucket, this.#byteBucket, this.broadcastBucket, this.verifyAccount] = [other.#bucket, other.#byteBucket, other.broadcastBucket, (other.verifyAccount ??= new VerifyAccount())];
  }

  /** The peer's next envelopes wait until `until` settles (work for the one being handled goes on over later turns). */
  holdReadingUntil(until: Promise<unknown>): void {
    this.#reader.deferUntil(until);
  }

  /** The peer's id, once its hello has arrived. */
  get peerId(): string | undefined {
    return this.#hello?.peerId;
  }

  /** The peer's hello, once it has arrived. */
  get remoteHello(): RemoteHello | undefined {
    return this.#hello;
  }

  get isOpen(): boolean {
    return this.#phase === "open";
  }

  get isClosed(): boolean {
    return this.#phase === "closed";
  }

  /** True while some of the peer's data waits for a later turn of the event loop (`bundle-reader.ts`). */
  get holding(): boolean {
    return this.#reader.holding;
  }

  /** Set on every envelope queued; the heartbeat clears it. */
  get sentSinceTick(): boolean {
    return this.#outbox.sentSinceTick;
  }

  set sentSinceTick(value: boolean) {
    this.#outbox.sentSinceTick = value;
  }

  /** Bytes queued and in flight to this peer. */
  get queuedBytes(): number {
    return this.#outbox.queuedBytes;
  }

  /** Since when (`now()` of @xppg/errors) senders have been waiting for this peer to read, or -1 when they need not wait. */
  get congestedSince(): number {
    return this.#outbox.congestedSince;
  }

  /**
   * Queues one pre-encoded envelope (a broadcast encoded once for every
   * peer). Resolves at once while less than the high-water mark is
   * buffered; else once the connection has taken enough. Rejects when the
   * connection closes first.
   */
  sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.#phase === "closed") return Promise.reject(this.closedError());
    return this.#outbox.sendBytes(bytes);
  }

  /** Queues an envelope, encoded straight into the outgoing bundle (once both sides know each other, without the two ids). */
  sendEnvelope(envelope: Envelope): Promise<void> {
    if (this.#phase === "closed") return Promise.reject(this.closedError());
    return this.#outbox.encode(envelope, this.#phase === "open" ? this.#link : undefined);
  }

  /** Queues a message from this node to this peer, encoded from its fields (no envelope object); throws as the codec does. */
  sendDirect(kind: string, payload: unknown, id: number): Promise<void> {
    if (this.#phase === "closed") return Promise.reject(this.closedError());
    // Nearly every message of a plaintext node (issue 15): raw bytes on a link both ends settled `lean/1` for, written in place
    // (on a connection that lends room: not a secure channel's, whose sends go on without the call).
    // The compact layout carries no id, so sendLean takes none: the id is checked here, as the codec checks it (framing's checkId; one it refuses
    // goes the codec's way, which throws its error); passed on, a counter past 2^30 was a number boxed for the call, on every send.
    if (LENDS_ROOM && payload instanceof Uint8Array && this.#phase === "open" && this.#link!.lean === true && this.connection.sendLent !== undefined && Number.isSafeInteger(id) && id >= 0) {
      const sent = this.#outbox.sendLean(kind, payload);
      if (sent !== undefined) return sent;
    }
    return this.#outbox.encodeFields(kind, this.#host.localPeerId, this.#hello!.peerId, id, 0, payload, undefined, this.#phase === "open" ? this.#link : undefined);
  }

  /** Encodes and sends a message from this node to this peer. */
  sendMessage(kind: string, payload: unknown): Promise<void> {
    return this.#sendEnvelope(kind, payload, this.#hello?.peerId ?? null);
  }

  #sendEnvelope(kind: string, payload: unknown, destination: string | null): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = this.sendEnvelope({ version: ENVELOPE_VERSION, kind, source: this.#host.localPeerId, destination, id: this.#host.nextMessageId(), hopLimit: 0, payload });
    } catch (error) {
      // This node could not encode its own control message: a bug to report, not to hide (and never the peer's fault).
      this.#host.report(isXppgError(error) ? error : internalError(ERROR_TEXTS ? "encoding a control message" : [], error), this.peerId);
      return RESOLVED;
    }
    return sent.catch(() => {
      // A send on a closing connection fails; `closed` reports why.
    });
  }

  /**
   * Closes the connection (with `error`, torn down at once). In Node, a
   * transport's `close` that throws or rejects breaks its contract: that is
   * reported as `XPPG_ERR_TRANSPORT_CONTRACT`, never thrown into the caller
   * (a timer, a handler, `pg.disconnect`) nor left an unhandled rejection,
   * and the session ends here, since its `closed` may never come.
   */
  #closeConnection(error?: XppgError): void {
    if (!MISUSE_CHECKS) return void this.connection.close(error);
    // Not per message: once per session.
    void closeGuarded(this.connection, error, (broken) => {
      const reason = this.#closeError ?? error;
      // The session's end reports its reason once: the broken close is reported beside it, or is the reason.
      if (this.#ended || reason !== undefined) this.#host.report(broken, this.peerId);
      if (this.#ended) return;
      this.#closeError = reason ?? broken;
      this.#onClosed({ initiator: "local", error: this.#closeError });
    });
  }

  /** What a send on this session rejects with once it is closed: `XPPG_ERR_STOPPED` when the node stops, else `XPPG_ERR_CONNECTION_CLOSED`. */
  closedError(): PlaygroundError {
    return sessionClosedError(this.peerId ?? this.connection.remoteAddress, this.#host.running?.() === false);
  }

  /**
   * Ends the session: tells the peer why (a bye), flushes, closes. The error
   * is what both sides report (a broken rule, a refusal); none means a clean
   * close. A peer dropped for not reading gets no bye (it would not read it)
   * and its connection is torn down at once, so it leaves the peer list at
   * once. Idempotent, and safe to call from within itself (a bye that
   * overflows the queue asks for a second close).
   */
  close(error?: XppgError): void {
    if (this.#draining !== undefined) this.#closeConnection();
    if (this.#phase === "closed" || this.#closing) return;
    this.#closing = true;
    this.#closeError ??= error;
    const slow = error?.code === NODE_ERROR_CODES.SLOW_PEER;
    // The peer may have sent messages on a connection replaced by another before it hears of the replacement.
    const drain = error?.code === NODE_ERROR_CODES.DUPLICATE_CONNECTION && (this.#phase === "open" || this.#phase === "admitted");
    if (error !== undefined && !slow) {
      // Never rejects, and the flush below sends it: nothing to wait for on the way out.
      void this.#sendEnvelope(KIND_BYE, { code: error.code, reason: error.message } satisfies Bye, null);
    }
    if (!slow) this.#outbox.flush();
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    this.#outbox.close(this.closedError());
    if (drain) {
      // Nothing more is sent; what arrives until the peer closes its end (on reading the goodbye) is still delivered.
      this.#draining = setTimeout(() => this.#closeConnection(), DRAIN_TIMEOUT_MS);
      // A draining connection must not keep a process alive that has nothing else to do.
      this.#draining.unref?.();
      return;
    }
    this.#closeConnection(slow ? error : undefined);
  }

  /**
   * An envelope on a connection closed as a duplicate: the peer's messages
   * and broadcasts are delivered (it sent them before our goodbye reached
   * it, so they went nowhere else); its goodbye, or anything out of place,
   * ends the drain. Control messages belong to the connection kept.
   */
  #onDrainEnvelope(envelope: Envelope): void {
    const own = envelope.source === this.#hello!.peerId || (envelope.destination === null && envelope.signature !== undefined && this.#host.relays(this));
    if (envelope.kind === KIND_BYE || !own) this.#closeConnection();
    // The peer opened this connection at this welcome and writes compact envelopes after it, replaced here or not.
    else if (LEAN && envelope.kind === KIND_WELCOME) this.#link!.lean = leanSettled(this.#hello!.offer.capabilities, this.#host.hello().caps);
    else if (envelope.kind.startsWith(RESERVED_PREFIX)) return;
    else {
      try {
        this.#host.router.deliver(this, envelope);
      } catch {
        this.#closeConnection();
      }
    }
  }

  #slowError(reason: string): PlaygroundError {
    return slowPeerError(this.peerId ?? this.connection.remoteAddress, reason);
  }

  /**
   * One frame of the peer's. `FRAME_RELEASED` (the transport may reuse its
   * memory) only when nothing can keep a view of it: on an open session
   * that did not close meanwhile, every envelope of the frame was read in
   * this call (the reader holds nothing of it for a later turn), and each
   * went straight to handlers of a kind that all borrow their payload, or
   * to none (`Dispatcher.dispatch`). Anything else keeps it, as every frame
   * was kept before handlers could borrow: a wrong release would hand a
   * handler's kept bytes over to later messages.
   */
  #onFrame(data: Uint8Array): typeof FRAME_RELEASED | undefined {
    if (this.#phase === "closed" && this.#draining === undefined) return;
    this.receivedSinceTick = true;
    const bytes = this.#byteBucket;
    if (bytes !== undefined && !bytes.take(data.length)) {
      this.close(rateLimitedError(this.peerId ?? this.connection.remoteAddress, "bytes", bytes.rate, bytes.burst, "bytesPerSecond"));
      return;
    }
    this.#kept = false;
    this.#releasedIn = null;
    // The reads of this frame's envelopes end as it is read: the codec lets go of the frame then, with no microtask each (a page saves the bytes).
    if (SCOPED_READS) scopeReads(this.#reader, data);
    else this.#reader.read(data);
    return this.#kept || this.#phase !== "open" || this.#draining !== undefined || this.#reader.holding ? undefined : FRAME_RELEASED;
  }

  /** One envelope of a bundle, `data[start, end)`, the message limit taken for it (the constructor's `envelope` reads a compact one of raw bytes on an open link itself); false once the session closed. */
  #onEnvelopeBytes(data: Uint8Array, start: number, end: number): boolean {
    const codec = this.#host.codec;
    let read: ReadEnvelope;
    try {
      read = codec.read(data, start, end, this.#link);
    } catch (error) {
      this.#kept = true;
      this.close(error as XppgError);
      return false;
    }
    // A direct message on an open link (nearly all traffic) needs no envelope object: its fields go on as they are.
    if (this.#phase === "open" && this.#draining === undefined && read.destination !== null) {
      const open = DIRECT_STREAMS && !this.#kept;
      this.#onMessage(read.kind, read.source, read.destination, read.payload, undefined);
      if (open) this.#afterOpenEnvelope(data, start);
    } else {
      this.#kept = true;
      this.#onEnvelope(codec.envelopeOf(read));
    }
    // The envelope may have closed the session (a bye, a violation): read no further.
    return !this.isClosed || this.#draining !== undefined;
  }

  /**
   * The envelope at `start` of `data` was handled while nothing of the frame
   * was kept: if it was kept (the frame is kept whole now), the bytes of the
   * envelopes before it that went to borrowing handlers are zeroed; if not,
   * it is one of those.
   */
  #afterOpenEnvelope(data: Uint8Array, start: number): void {
    if (!this.#kept) {
      if (this.#releasedIn !== data) {
        this.#releasedIn = data;
        this.#releasedFrom = start;
      }
    } else if (this.#releasedIn === data) {
      data.fill(0, this.#releasedFrom, start);
      this.#releasedIn = null;
    }
  }

  #onEnvelope(envelope: Envelope): void {
    if (this.#draining !== undefined) {
      this.#onDrainEnvelope(envelope);
      return;
    }
    if (this.#phase === "handshaking") {
      this.#onHandshakeEnvelope(envelope);
      return;
    }
    if (this.#phase === "admitted") {
      if (envelope.kind === KIND_BYE) this.#onBye(envelope.payload);
      else if (envelope.kind !== KIND_WELCOME) this.close(this.#violation(ERROR_TEXTS ? `it sent "${envelope.kind}" before its welcome` : [envelope.kind]));
      else {
        clearTimeout(this.#handshakeTimer);
        if (LEAN) this.#link!.lean = leanSettled(this.#hello!.offer.capabilities, this.#host.hello().caps);
        this.#phase = "open";
        this.everOpened = true;
        // The dialler's join resolves on `ready`: what the peer sent after its welcome and came in the same read
        // (its greetings, a message from its peer:joined handler) is handled a turn later, after the join (INTERNALS.md, "Cold start").
        if (this.connection.outbound) this.#reader.endTurnAfter();
        this.#readyResolve();
        this.#host.opened(this);
      }
      return;
    }
    this.#onMessage(envelope.kind, envelope.source, envelope.destination, envelope.payload, envelope);
  }

  /** A message on the open session: its fields, and its whole envelope unless it is a direct message (`destination` set). */
  #onMessage(kind: string, source: string, destination: string | null, payload: unknown, envelope: Envelope | undefined): void {
    // More of the application kind the router last handed to the handlers, from the peer to this node: the checks here and the router's passed for it.
    const direct = DIRECT_STREAMS && kind === this.#appKind && source === this.#hello!.peerId && destination === this.#host.localPeerId;
    if (!direct) {
      // Control kinds, whole envelopes (the router, rooms, the mesh), another's message: the frame is kept (see `#onFrame`).
      // A direct message from the peer of an application kind is the router's to say (below); in a page every frame is kept.
      if (!DIRECT_STREAMS || envelope !== undefined || source !== this.#hello!.peerId || kind.startsWith(RESERVED_PREFIX)) this.#kept = true;
      // Only a mesh peer passes on others' broadcasts, signed by their origin (checked later).
      if (source !== this.#hello!.peerId && !(destination === null && envelope!.signature !== undefined && this.#host.relays(this))) {
        this.close(this.#violation(ERROR_TEXTS ? `a message claims to come from ${source}, not from the peer itself` : [source]));
        return;
      }
      switch (kind) {
        case KIND_PING:
          void this.sendMessage(KIND_PONG, null);
          return;
        case KIND_PONG:
          return;
        case KIND_BYE:
          this.#onBye(payload);
          return;
        case KIND_HELLO:
        case KIND_WELCOME:
          this.close(this.#violation(ERROR_TEXTS ? `it sent a second ${kind}` : [kind]));
          return;
      }
    }
    try {
      if (direct) {
        if (!this.#host.dispatcher.dispatch(source, kind, payload)) this.#kept = true;
      } else if (envelope !== undefined) this.#host.router.deliver(this, envelope);
      else {
        // Handed to the handlers as a kind with no fixed shape (`DIRECT_KEPT`, `DIRECT_RELEASED`): the peer's next messages of that kind take the short way above.
        // Only `DIRECT_RELEASED` (straight to handlers that all borrow, as the short way's dispatch) leaves the frame unkept: a peer that interleaves
        // two application kinds sends each message of the kind it did not send last this way.
        const went = this.#host.router.deliverDirect(this, source, kind, destination!, payload);
        if (DIRECT_STREAMS && went !== DIRECT_RELEASED) this.#kept = true;
        if (DIRECT_STREAMS && went !== DIRECT_ELSEWHERE) this.#appKind = kind;
      }
    } catch (error) {
      this.#kept = true;
      // `deliver` rejects bad control messages by throwing a typed error; anything else is this node's bug, not the peer's.
      // The constructor's `envelope` has the same dispatch and close for a compact message of raw bytes (keep the two alike).
      this.close(isXppgError(error) ? error : internalError(ERROR_TEXTS ? `handling a "${kind}" message` : [kind], error));
    }
  }

  #onHandshakeEnvelope(envelope: Envelope): void {
    if (envelope.kind === KIND_BYE) {
      this.#onBye(envelope.payload);
      return;
    }
    if (envelope.kind !== KIND_HELLO) {
      this.close(this.#violation(ERROR_TEXTS ? `its first message was "${envelope.kind}", not a hello` : [envelope.kind]));
      return;
    }
    const hello = parseHello(envelope.payload);
    if (typeof hello === "string") {
      this.close(this.#violation(hello));
      return;
    }
    if (hello.peerId !== envelope.source) {
      this.close(this.#violation(ERROR_TEXTS ? "the hello's peer id differs from its envelope source" : []));
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
    void this.#sendEnvelope(KIND_WELCOME, null, hello.peerId);
  }

  #onBye(payload: unknown): void {
    const bye = parseBye(payload);
    // The code is the peer's choice: a RemotePeerError, never taken for one of this node's own. Its text is
    // the peer's, not one this build left out: a page's production build says the code and the reason alone.
    const code = bye?.code ?? NODE_ERROR_CODES.PROTOCOL_VIOLATION;
    const error = new RemotePeerError(
      code,
      ERROR_TEXTS ? bye === null ? "The peer closed the connection with a malformed reason." : `The peer closed the connection: ${bye.reason}` : bye === null ? [] : `${code}: ${bye.reason}`,
    );
    // A bye is the peer's word on why it leaves; do not answer it with another.
    this.#closeError ??= error;
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    this.#outbox.close(this.closedError());
    this.#closeConnection();
  }

  #violation(what: ErrorText): PlaygroundError {
    return sessionViolation(this.peerId ?? this.connection.remoteAddress, what);
  }

  /**
   * The peer closed and every frame it sent has been handed over, even to a
   * paused connection (the transport's rule): what the reader still holds
   * for a later turn is read now (`BundleReader.finish`, within its budget
   * of `FINISH_SLICES` slices), so the peer's last messages reach the
   * handlers and its goodbye gives the reason of its leaving; then the
   * session ends, in this turn. Nothing waits for a later one. While another
   * hold than the reader's is on (the disk's for file chunks, a congested
   * next hop's), what the reader holds is not read but dropped and counted
   * (`stats.droppedLastMessages`); the last envelope is still looked at for
   * a goodbye. A close by this side ends on `closed`, as before.
   */
  #onLastFrame(info: CloseInfo): void {
    if (this.#ended || info.initiator !== "remote") return;
    const reader = this.#reader;
    const last = reader.finish(this.#readHolds > (reader.holdsPeer ? 1 : 0));
    // Envelopes left unread (past the budget, or behind one whose work goes on): the last may be the peer's goodbye.
    if (last !== undefined) {
      let read: ReturnType<SessionHost["codec"]["read"]> | undefined;
      if (this.#closeError === undefined) {
        try {
          read = this.#host.codec.read(last, 0, last.length, this.#link);
        } catch {
          // Not a readable envelope: the connection closed without a goodbye we can read.
        }
      }
      // Outside the try: a fault in handling a goodbye is not taken for an unreadable one.
      if (read !== undefined && read.kind === KIND_BYE && read.source === this.#hello?.peerId) this.#onBye(read.payload);
      else this.#host.unread?.(1);
    }
    this.#onClosed(info);
  }

  #onClosed(info: CloseInfo): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#draining);
    this.#draining = undefined;
    const wasOpen = this.#phase === "open";
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    this.#outbox.close(this.closedError());
    let error = this.#closeError ?? info.error;
    // A transport that broke its contract (a secure channel's link whose close threw) is reported even behind this side's own reason.
    if (MISUSE_CHECKS && error !== info.error && isXppgError(info.error, TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN)) this.#host.report(info.error, this.peerId);
    if (error === undefined && wasOpen && info.initiator === "remote") error = peerGoneError(this.peerId!);
    // No-op when the handshake had completed: a settled promise stays settled.
    this.#readyReject(error ?? closedInHandshakeError(this.connection.remoteAddress));
    this.#host.ended(this, error);
  }
}

/**
 * Whether both hellos offer lean/1. It reaches the link (`lean`) at the
 * peer's welcome, not at admission (only in Node, `LEAN`): compact
 * envelopes are read and written from there on (the peer's welcome comes
 * before its first one, on a connection that opens here or one that drains
 * as a duplicate), and a compact welcome or bye is refused.
 */
function leanSettled(offer: readonly string[], own: readonly string[]): boolean {
  return offer.includes(LEAN_CAPABILITY) && own.includes(LEAN_CAPABILITY);
}
