import { ENVELOPE_VERSION, type Envelope } from "@xppg/framing";
import { NOISE_MAX_MESSAGE_SIZE } from "@xppg/secure";
import type { PeerCandidate } from "@xppg/discovery";
import type { SharedState } from "@xppg/state";
import type { Ban } from "./abuse-guard.js";
import { checkFunction, checkSignal, checkString, invalidArgument, show } from "./argument-checks.js";
import { banKey } from "./bans.js";
import { abortError, checkBanOptions, checkJoinArgs, checkKind, checkRequestOptions, checkSendKind, checkStartOptions, checkTarget, checkTargetQuickly, passedKind, raceAbort } from "./call-checks.js";
import { defaultPortMapper, defaultTransport } from "#defaults";
import { memberForApplication, INLINE_SEND_CHECKS, KEEPS_LAST_TARGET } from "#host";
import type { ConnectionStatus } from "./connection-manager.js";
import type { MessageHandler } from "./dispatcher.js";
import type { MeshMember } from "./mesh/membership.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { SharedFile } from "./file-transfer.js";
import type { PlaygroundFiles, ShareFileOptions } from "./files-room.js";
import type { PlaygroundOptions, PortMappingResult, StartOptions } from "./options.js";
import type { ReachabilityStatus } from "./reachability.js";
import type { RelayStats } from "./relay-service.js";
import type { Connection } from "@xppg/transport";
import { BUNDLE_LENGTH_BYTES, type PeerSession } from "./peer-session.js";
import type { PeerInfo, PeerTable } from "./peer-table.js";
import type { OpenSessions } from "./open-sessions.js";
import type { HandlerOptions, JoinOptions, PlaygroundEvents, PlaygroundStats, RequestStateOptions, SendOptions, SubscribeOptions } from "./playground-types.js";
import { checkHandle, checkRequest, type RequestOptions } from "./request-checks.js";
import type { RequestHandler } from "./request-room.js";
import { KIND_TEXT, type Hello } from "./protocol.js";
import { randomFill } from "#next-turn";
import { resolveOptions, type ResolvedOptions } from "./resolved-options.js";
import { nodeEvents, stopRooms, wireRooms, type Rooms } from "./rooms.js";
import type { TopicsView } from "./topic-room.js";
import type { TypedEvents } from "./typed-events.js";
import { ERROR_TEXTS } from "@xppg/errors";

const AGENT = "xppg/0.1";
const MAX_ID = Number.MAX_SAFE_INTEGER;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * One peer-to-peer node: it listens, joins other nodes, and exchanges
 * messages, state and files with them. A facade: each job is a room of its
 * own (INTERNALS.md, "Where things live"); this class wires them and checks
 * what the application passes in.
 *
 * ```ts
 * const pg = new Playground("my-first-chat", { port: 7337 });
 * await pg.start();
 * pg.on<{ text: string }>("text", (src, _kind, payload) => console.log(`[${src}] ${payload.text}`));
 * await pg.join("192.168.1.42", 7337);
 * await pg.sendText("hello");
 * ```
 */
export class Playground {
  /** The app (protocol namespace): only peers with the same app name are accepted. */
  readonly appName: string;
  /** This node's id, sent to every peer. */
  readonly peerId: string;
  /** The replicated key/value state, kept in sync with the peers (`options.state`, else a new `SharedState`). */
  readonly state: SharedState;
  /** Lifecycle events: `peer:joined`, `peer:left`, `error`, `message:unhandled`, `peer:banned`. */
  readonly events: TypedEvents<PlaygroundEvents>;

  readonly #o: ResolvedOptions;
  readonly #r: Rooms;
  /** Held directly, not through `#r`: the send path reads them per message. */
  readonly #open: Map<string, PeerSession>;
  readonly #table: PeerTable;
  readonly #stats: PlaygroundStats = { forgedMessages: 0, replayedBroadcasts: 0, unverifiedBroadcasts: 0, droppedLastMessages: 0, droppedPeers: 0, refusedConnections: 0, forwardedBroadcasts: 0, duplicateBroadcasts: 0, droppedBroadcasts: 0, meshGrafts: 0, meshPrunes: 0, pulledBroadcasts: 0, announcedBroadcasts: 0, lateBroadcasts: 0, forwardedUnicasts: 0, droppedUnicasts: 0, heldUnicasts: 0, overfullRoutedChannels: 0 };
  #nat: PortMappingResult | null = null;
  #starting: Promise<unknown> | undefined;
  /** The stop under way or done: a second `stop()` waits for it too. */
  #stopping: Promise<void> | undefined;
  #nextId = randomFill(new Uint32Array(1))[0]!;
  #phase: "new" | "starting" | "running" | "stopping" | "stopped" = "new";

