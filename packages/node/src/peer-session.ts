import type { Connection, CloseInfo } from "@xppg/transport";
import { isXppgError, type XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, type Envelope, type EnvelopeCodec } from "@xppg/framing";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { KIND, parseBye, parseHello, type Bye, type Hello } from "./protocol.js";
import { TokenBucket } from "./token-bucket.js";

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly localPeerId: string;
  readonly codec: EnvelopeCodec;
  /** The hello this node sends. */
  hello(): Hello;
  nextMessageId(): number;
  /** Decides whether to accept the peer; returns a refusal, or null to accept. */
  admit(session: PeerSession, hello: Hello): Bye | null;
  /** An envelope from an accepted peer, source already checked. */
  deliver(session: PeerSession, envelope: Envelope): void;
  /** Both sides accepted each other: the session is open. */
  opened(session: PeerSession): void;
  /** The session ended (after `admit` accepted it or not). */
  ended(session: PeerSession, error: XppgError | undefined): void;
}

/** Limits a session enforces. */
export interface SessionLimits {
  handshakeTimeoutMs: number;
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  byteBurst: number;
}

/**
 * handshaking: waiting for the peer's hello. admitted: we accepted the peer
 * and sent our welcome; waiting for its welcome (or its refusal). open: both
 * sides accepted.
 */
type Phase = "handshaking" | "admitted" | "open" | "closed";

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
  #closeError: XppgError | undefined;
  #readyResolve!: () => void;
  #readyReject!: (error: XppgError) => void;
  /** Set on every frame received; the heartbeat clears it. */
  receivedSinceTick = true;
  /** Set on every frame sent; the heartbeat clears it. */
  sentSinceTick = true;
  /** True once the session has been open (both sides accepted). */
  everOpened = false;
  /** Heartbeat ticks in a row with nothing received. */
  silentTicks = 0;
  /** Resolves when the handshake completes, rejects with why it did not. */
  readonly ready: Promise<void>;

  constructor(connection: Connection, host: SessionHost, limits: SessionLimits, authenticatedPeerId?: string) {
    this.connection = connection;
    this.authenticatedPeerId = authenticatedPeerId;
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
      this.fail(
        new PlaygroundError(
          NODE_ERROR_CODES.HANDSHAKE_TIMEOUT,
          `The peer at ${connection.remoteAddress} did not complete the handshake within ${limits.handshakeTimeoutMs} ms. ` +
            "Check that it runs an xppg node on that address and port.",
          { details: { address: connection.remoteAddress, timeoutMs: limits.handshakeTimeoutMs } },
        ),
      );
    }, limits.handshakeTimeoutMs);
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

  /** Sends pre-encoded envelope bytes. */
  sendBytes(bytes: Uint8Array): Promise<void> {
    this.sentSinceTick = true;
    return this.connection.send(bytes);
  }

  /** Encodes and sends a message from this node to this peer. */
  sendMessage(kind: string, payload: unknown): Promise<void> {
    return this.#sendEnvelope(kind, payload, this.#hello?.peerId ?? null);
  }

  #sendEnvelope(kind: string, payload: unknown, destination: string | null): Promise<void> {
    const bytes = this.#host.codec.encode({
      version: ENVELOPE_VERSION,
      kind,
      source: this.#host.localPeerId,
      destination,
      id: this.#host.nextMessageId(),
      hopLimit: 0,
      payload,
    });
    return this.sendBytes(bytes).catch(() => {
      // A send on a closing connection fails; `closed` reports why.
    });
  }

  /**
   * Ends the session: tells the peer why (a bye), flushes, closes. The error
   * is what both sides report; none means a clean close.
   */
  close(error?: XppgError): void {
    if (this.#phase === "closed") return;
    this.#closeError ??= error;
    if (error !== undefined) {
      this.#sendEnvelope(KIND.BYE, { code: error.code, reason: error.message } satisfies Bye, null);
    }
    this.#phase = "closed";
    clearTimeout(this.#handshakeTimer);
    void this.connection.close();
  }

  /** Drops the peer at once for breaking a rule; the error is reported to both sides. */
  fail(error: XppgError): void {
    this.close(error);
  }

  #onFrame(data: Uint8Array): void {
    if (this.#phase === "closed") return;
    this.receivedSinceTick = true;
    if (this.#bucket !== undefined && !this.#bucket.take()) {
      this.fail(
        new PlaygroundError(
          NODE_ERROR_CODES.RATE_LIMITED,
          `The peer ${this.peerId ?? this.connection.remoteAddress} sent more than ${this.#bucket.rate} messages a second ` +
            `(burst ${this.#bucket.burst}); it is disconnected. Raise limits.messagesPerSecond if this traffic is expected.`,
          { details: { rate: this.#bucket.rate, burst: this.#bucket.burst } },
        ),
      );
      return;
    }
    if (this.#byteBucket !== undefined && !this.#byteBucket.take(data.byteLength)) {
      this.fail(
        new PlaygroundError(
          NODE_ERROR_CODES.RATE_LIMITED,
          `The peer ${this.peerId ?? this.connection.remoteAddress} sent more than ${this.#byteBucket.rate} bytes a second ` +
            `(burst ${this.#byteBucket.burst}); it is disconnected. Raise limits.bytesPerSecond if this traffic is expected.`,
          { details: { bytesPerSecond: this.#byteBucket.rate, burst: this.#byteBucket.burst } },
        ),
      );
      return;
    }
    let envelope: Envelope;
    try {
      envelope = this.#host.codec.decode(data);
    } catch (error) {
      this.fail(error as XppgError);
      return;
    }
    if (this.#phase === "handshaking") {
      this.#onHandshakeEnvelope(envelope);
      return;
    }
    if (this.#phase === "admitted") {
      if (envelope.kind === KIND.BYE) this.#onBye(envelope.payload);
      else if (envelope.kind !== KIND.WELCOME) this.fail(this.#violation(`it sent "${envelope.kind}" before its welcome`));
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
      this.fail(this.#violation(`a message claims to come from ${envelope.source}, not from the peer itself`));
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
        this.fail(this.#violation(`it sent a second ${envelope.kind}`));
        return;
    }
    try {
      this.#host.deliver(this, envelope);
    } catch (error) {
      // `deliver` rejects bad control messages by throwing a typed error.
      this.fail(isXppgError(error) ? error : this.#violation(String(error)));
    }
  }

  #onHandshakeEnvelope(envelope: Envelope): void {
    if (envelope.kind === KIND.BYE) {
      this.#onBye(envelope.payload);
      return;
    }
    if (envelope.kind !== KIND.HELLO) {
      this.fail(this.#violation(`its first message was "${envelope.kind}", not a hello`));
      return;
    }
    const hello = parseHello(envelope.payload);
    if (typeof hello === "string") {
      this.fail(this.#violation(hello));
      return;
    }
    if (hello.peerId !== envelope.source) {
      this.fail(this.#violation("the hello's peer id differs from its envelope source"));
      return;
    }
    this.#hello = hello;
    const refusal = this.#host.admit(this, hello);
    if (refusal !== null) {
      this.fail(new PlaygroundError(refusal.code as never, refusal.reason));
      return;
    }
    this.#phase = "admitted";
    void this.#sendEnvelope(KIND.WELCOME, null, hello.peerId);
  }

  #onBye(payload: unknown): void {
    const bye = parseBye(payload);
    const error = new PlaygroundError(
      (bye?.code ?? NODE_ERROR_CODES.PROTOCOL_VIOLATION) as never,
      bye === null ? "The peer closed the connection with a malformed reason." : `The peer closed the connection: ${bye.reason}`,
      { details: { remote: true } },
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
