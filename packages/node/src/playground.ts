import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { join as joinPath } from "node:path";
import { isXppgError, toError, type XppgError } from "@xppg/errors";
import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_PAYLOAD_DEPTH, ENVELOPE_VERSION, EnvelopeCodec, MAX_KIND_LENGTH, type Envelope } from "@xppg/framing";
import { NOISE_MAX_MESSAGE_SIZE, generateIdentity, isIdentity, publicKeyFromPeerId, secureConnection, verifySignature, type Identity } from "@xppg/secure";
import { loadOrCreateIdentitySync } from "@xppg/secure/key-file";
import { SharedState } from "@xppg/state";
import { joinParts, type Connection, type Listener, type Transport } from "@xppg/transport";
import { NODE_ERROR_CODES, PlaygroundError, rateLimitedError } from "./errors.js";
import { AbuseGuard, hostOf, isStrike, type Ban } from "./abuse-guard.js";
import { FileTransfers, type ReceivedFile, type SharedFile } from "./file-transfer.js";
import { DEFAULTS, type NatResultLike, type PlaygroundOptions, type PortMapperLike, type StartOptions } from "./options.js";
import { BUNDLE_LENGTH_BYTES, PeerSession, type SessionHost } from "./peer-session.js";
import { KIND, PROTOCOL_VERSION, isReservedKind, parseText, type Bye, type Hello } from "./protocol.js";
import { StateSync } from "./state-sync.js";
import { TokenBucket } from "./token-bucket.js";
import { TypedEvents } from "./typed-events.js";

/** A connected peer. */
export interface PeerInfo {
  /** The peer's id. */
  readonly peerId: string;
  /** The address of the connection (for an inbound one, the peer's outgoing port). */
  readonly address: string;
  /** True when this node dialled the peer. */
  readonly outbound: boolean;
  /** The addresses the peer says it listens on. */
  readonly listenAddresses: readonly string[];
}

/**
 * Handles one kind of message. `src` is the sender's peer id. A handler that
 * throws (or rejects) is reported on `events` as an error; the peer stays.
 */
export type MessageHandler<P = any> = (src: string, kind: string, payload: P) => void | Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Lifecycle events, on `pg.events`; their names never collide with message kinds. */
export interface PlaygroundEvents {
  /** A peer completed the handshake. */
  "peer:joined": (peer: PeerInfo) => void;
  /** A peer left: `reason` is absent for a clean close, else why (timeout, limit, reset). */
  "peer:left": (peer: PeerInfo, reason: XppgError | undefined) => void;
  /**
   * Something went wrong that did not stop the node: a peer broke a rule and
   * was dropped, a handler threw, a file transfer failed. `peerId` names the
   * peer when there is one.
   */
  error: (error: XppgError, peerId: string | undefined) => void;
  /** A message of a kind with no handler arrived (it was ignored). */
  "message:unhandled": (src: string, kind: string) => void;
  /** A peer id or host was banned (by `ban`, or automatically after repeated violations). */
  "peer:banned": (ban: Ban) => void;
}

/** Counters of what the node refused. */
export interface PlaygroundStats {
  /** Broadcast messages dropped because their signature was missing or wrong. */
  forgedMessages: number;
  /** Peers disconnected for breaking a rule (a limit, the protocol, a signature). */
  droppedPeers: number;
  /** Connections refused because the peer id or host was banned or not allowed. */
  refusedConnections: number;
}

/** Options of `send`, `sendText`, `shareFile`, `pushState` and `requestState`. */
export interface SendOptions {
  /** The peer id to send to; omit to send to every connected peer. */
  to?: string | undefined;
}

/** Options of `join`. */
export interface JoinOptions {
  /**
   * Give up after this long (dial and handshake together).
   * @default 10000
   */
  timeoutMs?: number;
  /** Abort the join. */
  signal?: AbortSignal;
  /**
   * The peer id you expect. If another key answers, the join fails with
   * `XPPG_ERR_PEER_ID_MISMATCH` (a man in the middle, or the wrong address).
   * With `dangerouslyDisableEncryption` the peer's hello must claim this id;
   * nothing is proved, so that only catches a wrong address.
   */
  peerId?: string;
}

/** Domain separation for broadcast signatures, so they can never be taken for another signed thing. */
const BROADCAST_SIGNATURE_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");

const AGENT = "xppg/0.1";
/** Broadcast ids remembered per node for replay detection. */
const SEEN_BROADCASTS = 8192;
/** Extra wait beyond the mapper's own time bound before `start` gives up on it. */
const OPEN_PORT_GRACE_MS = 500;
const MAX_ID = Number.MAX_SAFE_INTEGER;

/**
 * One peer-to-peer node: it listens, joins other nodes, and exchanges
 * messages, state and files with them.
 *
 * ```ts
 * const pg = new Playground("my-first-chat", { port: 7337 });
 * await pg.start();
 * pg.on("text", (src, _kind, payload) => console.log(`[${src}] ${payload.text}`));
 * await pg.join("192.168.1.42", 7337);
 * await pg.sendText("hello");
 * ```
 */
export class Playground {
  /** The app (protocol namespace): only peers with the same app name are accepted. */
  readonly appName: string;
  /** This node's id, sent to every peer. */
  readonly peerId: string;
  /** The replicated key/value state, kept in sync with the peers. */
  readonly state: SharedState;
  /** Lifecycle events: `peer:joined`, `peer:left`, `error`, `message:unhandled`. */
  readonly events: TypedEvents<PlaygroundEvents>;