  /**
   * @param appName your protocol's namespace (1 to 128 characters).
   * @param options the options, or just the TCP port to listen on (`new Playground("app", 7444)`).
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a bad argument or an unknown option, with the right call.
   */
  constructor(appName: string, options?: PlaygroundOptions);
  constructor(appName: string, port: number, options?: Omit<PlaygroundOptions, "port">);
  constructor(appName: string, optionsOrPort?: PlaygroundOptions | number, more?: Omit<PlaygroundOptions, "port">) {
    const o = (this.#o = resolveOptions(appName, optionsOrPort, more));
    this.appName = o.appName;
    this.peerId = o.identity.peerId;
    this.events = nodeEvents();
    const r = (this.#r = wireRooms(o, {
      events: this.events,
      stats: this.#stats,
      running: () => this.#phase === "running",
      hello: () => this.#hello(),
      nextMessageId: () => this.#nextMessageId(),
      announcePort: () => (this.#nat?.mapped === true ? this.#nat.externalPort : this.port),
    }));
    this.state = r.state;
    this.#table = r.table;
    this.#open = r.table.open;
  }

  /**
   * The one-call start: a node on a free port (`port: 0` unless given), LAN
   * discovery on (nodes of the same app on the local network join each
   * other), and the port opened on the router where UPnP allows it.
   * Resolves with the started node; its peers arrive as `peer:joined` events.
   *
   * ```ts
   * const pg = await Playground.quickStart("my-app");
   * pg.events.on("peer:joined", (peer) => console.log("joined", peer.peerId));
   * ```
   */
  static async quickStart(appName: string, options: PlaygroundOptions = {}, start: StartOptions = {}): Promise<Playground> {
    const pg = new Playground(appName, { port: 0, discovery: { lan: true }, ...options });
    try {
      await pg.start({ openPort: true, ...start });
    } catch (error) {
      await pg.stop();
      throw error;
    }
    return pg;
  }

  /** True when this peer was found (and joined) through LAN discovery. */
  foundOnLan(peerId: string): boolean {
    return this.#r.discovery.found(peerId);
  }

  /** The LAN discovery's current candidates (empty when it is off). */
  get lanCandidates(): readonly PeerCandidate[] {
    return this.#r.discovery.candidates;
  }

  /** Joins the nodes of a topic across the internet (BitTorrent DHT, `@xppg/dht`; settings in `discovery.dht`). */
  joinTopic(topic: string): Promise<void> {
    return this.#r.topics.join(topic);
  }

  /** Leaves a topic; others stop finding this node once its announcement expires. */
  leaveTopic(topic: string): Promise<void> {
    return this.#r.topics.leave(topic);
  }

  /** Finds a peer by its id again (its signed DHT record, published while it is in a topic) and joins it. */
  findPeer(peerId: string): Promise<PeerInfo> {
    return this.#r.topics.findPeer(peerId);
  }

  /** The topics joined, their candidates and the DHT's counters. */
  get topics(): TopicsView {
    return this.#r.topics.view;
  }

  /** The bound port of the first listener (the real one when `port: 0` was asked); undefined before `start`. */
  get port(): number | undefined {
    return this.#r.transports.port;
  }

  /** The addresses this node listens on. */
  get addresses(): string[] {
    return this.#r.transports.addresses;
  }

