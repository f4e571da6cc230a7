/** The QuickChat facade: a chat room over one Playground, its lifecycle and its handlers; the parts live in their own modules. */

import { toError } from "@xppg/errors";
import { Playground, type PortMappingResult, type PeerInfo } from "@xppg/node";
import type { Identity } from "@xppg/secure";
import { parseChatAddress } from "./address.js";
import { checkPort, checkText, positiveInt } from "./argument-checks.js";
import { ChatHandlers } from "./chat-handlers.js";
import { chooseIdentity, chooseKeyFile, chooseName } from "./chat-identity.js";
import { parseChatPayload, parseNamePayload, parseTextPayload, type ChatLimits, type Parsed } from "./chat-message.js";
import { commandOf, runCommand, type ChatCommands } from "./chat-commands.js";
import { ChatTopics, type ChatTopic } from "./chat-topic.js";
import { CHAT_KIND, NAME_KIND, DEFAULT_CHAT_PORT, DEFAULT_OPEN_PORT_TIMEOUT_MS, DEFAULT_MAX_NAME_LENGTH, DEFAULT_MAX_TEXT_LENGTH, DEFAULT_QUIT_WORDS, TEXT_KIND } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError, stoppedError } from "./errors.js";
import { lockKeyFile } from "./key-lock.js";
import { chatDhtTopic, dhtJoinError, type ChatDhtOptions } from "./chat-dht.js";
import type { ChatMessageHandler, ChatMessageInfo, ChatErrorHandler, ChatPeer, QuickChatOptions, RunOptions } from "./options.js";
import { PeerNotices } from "./peer-notices.js";
import { startWithPortFallback } from "./port-fallback.js";
import { readLines } from "./read-lines.js";
import { connectError, malformedError } from "./reported-errors.js";
import { LineWriter, formatChatLine } from "./terminal.js";
import { tcpAndWebSocket } from "./web-socket-listen.js";

/**
 * A chat room in one line: a Playground that listens, joins peers and sends
 * each line you type to everyone in the same room.
 *
 * ```ts
 * const chat = new QuickChat("my-chat");
 * chat.onMessage((user, text) => console.log(`[${user}] ${text}`));
 * // chat.connect("192.168.1.42");
 * await chat.run();
 * ```
 *
 * The class prints nothing by itself; only `run()` writes to `output`.
 * A QuickChat runs once: after `stop()`, create a new one.
 */
export class QuickChat {
  /** The room: the Playground's app name. Peers in another room are refused by the handshake. */
  readonly room: string;
  /** Your display name, as sent with every message. */
  readonly name: string;

  readonly #options: QuickChatOptions;
  readonly #identity: Identity;
  /** The key file, when one is used: locked while the chat runs. */
  readonly #keyFile: string | undefined;
  /** The topic joined on the DHT after the start, and the DHT's settings; undefined: none. */
  readonly #dhtTopic: { topic: string; dht: ChatDhtOptions } | undefined;
  /** The port asked for; undefined: the default, which falls back to a free one when taken. */
  readonly #askedPort: number | undefined;
  /** Join notices waiting for the peer's name, by peer id. */
  readonly #nameWaiters = new Map<string, () => void>();
  /** Peer ids this chat dialled because the user typed an address. */
  readonly #typed = new Set<string>();
  #pg: Playground;
  #unlock: (() => void) | undefined;
  #stopped: () => void = () => {};
  readonly #stoppedPromise = new Promise<void>((resolve) => (this.#stopped = resolve));
  readonly #limits: ChatLimits;
  readonly #topics: ChatTopics;
  readonly #quitWords: ReadonlySet<string>;
  /** The user's message and error handlers. */
  readonly #handlers = new ChatHandlers();
  /** Latest name each peer used, by peer id. */
  readonly #names = new Map<string, string>();
  #starting: Promise<PortMappingResult | null> | undefined;
  #nat: PortMappingResult | null = null;
  #stopping: Promise<void> | undefined;
  #running = false;
  #closeInput: (() => void) | undefined;