  readonly #options: PlaygroundOptions;
  readonly #codec: EnvelopeCodec;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #sessions = new Set<PeerSession>();
  /** Sessions past the handshake, by peer id. */
  readonly #peers = new Map<string, PeerSession>();
  /** Sessions both sides accepted, by peer id: the ones messages go to. */
  readonly #open = new Map<string, PeerSession>();
  readonly #peerInfo = new Map<PeerSession, PeerInfo>();
  readonly #files: FileTransfers;
  readonly #stateSync: StateSync;
  #transports: Transport[] = [];
  #listeners: Listener[] = [];
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #nat: NatResultLike | null = null;
  #nextId: number;
  #phase: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  readonly #paused = new Set<PeerSession>();
  readonly #identity: Identity;
  readonly #encrypted: boolean;
  readonly #guard: AbuseGuard;
  readonly #publicKeys = new Map<string, Uint8Array>();
  /** Raw connections whose secure handshake is in flight (not yet sessions). */
  readonly #securing = new Set<Connection>();
  #reportingListenerError = false;
  /** Recent broadcasts (source and id), so a replayed one is dropped before its signature is checked again. */
  readonly #seenBroadcasts = new Map<string, true>();
  readonly #stats: PlaygroundStats = { forgedMessages: 0, droppedPeers: 0, refusedConnections: 0 };
  /** Peers whose `peer:joined` was emitted and whose `peer:left` was not. */
  readonly #announced = new Set<string>();
  readonly #sessionHost: SessionHost;