  /** The connected peers (handshake done), each with the `path` its messages take (`direct`, `punched`, `relayed`). */
  get peers(): PeerInfo[] {
    return [...this.#table.open.values()].map((s) => ({ ...this.#table.infoOf(s), path: this.#r.reach.pathOf(s) }));
  }

  /**
   * How this node can be reached (`kind`: `public`, `port-mapped`,
   * `behind-nat`, `relayed-only` or `unknown`), from what other nodes observe
   * and their dial-backs; `advertised` lists the addresses to give others,
   * relayed ones included; `relay` counts what the relay this node serves
   * carries (`reach.serveRelay`). `reachability:changed` fires when `kind` changes.
   */
  get reachability(): ReachabilityStatus & { readonly advertised: string[]; readonly relay: Readonly<RelayStats> | undefined } {
    const relay = this.#r.reach.relayService?.stats;
    return { ...this.#r.reach.reachability.status(), advertised: this.#r.reach.advertisedAddresses(), relay: relay && { ...relay } };
  }

  /**
   * Every other node of the mesh this node has heard from: neighbours
   * (`hops: 1`) and nodes reached through others, with the neighbour a
   * message to each goes through (`via`) and the addresses it announced.
   */
  get meshPeers(): MeshMember[] {
    return this.#r.mesh.members().map(memberForApplication);
  }

  /** Files by content id, downloaded from every peer that has them (`share`, `download`; capability `files/2`). */
  get files(): PlaygroundFiles {
    return this.#r.swarmFiles.api;
  }

  /** The connection manager (`connections` option): water marks, links open, peers known, dials made. */
  get connections(): ConnectionStatus { return this.#r.connections.status; }
  /** True between a successful `start` and `stop`. */
  get running(): boolean {
    return this.#phase === "running";
  }

  /** Counters of what this node refused: forged broadcasts, peers dropped for abuse, refused connections. */
  get stats(): Readonly<PlaygroundStats> {
    return { ...this.#stats };
  }

  /** The bans in force. */
  get bans(): Ban[] {
    return this.#r.guard.list();
  }

  /**
   * Starts listening. With `openPort`, also asks the router to forward the
   * port (UPnP), within a time bound; resolves with the result, or null when
   * not asked. Never rejects for a missing gateway. `signal` aborts the start.
   */
  async start(options: StartOptions = {}): Promise<PortMappingResult | null> {
    const { openPort: wantPort, openPortTimeoutMs, signal } = checkStartOptions(options);
    if (this.#phase !== "new") {
      throw new PlaygroundError(NODE_ERROR_CODES.ALREADY_STARTED, ERROR_TEXTS ? `start() was already called on this node (it is ${this.#phase}). Create a new Playground to start again.` : [this.#phase]);
    }
    if (signal?.aborted) throw abortError("start", signal);
    this.#phase = "starting";
    // Kept so that a stop() meanwhile resolves only once this start has closed what it opened.
    return await (this.#starting = this.#start(wantPort, openPortTimeoutMs, signal));
  }

  async #start(wantPort: boolean, openPortTimeoutMs: number, signal: AbortSignal | undefined): Promise<PortMappingResult | null> {
    try {
      // Encrypted, the transport carries Noise records (at most 64 KiB each), whatever the message limit;
      // plain, it carries the bundles themselves.
      const frameLimit = this.#o.encrypted ? NOISE_MAX_MESSAGE_SIZE : this.#r.codec.maxSize + BUNDLE_LENGTH_BYTES;
      const base = this.#o.transports ?? [await defaultTransport(frameLimit)];
      const transports = [...base, ...(await this.#r.reach.transports(base))];
      const accept = (conn: Connection): void => (this.#r.reach.inbound(conn.transport, conn.remoteHost), this.#r.gate.accept(conn));
      await this.#r.transports.listen(transports, this.#o.listen, accept, signal, this.#o.limits.maxPendingHandshakes);
    } catch (error) {
      // A stop that came meanwhile keeps its phase: the node does not start again.
      if (this.#phase === "starting") this.#phase = "new";
      throw error;
    }
    // stop() came while it listened: the stop closed the listeners it knew of, not those opened since.
    if (this.#stopCame()) {
      await this.#r.transports.close();
      throw stoppedWhileStarting();
    }
    this.#r.heartbeat.start(this.#table, this.#o.heartbeat.intervalMs, this.#o.heartbeat.timeoutMs);
    this.#phase = "running";
    await this.#r.reach.start();
    if (this.#stopCame()) {
      await this.#r.reach.close();
      throw stoppedWhileStarting();
    }
    await this.#r.discovery.start(this.port, signal);
    if (this.#stopCame()) {
      await this.#r.discovery.stop();
      throw stoppedWhileStarting();
    }
    if (wantPort !== true || this.port === undefined) return null;
    const { openPort } = await import("./port-mapping.js"); // loaded when asked for: a page never maps a port
    if (this.#stopCame()) throw stoppedWhileStarting();
    const nat = await openPort(async () => this.#o.portMapper ?? (await defaultPortMapper()), this.port, openPortTimeoutMs, `xppg ${this.appName}`);
    // The stop removed no mapping (there was none yet): one made since is removed here, not left on the router for its lease.
    if (this.#stopCame()) {
      await nat.remove().catch(() => {});
      throw stoppedWhileStarting();
    }
    this.#nat = nat;
    if (nat.mapped) this.#r.reach.reachability.mapped(`${nat.externalIp}:${nat.externalPort}`);
    return nat;
  }

  /**
   * Bans a peer id (or a host, as `"host:198.51.100.7"`) for `durationMs`
   * (default `limits.banDurationMs`; `Infinity` for good), disconnecting it.
   */
  ban(peerIdOrHost: string, options: { durationMs?: number; reason?: string } = {}): Ban {
    checkString(peerIdOrHost, "peerIdOrHost", "pg.ban(peerIdOrHost, options?)", ERROR_TEXTS ? 'pg.ban(peerId) or pg.ban("host:198.51.100.7")' : "", 512);
    const { durationMs, reason } = checkBanOptions(options);
    return this.#r.bans.ban(banKey(peerIdOrHost), durationMs ?? this.#o.limits.banDurationMs, reason ?? "banned by the operator");
  }

  /** Lifts a ban; returns false when there was none. */
  unban(peerIdOrHost: string): boolean {
    checkString(peerIdOrHost, "peerIdOrHost", "pg.unban(peerIdOrHost)", ERROR_TEXTS ? 'pg.unban(peerId) or pg.unban("host:198.51.100.7")' : "", 512);
    return this.#r.guard.unban(banKey(peerIdOrHost));
  }

  /**
   * Disconnects one peer, telling it `reason` (it sees `XPPG_ERR_DISCONNECTED`).
   * Returns false when no such peer is connected. It may join again: use
   * `limits` or an allow-list to keep it out.
   */
  disconnect(peerId: string, reason = "disconnected by the other side"): boolean {
    checkString(peerId, "peerId", "pg.disconnect(peerId, reason?)", ERROR_TEXTS ? 'pg.disconnect(peerId, "spamming")' : "", 512);
    if (typeof reason !== "string") throw invalidArgument("pg.disconnect(peerId, reason?)", ERROR_TEXTS ? `reason must be a string, got ${show(reason)}` : [show(reason)], ERROR_TEXTS ? 'pg.disconnect(peerId, "spamming")' : undefined);
    return this.#r.bans.disconnect(peerId, reason);
  }

  /**
   * Connects to another node and completes the handshake. `host` may be a
   * host name or IP (with `port`, default 7337), `"host:port"` in one string, or a full address such as
   * `"tcp://192.168.1.42:7337"` or `"ws://example.org:7338/xppg"`; options may
   * come second when there is no port. Resolves with the peer; rejects with a
   * typed error that says why.
   */
  async join(host: string, port?: number, options?: JoinOptions): Promise<PeerInfo>;
  async join(address: string, options?: JoinOptions): Promise<PeerInfo>;
  async join(host: string, portOrOptions?: number | JoinOptions, maybeOptions?: JoinOptions): Promise<PeerInfo> {
    const { address, timeoutMs = DEFAULT_TIMEOUT_MS, signal, peerId } = checkJoinArgs(host, portOrOptions, maybeOptions);
    this.#assertRunning("join");
    return this.#r.dialer.join({ address, timeoutMs, signal, peerId });
  }

  /**
   * Registers a handler for one message kind; returns a function that
   * removes it (so does aborting `signal`). `P` is the payload you expect:
   * the network guarantees nothing, so check it (the default is `unknown`).
   * Received files arrive as kind `"file"` with `{ name, size, sha256, path }`.
   * With `{ borrow: true }` the handler promises to keep none of the
   * payload's bytes once it returns, and the node may reuse their memory
   * for later messages (see {@link HandlerOptions.borrow}).
   */
  on<P = unknown>(kind: string, handler: MessageHandler<P>, options: HandlerOptions = {}): () => void {
    const call = "pg.on(kind, handler, options?)";
    checkKind(kind, call, ERROR_TEXTS ? 'pg.on("chat", (src, kind, payload) => { ... })' : "", false);
    checkFunction(handler, "handler", call, 'pg.on("chat", (src, kind, payload) => { ... })');
    const borrow = options?.borrow;
    if (borrow !== undefined && typeof borrow !== "boolean") {
      throw invalidArgument(call, ERROR_TEXTS ? `borrow must be true or false, got ${show(borrow)}` : [show(borrow)], ERROR_TEXTS ? 'pg.on("chunk", (src, kind, bytes) => { ... }, { borrow: true })' : undefined);
    }
    return this.#r.dispatcher.add(kind, handler as MessageHandler, checkSignal(options?.signal, call), borrow === true);
  }

  /**
   * Sends a message of your own kind to one peer (`{ to: peerId }`, or the
   * peer id itself: a neighbour, or a node of the mesh reached end to end
   * through others) or to every peer. The payload is plain data;
   * `Uint8Array` values travel as raw bytes; `"text"` must be `{ text: string }`.
   * Resolves once the transports have taken it (awaiting it is the
   * back-pressure); broadcasting to no peers resolves at once. A broadcast
   * waits at most `limits.maxBroadcastWaitMs` for a peer that is not reading,
   * and does not reject when a receiver leaves. A send to one peer rejects with
   * a typed code when its connection fails during a write made at once (a
   * tick's first message); a message written later (the tick's others, at its
   * end) can be lost after its send resolved: `peer:left` then carries the code.
   */
  send(kind: string, payload: unknown, options?: SendOptions | string): Promise<void> {
    try {
      const to = INLINE_SEND_CHECKS ? checkTargetQuickly(options, "pg.send(kind, payload, options?)") : checkTarget(options, "pg.send(kind, payload, options?)");
      // In Node the common case is checked here, not in a call (V8 does not inline every call of a send: each cost some ns).
      if (!INLINE_SEND_CHECKS || this.#phase !== "running") this.#assertRunning("send");
      if (!INLINE_SEND_CHECKS || kind !== passedKind) checkSendKind(kind, payload);
      if (to === undefined) return this.#broadcast(kind, payload);
      // To a neighbour (nearly every send): straight to its session, each check made once; a direct message's id is a counter.
      const session = KEEPS_LAST_TARGET ? (this.#open as OpenSessions).session(to) : this.#open.get(to);
      if (session !== undefined) return session.sendDirect(kind, payload, this.#nextMessageId());
      // Not a neighbour: end to end through the mesh (INTERNALS.md, "Routed unicast").
      return this.#r.routing.send(to, kind, payload);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #broadcast(kind: string, payload: unknown): Promise<void> {
    // A broadcast's id carries the time it was made (signed with it, for replay protection).
    const envelope: Envelope = { version: ENVELOPE_VERSION, kind, source: this.peerId, destination: null, id: this.#r.auth.nextBroadcastId(), hopLimit: 0, payload };
    if (this.#open.size === 0) return Promise.resolve();
    return this.#r.mesh.publish(envelope);
  }

  /**
   * Asks one peer, a neighbour or a node reached through the mesh, and
   * resolves with what its `pg.handle(kind)` handler returns. Rejects with
   * `XPPG_ERR_TIMEOUT` (also when it went out and the neighbour's connection
   * closed before the reply), `XPPG_ERR_NO_HANDLER`, `XPPG_ERR_REQUEST_FAILED`,
   * `XPPG_ERR_UNREACHABLE` (no route; a routed request's neighbour dropped),
   * `XPPG_ERR_CONNECTION_CLOSED` (the neighbour's connection closed while the
   * request still waited to go out), `XPPG_ERR_STOPPED` (this node stopped),
   * `XPPG_ERR_TOO_MANY_REQUESTS` or `XPPG_ERR_ABORTED`.
   */
  request<R = unknown>(kind: string, payload: unknown, options: RequestOptions): Promise<R> {
    try {
      const { to, timeoutMs, signal } = checkRequest(kind, options);
      this.#assertRunning("request");
      return this.#r.requests.request(to, kind, payload, timeoutMs, signal) as Promise<R>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Answers `pg.request`s of one kind with what `handler` returns (one handler per kind); returns the function that removes it. */
  handle<P = unknown, R = unknown>(kind: string, handler: RequestHandler<P, R>, options: SubscribeOptions = {}): () => void {
    const checked = checkHandle(kind, handler, options);
    return this.#r.requests.handle(checked.kind, handler as RequestHandler, checked.signal);
  }

  /** Sends `{ text }` as a `"text"` message, to every peer or to one (`pg.sendText("hi", peerId)` or `{ to: peerId }`). */
  sendText(text: string, options?: SendOptions | string): Promise<void> {
    if (typeof text !== "string") return Promise.reject(invalidArgument("pg.sendText(text, options?)", ERROR_TEXTS ? `text must be a string, got ${show(text)}` : [show(text)], ERROR_TEXTS ? 'pg.sendText("hello") or pg.sendText("hello", peerId)' : undefined));
    return this.send(KIND_TEXT, { text }, options);
  }

  /**
   * Streams a file to one peer or every peer, in chunks with a SHA-256 check.
   * Receivers get a `"file"` message `{ name, size, sha256, path }` once the
   * whole file is on their disk; a failed transfer leaves nothing under the
   * final name. Memory use does not grow with the file size. `signal` stops
   * the transfer (receivers discard what they got); `onProgress` hears how far they are.
   */
  async shareFile(path: string, options?: ShareFileOptions | string): Promise<SharedFile> {
    // Its arguments are checked by the files room (a page's refuses any call in words).
    return this.#r.swarmFiles.shareFile(path, options, (to) => (this.#assertRunning("shareFile"), this.#table.targets(to)));
  }

  /** Sends the whole state to one peer or every peer (peers also sync on join and, by default, on every change). */
  async pushState(options?: SendOptions | string): Promise<void> {
    const to = checkTarget(options, "pg.pushState(options?)");
    this.#assertRunning("pushState");
    await Promise.all(this.#table.targets(to).map((s) => this.#r.stateSync.push(s)));
  }

  /**
   * Asks one peer or every peer for its state and resolves once their
   * answers have been merged into `pg.state` (or after `timeoutMs`, default
   * 10 s, with `XPPG_ERR_TIMEOUT`; `signal` gives up sooner with `XPPG_ERR_ABORTED`).
   */
  async requestState(options?: RequestStateOptions | string): Promise<void> {
    const { to, timeoutMs = DEFAULT_TIMEOUT_MS, signal } = checkRequestOptions(options);
    this.#assertRunning("requestState");
    if (signal?.aborted) throw abortError("requestState", signal);
    await raceAbort(Promise.all(this.#table.targets(to).map((s) => this.#r.stateSync.request(s, timeoutMs))), signal, "requestState");
  }

  /**
   * Leaves every peer (they see a clean shutdown), stops listening, removes
   * the port mapping and deletes partial downloads. Idempotent. During
   * `start()`, it also waits for that start to close what it opened since
   * (a listener, a port mapping the router answers within `openPortTimeoutMs`);
   * `start()` then rejects with `XPPG_ERR_STOPPED`. A second call returns
   * once the first stop is done.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<void> {
    this.#phase = "stopping";
    const shutdown = new PlaygroundError(NODE_ERROR_CODES.PEER_SHUTDOWN, ERROR_TEXTS ? `The peer ${this.peerId} is shutting down.` : [this.peerId]);
    await stopRooms(this.#r, this.#table, shutdown, this.#nat ?? undefined);
    // A start() still running closes what it opened after the stop came (a listener, a port mapping): wait for it (its error is start()'s).
    await this.#starting?.catch(() => {});
    this.#phase = "stopped";
  }

  /** stop() was called (start() checks it after each of its waits). */
  #stopCame(): boolean {
    return this.#phase === "stopping" || this.#phase === "stopped";
  }

  /** `await using pg = new Playground(...)` stops the node when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #nextMessageId(): number {
    this.#nextId = this.#nextId >= MAX_ID ? 0 : this.#nextId + 1;
    return this.#nextId;
  }

  #assertRunning(what: string): void {
    if (this.#phase === "running") return;
    if (this.#phase === "stopping" || this.#phase === "stopped") {
      throw new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? `${what}() cannot run: this node was stopped. Create a new Playground.` : [what]);
    }
    throw new PlaygroundError(NODE_ERROR_CODES.NOT_STARTED, ERROR_TEXTS ? `${what}() needs a started node: call \`await pg.start()\` first.` : [what]);
  }

  #hello(): Hello {
    const { min, max, capabilities } = this.#o.offer;
    return { app: this.appName, protocol: min, versions: [min, max], caps: [...capabilities], peerId: this.peerId, listen: this.addresses, agent: AGENT, time: Date.now() };
  }
}

export type { Ban, PeerInfo };
export type { HandlerOptions, JoinOptions, MessageHandler, PlaygroundEvents, PlaygroundStats, RequestStateOptions, SendOptions, SubscribeOptions };

/** start() gave up: stop() was called before it was done. */
function stoppedWhileStarting(): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? "stop() was called while this node was starting: it was stopped and does not run. Create a new Playground to start again." : []);
}