  /**
   * @param room the room name (1 to 128 characters); only peers using the same room can join.
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a bad room, name, port or limit.
   */
  constructor(room: string, options: QuickChatOptions = {}) {
    const maxNameLength = positiveInt(options.maxNameLength, DEFAULT_MAX_NAME_LENGTH, "maxNameLength");
    const maxTextLength = positiveInt(options.maxTextLength, DEFAULT_MAX_TEXT_LENGTH, "maxTextLength");
    this.#limits = { maxNameLength, maxTextLength };
    this.#topics = new ChatTopics(this.#limits);
    this.name = chooseName(options.name, maxNameLength);
    checkPort(options.port);
    this.#quitWords = new Set((options.quitWords ?? DEFAULT_QUIT_WORDS).map((w) => w.trim().toLowerCase()));
    this.#options = options;
    this.room = room;
    this.#askedPort = options.port ?? options.playgroundOptions?.port;
    this.#keyFile = chooseKeyFile(options, this.name);
    this.#identity = chooseIdentity(options, this.#keyFile);
    this.#dhtTopic = chatDhtTopic(options.dhtTopic, this.#keyFile);
    this.#pg = this.#build(this.#askedPort ?? DEFAULT_CHAT_PORT);
  }

  /**
   * The underlying node, for experts: same peers, same lifecycle. When the
   * default port is taken, `start()` replaces it once with a node on a free
   * port: read it after the start.
   */
  get playground(): Playground {
    return this.#pg;
  }