  constructor(appName: string, options: PlaygroundOptions = {}) {
    if (typeof appName !== "string" || appName.length === 0 || appName.length > 128) {
      throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, `appName must be a non-empty string of at most 128 characters, got ${JSON.stringify(appName)}.`);
    }
    this.appName = appName;
    this.#options = options;
    if (options.identity !== undefined && !isIdentity(options.identity)) {
      throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, "identity must come from generateIdentity() or loadOrCreateIdentity() of @xppg/secure.");
    }
    this.#identity = options.identity ?? (options.keyFile !== undefined ? loadOrCreateIdentitySync(options.keyFile) : generateIdentity());
    this.peerId = this.#identity.peerId;
    this.#encrypted = options.dangerouslyDisableEncryption !== true;
    this.events = new TypedEvents<PlaygroundEvents>((error) => {
      // An "error" listener that throws must not report its own failure forever.
      if (this.#reportingListenerError) return;
      this.#reportingListenerError = true;
      try {
        this.#report(asHandlerError(error, "an event listener"), undefined);
      } finally {
        this.#reportingListenerError = false;
      }
    });
    const limits = options.limits ?? {};
    this.#guard = new AbuseGuard({
      threshold: limits.banThreshold ?? DEFAULTS.banThreshold,
      windowMs: limits.strikeWindowMs ?? DEFAULTS.strikeWindowMs,
      durationMs: limits.banDurationMs ?? DEFAULTS.banDurationMs,
      allowPeers: options.allowPeers === undefined ? null : new Set(options.allowPeers),
    });
    this.#codec = new EnvelopeCodec({
      // A frame is a bundle of envelopes, each behind its length.
      maxSize: (limits.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE) - BUNDLE_LENGTH_BYTES,
      maxPayloadDepth: limits.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH,
    });
    this.#nextId = randomBytes(4).readUInt32BE(0);
    this.#sessionHost = {
      localPeerId: this.peerId,
      codec: this.#codec,
      hello: () => this.#hello(),
      nextMessageId: () => this.nextMessageId(),
      admit: (session, hello) => this.#admit(session, hello),
      opened: (session) => this.#opened(session),
      report: (error, peerId) => this.#report(error, peerId),
      deliver: (session, envelope) => this.#deliver(session, envelope),
      ended: (session, error) => this.#ended(session, error),
    };
    this.state = new SharedState({ replicaId: this.peerId });
    this.#stateSync = new StateSync(this.state, {
      broadcast: (kind, payload) => {
        for (const s of this.#open.values()) void s.sendMessage(kind, payload);
      },
      auto: options.autoSyncState ?? true,
      maxFrameSize: this.#codec.maxSize,
      report: (error, peerId) => this.#report(error, peerId),
    });
    // Per user, never a shared folder another local user could prepare (a symlink) for us.
    const dataHome = process.env.XDG_DATA_HOME || joinPath(homedir(), ".local", "share");
    const downloadDir = options.downloadDir ?? joinPath(dataHome, "xppg", "downloads", safeFolder(appName));
    this.#files = new FileTransfers({
      downloadDir,
      maxFrameSize: this.#codec.maxSize,
      maxFileSize: limits.maxFileSize ?? DEFAULTS.maxFileSize,
      maxIncomingPerPeer: limits.maxIncomingTransfersPerPeer ?? DEFAULTS.maxIncomingTransfersPerPeer,
      acceptFile: options.acceptFile ?? (() => true),
      delivered: (from, file) => this.#dispatch(from, KIND.FILE, file),
      failed: (error, from) => this.#report(error, from),
      setPaused: (session, paused) => {
        if (paused) {
          this.#paused.add(session);
          session.connection.pause();
        } else {
          this.#paused.delete(session);
          session.connection.resume();
        }
      },
    });
  }

  /** The bound port of the first listener (the real one when `port: 0` was asked); undefined before `start`. */
  get port(): number | undefined {
    return this.#listeners[0]?.port;
  }

  /** The addresses this node listens on. */
  get addresses(): string[] {
    return this.#listeners.map((l) => l.address);
  }

  /** The connected peers (handshake done). */
  get peers(): PeerInfo[] {
    return [...this.#open.values()].map((s) => this.#peerInfo.get(s)!);
  }

  /** True between a successful `start` and `stop`. */
  get running(): boolean {
    return this.#phase === "running";
  }

  /**
   * Starts listening. With `openPort`, also asks the router to forward the
   * port (UPnP), within a time bound; resolves with the result, or null when
   * not asked. Never rejects for a missing gateway.
   */
  async start(options: StartOptions = {}): Promise<NatResultLike | null> {
    if (this.#phase !== "new") {
      throw new PlaygroundError(NODE_ERROR_CODES.ALREADY_STARTED, `start() was already called on this node (it is ${this.#phase}). Create a new Playground to start again.`);
    }
    this.#phase = "starting";
    try {
      // Encrypted, the transport carries Noise records (at most 64 KiB each), whatever the message limit;
      // plain, it carries the bundles themselves.
      const frameLimit = this.#encrypted ? NOISE_MAX_MESSAGE_SIZE : this.#codec.maxSize + BUNDLE_LENGTH_BYTES;
      this.#transports = this.#options.transports ?? [await defaultTransport(frameLimit)];
      const listen = this.#options.listen ?? [tcpAddress(this.#options.host ?? DEFAULTS.host, this.#options.port ?? DEFAULTS.port)];
      for (const address of listen) {
        const transport = this.#transportFor(address, "listen");
        this.#listeners.push(await transport.listen(address, (conn) => this.#accept(conn)));
      }
    } catch (error) {
      await Promise.all(this.#listeners.map((l) => l.close().catch(() => {})));
      this.#listeners = [];
      this.#phase = "new";
      throw error;
    }
    const limits = this.#options.heartbeat ?? {};
    const interval = limits.intervalMs ?? DEFAULTS.heartbeatIntervalMs;
    const timeout = limits.timeoutMs ?? DEFAULTS.heartbeatTimeoutMs;
    this.#heartbeat = setInterval(() => this.#tick(interval, timeout), interval);
    this.#heartbeat.unref?.();
    this.#phase = "running";
    if (options.openPort === true && this.port !== undefined) {
      this.#nat = await this.#openPort(this.port, options.openPortTimeoutMs ?? DEFAULTS.openPortTimeoutMs);
      return this.#nat;
    }
    return null;
  }

  /**
   * Maps the port, never longer than `timeoutMs` (plus a grace for the
   * mapper's own bound) and never rejecting: a missing gateway, a mapper that
   * throws or hangs all give an unmapped result with the reason. A mapping
   * that succeeds after we stopped waiting is removed.
   */
  async #openPort(port: number, timeoutMs: number): Promise<NatResultLike> {
    const unmapped = (error: PlaygroundError): NatResultLike => ({ mapped: false, externalIp: null, externalPort: null, error, remove: async () => {} });
    let mapping: Promise<NatResultLike>;
    try {
      const mapper = this.#options.portMapper ?? (await defaultPortMapper());
      mapping = Promise.resolve(mapper.map({ internalPort: port, externalPort: port, protocol: "TCP", description: `xppg ${this.appName}`, timeoutMs }));
    } catch (cause) {
      mapping = Promise.reject(cause);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs + OPEN_PORT_GRACE_MS);
    });
    try {
      const result = await Promise.race([mapping, bound]);
      if (result !== "timeout") return result;
      void mapping.then((late) => late.remove()).catch(() => {});
      return unmapped(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, `The port mapper gave no answer within ${timeoutMs} ms; the node runs without a mapped port.`));
    } catch (cause) {
      return unmapped(
        new PlaygroundError(NODE_ERROR_CODES.PORT_MAPPING_FAILED, `Port mapping failed: ${toError(cause).message}. The node runs without a mapped port.`, { cause }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counters of what this node refused: forged broadcasts, peers dropped for abuse, refused connections. */
  get stats(): Readonly<PlaygroundStats> {
    return { ...this.#stats };
  }

  /**
   * Bans a peer id (or a host, as `"host:198.51.100.7"`) for `durationMs`
   * (default `limits.banDurationMs`; `Infinity` for good), disconnecting it.
   */
  ban(peerIdOrHost: string, options: { durationMs?: number; reason?: string } = {}): Ban {
    const key = banKey(peerIdOrHost);
    const ban = this.#guard.ban(key, options.durationMs ?? this.#options.limits?.banDurationMs ?? DEFAULTS.banDurationMs, options.reason ?? "banned by the operator");
    this.events.emit("peer:banned", ban);
    if (key.startsWith("peer:")) this.disconnect(key.slice(5), ban.reason);
    else for (const s of [...this.#sessions]) if (`host:${hostOf(s.connection.remoteAddress)}` === key) s.close(this.#bannedError(key, ban));
    return ban;
  }

  /** Lifts a ban; returns false when there was none. */
  unban(peerIdOrHost: string): boolean {
    return this.#guard.unban(banKey(peerIdOrHost));
  }

  /** The bans in force. */
  get bans(): Ban[] {
    return this.#guard.list();
  }

  /** True when a broadcast carries a valid signature by its source. */
  #verified(envelope: Envelope): boolean {
    if (envelope.signature === undefined || envelope.signedBytes === undefined) return false;
    let key = this.#publicKeys.get(envelope.source);
    if (key === undefined) {
      try {
        key = publicKeyFromPeerId(envelope.source);
      } catch {
        return false;
      }
      if (this.#publicKeys.size >= 4096) this.#publicKeys.clear();
      this.#publicKeys.set(envelope.source, key);
    }
    return verifySignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature);
  }

  /**
   * Disconnects one peer, telling it `reason` (it sees `XPPG_ERR_DISCONNECTED`).
   * Returns false when no such peer is connected. It may join again: use
   * `limits` or an allow-list to keep it out.
   */
  disconnect(peerId: string, reason = "disconnected by the other side"): boolean {
    const session = this.#peers.get(peerId);
    if (session === undefined) return false;
    session.close(new PlaygroundError(NODE_ERROR_CODES.DISCONNECTED, `${this.peerId} disconnected: ${String(reason).slice(0, 300)}`));
    return true;
  }

  /**
   * Connects to another node and completes the handshake. `host` may be a
   * host name or IP (with `port`, default 7337), or a full address such as
   * `"tcp://192.168.1.42:7337"` or `"ws://example.org:7338/xppg"`.
   * Resolves with the peer; rejects with a typed error that says why.
   */
  async join(host: string, port?: number, options: JoinOptions = {}): Promise<PeerInfo> {
    this.#assertRunning("join");
    const address = host.includes("://") ? host : tcpAddress(host, port ?? DEFAULTS.port);
    const transport = this.#transportFor(address);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const started = performance.now();
    if (options.peerId !== undefined) {
      const ban = this.#guard.banned(`peer:${options.peerId}`);
      if (ban !== undefined) throw this.#bannedError(`peer ${options.peerId}`, ban);
      // Already connected to that peer: nothing to dial.
      const open = this.#open.get(options.peerId);
      if (open !== undefined) return this.#peerInfo.get(open)!;
    }
    const conn = await transport.dial(address, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    const session = await this.#startSession(conn, options.peerId, timeoutMs);
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        session.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new PlaygroundError(NODE_ERROR_CODES.HANDSHAKE_TIMEOUT, `Joining ${address} took longer than ${timeoutMs} ms. Check that an xppg node runs there.`);
            session.close(error);
            reject(error);
          }, left);
        }),
      ]);
    } catch (error) {
      // Two connections raced and the other was kept: the peer is joined all the same.
      const peerId = session.peerId;
      if (isXppgError(error, NODE_ERROR_CODES.DUPLICATE_CONNECTION) && peerId !== undefined) {
        // The kept connection may still be finishing its own handshake.
        const kept = this.#open.get(peerId) ?? this.#peers.get(peerId);
        if (kept !== undefined && kept !== session) {
          await kept.ready;
          return this.#peerInfo.get(kept) ?? this.#infoOf(kept);
        }
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return this.#peerInfo.get(this.#open.get(session.peerId!) ?? session) ?? this.#infoOf(session);
  }

  /**
   * Registers a handler for one message kind; returns a function that removes
   * it. Received files arrive as kind `"file"` with payload
   * `{ name, size, sha256, path }`.
   */
  on<P = any>(kind: string, handler: MessageHandler<P>): () => void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (typeof kind !== "string" || kind.length === 0) throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, "on(kind, handler): kind must be a non-empty string.");
    if (typeof handler !== "function") throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, "on(kind, handler): handler must be a function (src, kind, payload) => void.");
    let set = this.#handlers.get(kind);
    if (set === undefined) this.#handlers.set(kind, (set = new Set()));
    set.add(handler as MessageHandler);
    return () => {
      set.delete(handler as MessageHandler);
    };
  }

  /**
   * Sends a message of your own kind to one peer (`{ to: peerId }`) or to
   * every connected peer. The payload is plain data; `Uint8Array` values
   * travel as raw bytes. Resolves once the transports have taken it (awaiting
   * it is the back-pressure); broadcasting to no peers resolves at once.
   */
  send(kind: string, payload: unknown, options: SendOptions = {}): Promise<void> {
    try {
      this.#assertRunning("send");
      if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_KIND_LENGTH) {
        throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, `A message kind must be a string of 1 to ${MAX_KIND_LENGTH} characters, got ${JSON.stringify(kind)}.`);
      }
      if (isReservedKind(kind)) {
        throw new PlaygroundError(NODE_ERROR_CODES.RESERVED_KIND, `The kind "${kind}" is reserved by xppg ("file" and kinds starting with "xppg/"). Choose another name.`);
      }
      return this.#sendUser(kind, payload, options.to);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #sendUser(kind: string, payload: unknown, to: string | undefined): Promise<void> {
    const envelope: Envelope = { version: ENVELOPE_VERSION, kind, source: this.peerId, destination: to ?? null, id: this.nextMessageId(), hopLimit: 0, payload };
    if (to !== undefined) {
      const session = this.#open.get(to);
      if (session === undefined) throw unknownPeerError(to);
      return session.sendEnvelope(envelope);
    }
    if (this.#open.size === 0) return Promise.resolve();
    // A broadcast may travel beyond one hop: it carries the origin's signature.
    const bytes = this.#encrypted ? this.#codec.encodeSigned(envelope, (b) => this.#identity.sign(joinParts([BROADCAST_SIGNATURE_PREFIX, b]))) : this.#codec.encode(envelope);
    if (this.#open.size === 1) {
      for (const s of this.#open.values()) return s.sendBytes(bytes);
    }
    const sends: Promise<void>[] = [];
    for (const s of this.#open.values()) sends.push(s.sendBytes(bytes));
    return Promise.all(sends).then(() => undefined);
  }

  /** Sends `{ text }` as a `"text"` message. */
  sendText(text: string, options: SendOptions = {}): Promise<void> {
    if (typeof text !== "string") return Promise.reject(new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, `sendText(text): text must be a string, got ${typeof text}.`));
    return this.send(KIND.TEXT, { text }, options);
  }

  /**
   * Streams a file to one peer or every peer, in chunks with a SHA-256 check.
   * Receivers get a `"file"` message `{ name, size, sha256, path }` once the
   * whole file is on their disk; a failed transfer leaves nothing under the
   * final name. Memory use does not grow with the file size.
   */
  async shareFile(path: string, options: SendOptions = {}): Promise<SharedFile> {
    this.#assertRunning("shareFile");
    return this.#files.send(path, this.#targets(options.to));
  }

  /** Sends the whole state to one peer or every peer (peers also sync on join and, by default, on every change). */
  async pushState(options: SendOptions = {}): Promise<void> {
    this.#assertRunning("pushState");
    await Promise.all(this.#targets(options.to).map((s) => this.#stateSync.push(s)));
  }

  /**
   * Asks one peer or every peer for its state and resolves once their
   * answers have been merged into `pg.state` (or after `timeoutMs`, default
   * 10 s, with `XPPG_ERR_TIMEOUT`).
   */
  async requestState(options: SendOptions & { timeoutMs?: number } = {}): Promise<void> {
    this.#assertRunning("requestState");
    await Promise.all(this.#targets(options.to).map((s) => this.#stateSync.request(s, options.timeoutMs ?? 10_000)));
  }

  /**
   * Leaves every peer (they see a clean shutdown), stops listening, removes
   * the port mapping and deletes partial downloads. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#phase === "stopped" || this.#phase === "stopping") return;
    this.#phase = "stopping";
    clearInterval(this.#heartbeat);
    await Promise.all(this.#listeners.map((l) => l.close().catch(() => {})));
    const shutdown = new PlaygroundError(NODE_ERROR_CODES.PEER_SHUTDOWN, `The peer ${this.peerId} is shutting down.`);
    // Handshakes still in flight end now, not at their timeout.
    for (const conn of this.#securing) void conn.close();
    const closing = [...this.#sessions].map((s) => {
      s.close(this.#peers.get(s.peerId ?? "") === s ? shutdown : undefined);
      return s.connection.closed;
    });
    await Promise.race([Promise.all(closing), delay(2000)]);
    await Promise.all([this.#files.close(), this.#nat?.remove().catch(() => {})]);
    this.#stateSync.close();
    this.#phase = "stopped";
  }

  // ---- internals -------------------------------------------------------

  /** @internal A fresh message id. */
  nextMessageId(): number {
    this.#nextId = this.#nextId >= MAX_ID ? 0 : this.#nextId + 1;
    return this.#nextId;
  }

  #targets(to: string | undefined): PeerSession[] {
    if (to === undefined) return [...this.#open.values()];
    const s = this.#open.get(to);
    if (s === undefined) throw unknownPeerError(to);
    return [s];
  }

  #assertRunning(what: string): void {
    if (this.#phase === "running") return;
    if (this.#phase === "stopping" || this.#phase === "stopped") throw this.#stoppedError(what);
    throw new PlaygroundError(NODE_ERROR_CODES.NOT_STARTED, `${what}() needs a started node: call \`await pg.start()\` first.`);
  }

  #stoppedError(what: string): PlaygroundError {
    return new PlaygroundError(NODE_ERROR_CODES.STOPPED, `${what}() cannot run: this node was stopped. Create a new Playground.`);
  }

  /** For dialling, the first transport that can dial the address; for listening, the one named by its scheme. */
  #transportFor(address: string, use: "dial" | "listen" = "dial"): Transport {
    const scheme = address.slice(0, Math.max(0, address.indexOf("://")));
    const t = this.#transports.find((tr) => (use === "dial" ? tr.canDial(address) : tr.name === scheme));
    if (t === undefined) {
      throw new PlaygroundError(
        NODE_ERROR_CODES.NO_TRANSPORT,
        `No transport of this node can use "${address}" (it has: ${this.#transports.map((tr) => tr.name).join(", ") || "none"}). Add one with the transports option.`,
      );
    }
    return t;
  }

  #accept(conn: Connection): void {
    if (this.#phase !== "running") {
      void conn.close();
      return;
    }
    const ban = this.#guard.banned(`host:${hostOf(conn.remoteAddress)}`);
    if (ban !== undefined) {
      // A banned host gets no handshake at all.
      this.#stats.refusedConnections++;
      void conn.close();
      return;
    }
    let pending = this.#securing.size;
    for (const s of this.#sessions) if (!s.isOpen) pending++;
    const max = this.#options.limits?.maxPendingHandshakes ?? DEFAULTS.maxPendingHandshakes;
    if (pending >= max) {
      // Too many half-open connections: shed load without spending a handshake on it.
      void conn.close();
      this.#report(new PlaygroundError(NODE_ERROR_CODES.TOO_MANY_PEERS, `Dropped a connection from ${conn.remoteAddress}: ${pending} handshakes are already pending (limits.maxPendingHandshakes).`), undefined);
      return;
    }
    this.#startSession(conn).catch((error: unknown) => {
      // An inbound handshake that failed: nobody else will hear of it.
      const e = isXppgError(error) ? error : asHandlerError(error, "the secure handshake");
      // No strike: before the handshake completes nobody is proved, and an on-path attacker could cause this.
      if (this.#phase === "running") this.#report(e, undefined);
    });
  }

  /**
   * Secures the connection (unless encryption is off), then starts the xppg
   * handshake on it. Rejects with the secure handshake's error; the
   * connection is closed by then.
   */
  async #startSession(conn: Connection, expectedPeerId?: string, timeoutMs?: number): Promise<PeerSession> {
    const limits = this.#options.limits ?? {};
    const handshakeTimeoutMs = Math.min(limits.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs, timeoutMs ?? Infinity);
    // One deadline for the secure and the xppg handshake together: a pending slot is held at most this long.
    const handshakeStartedAt = performance.now();
    let channel: Connection = conn;
    let authenticated: string | undefined;
    let tieBreak = "";
    if (this.#encrypted) {
      this.#securing.add(conn);
      try {
        const secure = await secureConnection(conn, {
          identity: this.#identity,
          handshakeTimeoutMs,
          maxFrameSize: this.#codec.maxSize + BUNDLE_LENGTH_BYTES,
          ...(expectedPeerId !== undefined ? { expectedPeerId } : {}),
        });
        channel = secure;
        authenticated = secure.remotePeerId;
        tieBreak = Buffer.from(secure.handshakeHash).toString("hex");
      } finally {
        this.#securing.delete(conn);
      }
    }
    if (this.#phase !== "running") {
      void channel.close();
      throw this.#stoppedError("join");
    }
    const session = new PeerSession(
      channel,
      this.#sessionHost,
      {
        handshakeTimeoutMs,
        handshakeStartedAt,
        messagesPerSecond: limits.messagesPerSecond ?? DEFAULTS.messagesPerSecond,
        messageBurst: limits.messageBurst ?? DEFAULTS.messageBurst,
        bytesPerSecond: limits.bytesPerSecond ?? DEFAULTS.bytesPerSecond,
        byteBurst: limits.byteBurst ?? DEFAULTS.byteBurst,
      },
      { authenticatedPeerId: authenticated, tieBreak, expectedPeerId },
    );
    const rate = limits.broadcastsPerSecond ?? DEFAULTS.broadcastsPerSecond;
    if (rate > 0 && Number.isFinite(rate)) session.broadcastBucket = new TokenBucket(rate, limits.broadcastBurst ?? DEFAULTS.broadcastBurst);
    this.#sessions.add(session);
    return session;
  }

  /** Records a violation against the peer id and host; bans them past the threshold. */
  #strike(peerId: string | undefined, address: string, error: XppgError): void {
    const keys = [`host:${hostOf(address)}`];
    if (peerId !== undefined) keys.unshift(`peer:${peerId}`);
    for (const ban of this.#guard.strike(keys, `${error.code}: ${error.message}`)) {
      this.events.emit("peer:banned", ban);
      if (ban.key.startsWith("peer:")) this.disconnect(ban.key.slice(5), ban.reason);
    }
  }

  #bannedError(who: string, ban: Ban): PlaygroundError {
    const until = ban.until === Infinity ? "for good" : `until ${new Date(ban.until).toISOString()}`;
    return new PlaygroundError(NODE_ERROR_CODES.BANNED, `The ${who} is banned ${until} (${ban.reason}). Use unban() to lift it.`, { details: { key: ban.key } });
  }

  #hello(): Hello {
    return { app: this.appName, protocol: PROTOCOL_VERSION, peerId: this.peerId, listen: this.addresses, agent: AGENT };
  }

  #admit(session: PeerSession, hello: Hello): Bye | null {
    // Encrypted, the secure handshake already refused another key; this also covers `dangerouslyDisableEncryption`.
    if (session.expectedPeerId !== undefined && hello.peerId !== session.expectedPeerId) {
      return {
        code: NODE_ERROR_CODES.PEER_ID_MISMATCH,
        reason:
          `peer id mismatch: the node at ${session.connection.remoteAddress} is ${hello.peerId}, but the join expected ${session.expectedPeerId}. ` +
          "Check the address and the peer id you join",
      };
    }
    if (hello.app !== this.appName) {
      return {
        code: NODE_ERROR_CODES.APP_MISMATCH,
        reason: `app mismatch: one side runs "${this.appName}", the other "${hello.app}". Peers talk only within the same appName.`,
      };
    }
    if (hello.protocol !== PROTOCOL_VERSION) {
      return {
        code: NODE_ERROR_CODES.PROTOCOL_MISMATCH,
        reason: `protocol mismatch: one side speaks xppg protocol ${PROTOCOL_VERSION}, the other ${hello.protocol}. Upgrade the older peer.`,
      };
    }
    if (session.authenticatedPeerId !== undefined && hello.peerId !== session.authenticatedPeerId) {
      return {
        code: NODE_ERROR_CODES.PROTOCOL_VIOLATION,
        reason: `the hello claims the id ${hello.peerId}, but the secure channel proved ${session.authenticatedPeerId}`,
      };
    }
    const ban = this.#guard.banned(`peer:${hello.peerId}`);
    if (ban !== undefined || !this.#guard.allowed(hello.peerId)) {
      this.#stats.refusedConnections++;
      return ban !== undefined
        ? { code: NODE_ERROR_CODES.BANNED, reason: `the peer ${hello.peerId} is banned by ${this.peerId}` }
        : { code: NODE_ERROR_CODES.NOT_ALLOWED, reason: `the peer ${hello.peerId} is not on ${this.peerId}'s allow-list` };
    }
    if (hello.peerId === this.peerId) {
      return { code: NODE_ERROR_CODES.SELF_CONNECTION, reason: `the node ${this.peerId} connected to itself. Join another node's address.` };
    }
    const existing = this.#peers.get(hello.peerId);
    if (existing !== undefined && existing !== session && existing.isClosed) {
      // A connection that is already going away never blocks a new one.
      this.#peers.delete(hello.peerId);
    } else if (existing !== undefined && existing !== session) {
      // Two connections to one peer (both dialled at once, or a re-join).
      // Both sides must keep the same one without talking: the one dialled
      // by the smaller peer id; if one side dialled both, the one whose
      // handshake hash (equal on both ends) is smaller.
      const dialer = (s: PeerSession): string => (s.connection.outbound ? this.peerId : hello.peerId);
      const preferred = this.peerId < hello.peerId ? this.peerId : hello.peerId;
      // One side dialled both: an established connection stays (a re-join must
      // not tear down a working link); two new ones are decided by the hash.
      const keepNew =
        dialer(session) !== dialer(existing)
          ? dialer(session) === preferred
          : !existing.everOpened && session.tieBreak !== "" && session.tieBreak < existing.tieBreak;
      const duplicate = { code: NODE_ERROR_CODES.DUPLICATE_CONNECTION, reason: `already connected to ${hello.peerId}; the other connection is kept` };
      if (!keepNew) return duplicate;
      this.#peers.delete(hello.peerId);
      existing.close(new PlaygroundError(NODE_ERROR_CODES.DUPLICATE_CONNECTION, duplicate.reason));
    } else if (this.#peers.size >= (this.#options.limits?.maxPeers ?? DEFAULTS.maxPeers)) {
      return { code: NODE_ERROR_CODES.TOO_MANY_PEERS, reason: `the node ${this.peerId} has reached its limit of ${this.#peers.size} peers. Try another node.` };
    }
    // Reserved now, so a racing second connection is seen as a duplicate;
    // listed in `peers` only once the peer's welcome arrives (`#opened`).
    this.#peers.set(hello.peerId, session);
    this.#peerInfo.set(session, this.#infoOf(session));
    return null;
  }

  #opened(session: PeerSession): void {
    const peerId = session.peerId!;
    if (this.#peers.get(peerId) !== session) return;
    this.#open.set(peerId, session);
    const known = this.#announced.has(peerId);
    this.#announced.add(peerId);
    // A connection that replaced another to the same peer is no new peer.
    if (!known) this.events.emit("peer:joined", this.#peerInfo.get(session)!);
    this.#stateSync.peerJoined(session);
  }

  #infoOf(session: PeerSession): PeerInfo {
    const hello = session.remoteHello!;
    return { peerId: hello.peerId, address: session.connection.remoteAddress, outbound: session.connection.outbound, listenAddresses: hello.listen };
  }

  #deliver(session: PeerSession, envelope: Envelope): void {
    const { kind } = envelope;
    if (envelope.destination !== null && envelope.destination !== this.peerId) {
      // No relaying yet: a message for someone else is a protocol error on a direct link.
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent a message for ${envelope.destination} to this node; it is disconnected.`);
    }
    if (isReservedKind(kind)) {
      if (kind === KIND.STATE || kind === KIND.STATE_REQUEST) return this.#stateSync.handle(session, kind, envelope.payload);
      if (kind.startsWith("xppg/file-")) return this.#files.handle(session, kind, envelope.payload);
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent the reserved kind "${kind}", which this node does not know. It is disconnected.`);
    }
    if (envelope.destination === null && this.#encrypted) {
      const bucket = session.broadcastBucket;
      if (bucket !== undefined && !bucket.take()) {
        throw rateLimitedError(session.peerId!, "signed broadcasts", bucket.rate, bucket.burst, "broadcastsPerSecond", ", or send to one peer with { to }");
      }
      // A replayed broadcast is dropped before its signature costs a verification again.
      const key = `${envelope.source}:${envelope.id}`;
      if (this.#seenBroadcasts.has(key)) return;
      if (this.#seenBroadcasts.size >= SEEN_BROADCASTS) this.#seenBroadcasts.delete(this.#seenBroadcasts.keys().next().value!);
      this.#seenBroadcasts.set(key, true);
    }
    if (envelope.destination === null && this.#encrypted && !this.#verified(envelope)) {
      this.#stats.forgedMessages++;
      const error = new PlaygroundError(
        NODE_ERROR_CODES.BAD_SIGNATURE,
        `Dropped a "${kind}" broadcast from ${envelope.source}: ${envelope.signature === undefined ? "it carries no signature" : "its signature does not match its content"}.`,
      );
      this.#report(error, session.peerId);
      this.#strike(session.authenticatedPeerId, session.connection.remoteAddress, error);
      return;
    }
    if (kind === KIND.TEXT && parseText(envelope.payload) === null) {
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent a "text" message without a text string. It is disconnected.`);
    }
    this.#dispatch(envelope.source, kind, envelope.payload);
  }

  #dispatch(src: string, kind: string, payload: unknown): void {
    const set = this.#handlers.get(kind);
    if (set === undefined || set.size === 0) {
      this.events.emit("message:unhandled", src, kind);
      return;
    }
    for (const handler of set) {
      try {
        const result = handler(src, kind, payload);
        if (result !== undefined && typeof (result as Promise<void>).then === "function") {
          (result as Promise<void>).catch((error: unknown) => this.#report(asHandlerError(error, `the "${kind}" handler`), src));
        }
      } catch (error) {
        this.#report(asHandlerError(error, `the "${kind}" handler`), src);
      }
    }
  }

  #ended(session: PeerSession, error: XppgError | undefined): void {
    this.#sessions.delete(session);
    this.#paused.delete(session);
    void this.#files.sessionEnded(session);
    this.#stateSync.peerLeft(session);
    const peerId = session.peerId;
    if (peerId !== undefined) {
      if (this.#open.get(peerId) === session) this.#open.delete(peerId);
      // Still the registered session: the peer is gone (not replaced by another connection).
      if (this.#peers.get(peerId) === session) {
        this.#peers.delete(peerId);
        if (this.#announced.delete(peerId)) this.events.emit("peer:left", this.#peerInfo.get(session)!, error);
      }
    }
    this.#peerInfo.delete(session);
    // Report misbehaviour once; a clean leave, a duplicate or our own shutdown
    // is no error, and a failed join is reported to its caller, not here.
    const failedJoin = session.connection.outbound && !session.everOpened;
    // A violation this node detected (not the peer's own word in a bye) is a strike.
    if (error !== undefined && error.details?.remote !== true && isStrike(error.code)) {
      this.#stats.droppedPeers++;
      // Without encryption a peer id is only claimed: strike the host alone, or anyone could get any id banned.
      this.#strike(session.authenticatedPeerId, session.connection.remoteAddress, error);
    }
    if (error !== undefined && !isQuietClose(error) && !failedJoin && this.#phase === "running") {
      this.#report(error, peerId);
    }
  }

  #tick(intervalMs: number, timeoutMs: number): void {
    for (const s of this.#sessions) {
      if (!s.isOpen) continue;
      if (s.receivedSinceTick || this.#paused.has(s)) {
        s.receivedSinceTick = false;
        s.silentTicks = 0;
      } else if (++s.silentTicks * intervalMs >= timeoutMs) {
        s.close(new PlaygroundError(NODE_ERROR_CODES.PEER_TIMEOUT, `The peer ${s.peerId} sent nothing for ${timeoutMs} ms; it is considered gone.`));
        continue;
      }
      if (!s.sentSinceTick) void s.sendMessage(KIND.PING, null);
      s.sentSinceTick = false;
    }
  }

  #report(error: XppgError, peerId: string | undefined): void {
    this.events.emit("error", error, peerId);
  }
}

function isQuietClose(error: XppgError): boolean {
  return (
    error.code === NODE_ERROR_CODES.DUPLICATE_CONNECTION ||
    error.code === NODE_ERROR_CODES.PEER_SHUTDOWN ||
    error.code === NODE_ERROR_CODES.PEER_GONE ||
    error.code === NODE_ERROR_CODES.DISCONNECTED
  );
}

/** The ban-list key of `ban`/`unban`'s argument: `host:...` and `peer:...` as given, a bare peer id as `peer:<id>`. */
function banKey(peerIdOrHost: string): string {
  return peerIdOrHost.startsWith("host:") || peerIdOrHost.startsWith("peer:") ? peerIdOrHost : `peer:${peerIdOrHost}`;
}

function unknownPeerError(peerId: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.UNKNOWN_PEER, `No connected peer has the id "${peerId}". Check pg.peers, or join it first.`, { details: { peerId } });
}

function asHandlerError(error: unknown, where: string): XppgError {
  if (isXppgError(error)) return error;
  const e = toError(error);
  return new PlaygroundError(NODE_ERROR_CODES.HANDLER_FAILED, `${where} threw: ${e.message}. The node carries on; fix the handler.`, { cause: e });
}

function tcpAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

function safeFolder(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 64) || "app";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

async function defaultTransport(maxFrameSize: number): Promise<Transport> {
  const { tcpTransport } = await import("@xppg/transport-tcp");
  return tcpTransport({ maxFrameSize });
}

/** `@xppg/nat`'s UPnP mapper, loaded only when a port is to be opened. */
async function defaultPortMapper(): Promise<PortMapperLike> {
  const { upnpPortMapper } = await import("@xppg/nat");
  return upnpPortMapper;
}

export type { Ban, ReceivedFile, SharedFile };