  #build(port: number): Playground {
    const { keyFile: _keyFile, identity: _identity, ...pgOptions } = this.#options.playgroundOptions ?? {};
    const lan = this.#options.lan ?? true;
    const pg = new Playground(this.room, {
      ...pgOptions,
      port,
      ...(this.#options.host !== undefined ? { host: this.#options.host } : {}),
      ...(this.#options.ws !== undefined ? tcpAndWebSocket(this.#options.host ?? "0.0.0.0", port, this.#options.ws) : {}),
      identity: this.#identity,
      ...(pgOptions.discovery === undefined ? { discovery: { lan, ...(this.#dhtTopic !== undefined ? { dht: this.#dhtTopic.dht } : {}) } } : {}),
      // A chat that two other nodes confirm is publicly reachable relays for friends behind NATs, within the relay's limits.
      ...(pgOptions.reach === undefined ? { reach: { serveRelay: "when-public" } } : {}),
    });
    pg.on(CHAT_KIND, (src, _kind, payload) => this.#receive(src, CHAT_KIND, parseChatPayload(payload, this.#limits)));
    pg.on(TEXT_KIND, (src, _kind, payload) => {
      const parsed = parseTextPayload(payload, this.#limits);
      this.#receive(src, TEXT_KIND, parsed.ok ? { ok: true, value: { user: this.#names.get(src) ?? src, text: parsed.value } } : parsed);
    });
    // Names instead of peer ids: each side tells the other its name when they meet.
    pg.on(NAME_KIND, (src, _kind, payload) => {
      const parsed = parseNamePayload(payload, this.#limits);
      if (!parsed.ok) {
        this.#handlers.report(malformedError(src, NAME_KIND, parsed.reason), src);
        return;
      }
      this.#names.set(src, parsed.value);
      this.#nameWaiters.get(src)?.();
    });
    pg.events.on("peer:joined", (peer) => void pg.send(NAME_KIND, { user: this.name }, { to: peer.peerId }).catch(() => {}));
    // Members reached through the mesh (pages behind a bridge, chats behind another) learn the name too: one broadcast per burst of arrivals.
    let announcing: ReturnType<typeof setTimeout> | undefined;
    pg.events.on("mesh:joined", () => {
      announcing ??= setTimeout(() => {
        announcing = undefined;
        if (pg.running) void pg.send(NAME_KIND, { user: this.name }).catch(() => {});
      }, 200);
      announcing.unref?.(); // a stopped chat's process is not held open by it
    });
    pg.events.on("error", (error, peerId) => this.#handlers.report(error, peerId));
    this.#topics.attach(pg);
    pg.events.on("peer:left", (peer) => {
      // Later listeners (run's leave notice) still read the name in this tick.
      queueMicrotask(() => {
        if (!pg.peers.some((p) => p.peerId === peer.peerId)) {
          this.#names.delete(peer.peerId);
          this.#typed.delete(peer.peerId);
        }
      });
    });
    return pg;
  }

  /** True when LAN discovery is on (the `lan` option). */
  get lanDiscovery(): boolean {
    return (this.#options.lan ?? true) !== false;
  }

  /** The topic joined on the DHT (the `dhtTopic` option), else undefined. */
  get dhtTopic(): string | undefined {
    return this.#dhtTopic?.topic;
  }

  /** How a connected peer was found: `"lan"` (LAN discovery), `"dht"` (the DHT topic), `"address"` (an address given to `connect`) or `"inbound"` (it joined us). */
  foundBy(peerId: string): "lan" | "dht" | "address" | "inbound" | undefined {
    const peer = this.#pg.peers.find((p) => p.peerId === peerId);
    if (peer === undefined) return undefined;
    if (this.#typed.has(peerId)) return "address";
    if (this.#pg.foundOnLan(peerId)) return "lan";
    if (this.#pg.topics.found(peerId)) return "dht";
    return peer.outbound ? "address" : "inbound";
  }

  /** This node's peer id. */
  get peerId(): string {
    return this.#pg.peerId;
  }

  /** The port the chat listens on (the real one when `port: 0` was asked); undefined before it starts. */
  get port(): number | undefined {
    return this.#pg.port;
  }

  /** The addresses the chat listens on, such as `tcp://0.0.0.0:7337`; empty before it starts. */
  get addresses(): string[] {
    return this.#pg.addresses;
  }

  /** The connected peers, with the name each last used. */
  get peers(): ChatPeer[] {
    return this.#pg.peers.map((p) => ({ ...p, name: this.#names.get(p.peerId) }));
  }

  /** How this chat can be reached (`pg.reachability` of `@xppg/node`): `public`, `port-mapped`, `behind-nat`, `relayed-only` or `unknown`, with the addresses to give others. */
  get reachability(): Playground["reachability"] {
    return this.#pg.reachability;
  }

  /** The result of the router port mapping once started with `openPort`, else null. */
  get nat(): PortMappingResult | null {
    return this.#nat;
  }

  /** The room topic (shared state, set by anyone in the room with `setTopic`), if one was set. */
  get topic(): ChatTopic | undefined {
    return this.#topics.current(this.#pg);
  }

  /** Sets the room topic for everyone in the room, with your name. */
  setTopic(text: string): void {
    this.#topics.set(this.#pg, text, this.name);
  }

  /** Registers a handler for each topic change (yours too); returns a function that removes it. */
  onTopic(handler: (topic: ChatTopic) => void): () => void {
    return this.#topics.on(handler);
  }

  /**
   * Registers a handler for messages from other peers (your own are not
   * echoed). Returns a function that removes it.
   */
  onMessage(handler: ChatMessageHandler): () => void {
    return this.#handlers.onMessage(handler);
  }

  /**
   * Registers a handler for problems that did not stop the chat (see
   * {@link ChatErrorHandler}). Returns a function that removes it. Without
   * one, such problems are ignored silently (but `run()` prints them).
   */
  onError(handler: ChatErrorHandler): () => void {
    return this.#handlers.onError(handler);
  }

  /**
   * Starts listening (and, with `openPort`, asks the router to forward the
   * port, within `openPortTimeoutMs`). Resolves with the NAT result, or null
   * when `openPort` is off. Safe to call again: later calls share the first.
   * `connect`, `send` and `run` call it for you.
   */
  start(): Promise<PortMappingResult | null> {
    if (this.#stopping !== undefined) return Promise.reject(stoppedError("start"));
    this.#starting ??= this.#boundedStart().then(
        (nat) => (this.#nat = nat),
        (error: unknown) => {
          // A failed start (port in use) may be retried.
          this.#starting = undefined;
          throw error;
        },
      );
    return this.#starting;
  }

  /** The node's start (see `startWithPortFallback`), with the key file locked; a failed start releases it. */
  async #boundedStart(): Promise<PortMappingResult | null> {
    const openPort = this.#options.openPort ?? true;
    const openPortTimeoutMs = this.#options.openPortTimeoutMs ?? DEFAULT_OPEN_PORT_TIMEOUT_MS;
    if (this.#keyFile !== undefined) this.#unlock ??= lockKeyFile(this.#keyFile);
    try {
      // Only the default port falls back: a port the user asked for is never swapped for another.
      const replace = this.#askedPort === undefined ? () => (this.#pg = this.#build(0)) : undefined;
      const nat = await startWithPortFallback(this.#pg, { openPort, openPortTimeoutMs }, replace, (error) => this.#handlers.report(error, undefined));
      // In the background: the DHT's bootstrap takes seconds, and the chat works on the LAN meanwhile.
      if (this.#dhtTopic !== undefined) this.#pg.joinTopic(this.#dhtTopic.topic).catch((error: unknown) => this.#handlers.report(dhtJoinError(error), undefined));
      return nat;
    } catch (error) {
      this.#unlock?.();
      this.#unlock = undefined;
      throw error;
    }
  }

  /**
   * Joins another peer: `connect("192.168.1.42")`, `connect("192.168.1.42", 7000)`,
   * `connect("192.168.1.42:7000")` or `connect("[::1]:7000")`; without a port, 7337.
   * Starts the chat first if needed, so it works before or during `run()`.
   *
   * Resolves with the peer. A failure rejects with the cause's own error (a
   * peer in another room: `XPPG_ERR_APP_MISMATCH`) and is also reported to
   * `onError` once, so a connect you do not await is never silent and never
   * crashes the process: a refused handshake as the Playground reported it
   * (`XPPG_ERR_APP_MISMATCH`, ...), anything else (no one listening, a bad
   * address) as `XPPG_ERR_CONNECT_FAILED` with the cause attached.
   */
  connect(host: string, port?: number): Promise<PeerInfo> {
    const joined = (async () => {
      const target = host.includes("://") ? { host, port: undefined } : parseChatAddress(host, port ?? DEFAULT_CHAT_PORT);
      await this.start();
      const peer = await this.#pg.join(target.host, target.port);
      this.#typed.add(peer.peerId);
      return peer;
    })();
    joined.catch((error: unknown) => this.#handlers.report(connectError(error, host, port), undefined));
    return joined;
  }

  /**
   * Sends one message to everyone in the room, with your name. Starts the
   * chat first if needed; with no peer connected, nobody receives it.
   * @throws `XPPG_ERR_CHAT_TOO_LONG` past `maxTextLength`, `XPPG_ERR_INVALID_ARGUMENT` for an empty text.
   */
  async send(text: string): Promise<void> {
    checkText(text, this.#limits);
    await this.start();
    await this.#pg.send(CHAT_KIND, { user: this.name, text });
  }

  /**
   * The chat loop: starts the chat if needed, then reads lines from `input`
   * and sends each one. Writes incoming messages (`[alice] hi`), join and
   * leave notices and problems (`! ...`) to `output`. Resolves when you type
   * a quit word (`quit`, `exit`), when `input` ends or when `stop()` is
   * called; the chat is stopped by then.
   *
   * @throws `XPPG_ERR_ALREADY_RUNNING` when already running, `XPPG_ERR_STOPPED` after `stop()`, or the error that kept the node from starting.
   */
  async run(options: RunOptions = {}): Promise<void> {
    if (this.#running) throw new QuickChatError(QUICKCHAT_ERROR_CODES.ALREADY_RUNNING, "run() is already running on this chat. Await it instead of calling it again.");
    if (this.#stopping !== undefined) throw stoppedError("run");
    this.#running = true;
    const output = this.#options.output ?? process.stdout;
    const input = this.#options.input ?? process.stdin;
    const writer = new LineWriter(output, output.isTTY === true && (input as { isTTY?: boolean }).isTTY === true);
    const notices = new PeerNotices(writer, this.#names, this.#nameWaiters, () => this.#running);
    const offs = [
      this.onMessage((user, text) => writer.write(formatChatLine(user, text))),
      this.onTopic((topic) => writer.write(`* topic: ${topic.text} (set by ${topic.by})`)),
      // A peer that left with a reason is one line, not the leave and the same reason again as a problem.
      this.onError((error) => {
        if (!notices.isLeaveReason(error)) writer.write(`! ${error.message}`);
      }),
    ];
    // Subscribed before anything awaits: peers found on the LAN may join during the start.
    const first = this.#pg;
    let nodeOffs = notices.attach(first);
    try {
      const nat = await this.start();
      if (this.#stopping !== undefined) return;
      if (options.onStarted !== undefined) writer.writeLines(options.onStarted(nat));
      // The start replaced the node (the default port was taken): follow the new one.
      if (this.#pg !== first) {
        for (const off of nodeOffs) off();
        nodeOffs = notices.attach(this.#pg);
      }
      notices.catchUp(this.#pg.peers);
      const commands = options.commands ?? {};
      await readLines(input, output, writer, {
        prompt: options.prompt ?? "> ",
        quitWords: this.#quitWords,
        onLine: (line) => this.#handleLine(line, commands, writer),
        onClose: (close) => (this.#closeInput = close),
      });
    } finally {
      for (const off of [...offs, ...nodeOffs]) off();
      this.#running = false;
      await this.stop();
    }
  }

  /** One typed line: a command, else a message to send. */
  async #handleLine(line: string, commands: ChatCommands, writer: LineWriter): Promise<void> {
    const call = commandOf(line, commands);
    if (call !== undefined) return runCommand(commands, call, writer);
    try {
      checkText(line, this.#limits);
    } catch (error) {
      writer.write(`! ${toError(error).message}`);
      return;
    }
    if (this.#pg.peers.length === 0) {
      // Typed at a terminal: say so at once. Piped in: wait for the first peer, so nothing is lost.
      if (writer.interactive) {
        writer.write("! Nobody is here yet: the message was not sent. Chats of this room on your network join by themselves; /help lists the commands.");
        return;
      }
      await this.#firstPeer();
      if (this.#stopping !== undefined) return;
    }
    try {
      await this.send(line);
    } catch (error) {
      writer.write(`! ${toError(error).message}`);
    }
  }

  /** Resolves when a peer is connected, or when the chat stops. */
  #firstPeer(): Promise<void> {
    const pg = this.#pg;
    if (pg.peers.length > 0) return Promise.resolve();
    let off = (): void => {};
    const joined = new Promise<void>((resolve) => (off = pg.events.on("peer:joined", () => resolve())));
    return Promise.race([joined, this.#stoppedPromise]).finally(off);
  }

  /**
   * Leaves every peer, stops listening, removes the port mapping and ends
   * `run()`. Idempotent; the chat cannot be started again.
   */
  stop(): Promise<void> {
    this.#closeInput?.();
    this.#stopping ??= (async () => {
      // Stopping a node in the middle of its start would leave a listener behind.
      this.#stopped();
      await this.#starting?.catch(() => {});
      await this.#pg.stop();
      this.#unlock?.();
      this.#unlock = undefined;
    })();
    return this.#stopping;
  }

  #receive(src: string, kind: ChatMessageInfo["kind"], parsed: Parsed<{ user: string; text: string }>): void {
    if (!parsed.ok) {
      this.#handlers.report(malformedError(src, kind, parsed.reason), src);
      return;
    }
    const { user, text } = parsed.value;
    if (kind === CHAT_KIND) this.#names.set(src, user);
    this.#handlers.message(src, kind, user, text);
  }
}
