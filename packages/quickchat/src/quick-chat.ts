import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { isXppgError, toError, type XppgError } from "@xppg/errors";
import { Playground, type PortMappingResult, type PeerInfo } from "@xppg/node";
import { generateIdentity, type Identity } from "@xppg/secure";
import { loadOrCreateIdentitySync } from "@xppg/secure/key-file";
import { parseChatAddress } from "./address.js";
import { cleanName, parseChatPayload, parseNamePayload, parseTextPayload, type ChatLimits, type Parsed } from "./chat-message.js";
import { CHAT_KIND, JOIN_NAME_WAIT_MS, NAME_KIND, DEFAULT_CHAT_PORT, DEFAULT_OPEN_PORT_TIMEOUT_MS, DEFAULT_MAX_NAME_LENGTH, DEFAULT_MAX_TEXT_LENGTH, DEFAULT_QUIT_WORDS, FALLBACK_NAME, TEXT_KIND } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";
import { lockKeyFile } from "./key-lock.js";
import type { ChatCommand, ChatMessageHandler, ChatMessageInfo, ChatErrorHandler, ChatPeer, QuickChatOptions, RunOptions } from "./options.js";
import { LineWriter, formatChatLine, formatJoined, formatLeft, type ChatOutput } from "./terminal.js";

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
  readonly #quitWords: ReadonlySet<string>;
  readonly #messageHandlers = new Set<ChatMessageHandler>();
  readonly #errorHandlers = new Set<ChatErrorHandler>();
  /** Latest name each peer used, by peer id. */
  readonly #names = new Map<string, string>();
  #starting: Promise<PortMappingResult | null> | undefined;
  #nat: PortMappingResult | null = null;
  #stopping: Promise<void> | undefined;
  #running = false;
  #closeInput: (() => void) | undefined;
  /** Errors the Playground already reported, so a failed connect is not reported twice. */

  /**
   * @param room the room name (1 to 128 characters); only peers using the same room can join.
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a bad room, name, port or limit.
   */
  constructor(room: string, options: QuickChatOptions = {}) {
    const maxNameLength = positiveInt(options.maxNameLength, DEFAULT_MAX_NAME_LENGTH, "maxNameLength");
    const maxTextLength = positiveInt(options.maxTextLength, DEFAULT_MAX_TEXT_LENGTH, "maxTextLength");
    this.#limits = { maxNameLength, maxTextLength };
    this.name = options.name === undefined ? defaultName(maxNameLength) : checkName(options.name, maxNameLength);
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
      throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `port must be an integer from 0 to 65535 (0 picks any free port), got ${String(options.port)}.`);
    }
    this.#quitWords = new Set((options.quitWords ?? DEFAULT_QUIT_WORDS).map((w) => w.trim().toLowerCase()));
    this.#options = options;
    this.room = room;
    this.#askedPort = options.port ?? options.playgroundOptions?.port;
    // One key per process unless a name or key file is given: two chats on one
    // machine must never be the same peer by accident.
    const keyFile =
      options.identity !== undefined || options.keyFile === false ? undefined : (options.keyFile ?? (options.name !== undefined ? defaultKeyFile(this.name) : undefined));
    this.#keyFile = keyFile;
    this.#identity = options.identity ?? options.playgroundOptions?.identity ?? (keyFile !== undefined ? loadOrCreateIdentitySync(keyFile) : generateIdentity());
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
      identity: this.#identity,
      ...(pgOptions.discovery === undefined ? { discovery: { lan } } : {}),
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
        this.#report(new QuickChatError(QUICKCHAT_ERROR_CODES.MALFORMED_CHAT, `Ignored a "${NAME_KIND}" message from peer ${src}: ${parsed.reason}.`, { details: { peerId: src, kind: NAME_KIND, reason: parsed.reason } }), src);
        return;
      }
      this.#names.set(src, parsed.value);
      this.#nameWaiters.get(src)?.();
    });
    pg.events.on("peer:joined", (peer) => void pg.send(NAME_KIND, { user: this.name }, { to: peer.peerId }).catch(() => {}));
    pg.events.on("error", (error, peerId) => this.#report(error, peerId));
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

  /** How a connected peer was found: `"lan"` (LAN discovery), `"address"` (an address given to `connect`) or `"inbound"` (it joined us). */
  foundBy(peerId: string): "lan" | "address" | "inbound" | undefined {
    const peer = this.#pg.peers.find((p) => p.peerId === peerId);
    if (peer === undefined) return undefined;
    if (this.#typed.has(peerId)) return "address";
    return this.#pg.foundOnLan(peerId) ? "lan" : peer.outbound ? "address" : "inbound";
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

  /** The result of the router port mapping once started with `openPort`, else null. */
  get nat(): PortMappingResult | null {
    return this.#nat;
  }

  /**
   * Registers a handler for messages from other peers (your own are not
   * echoed). Returns a function that removes it.
   */
  onMessage(handler: ChatMessageHandler): () => void {
    if (typeof handler !== "function") throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "onMessage(handler): handler must be a function (user, text) => void.");
    this.#messageHandlers.add(handler);
    return () => {
      this.#messageHandlers.delete(handler);
    };
  }

  /**
   * Registers a handler for problems that did not stop the chat (see
   * {@link ChatErrorHandler}). Returns a function that removes it. Without
   * one, such problems are ignored silently (but `run()` prints them).
   */
  onError(handler: ChatErrorHandler): () => void {
    if (typeof handler !== "function") throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "onError(handler): handler must be a function (error, peerId) => void.");
    this.#errorHandlers.add(handler);
    return () => {
      this.#errorHandlers.delete(handler);
    };
  }

  /**
   * Starts listening (and, with `openPort`, asks the router to forward the
   * port, within `openPortTimeoutMs`). Resolves with the NAT result, or null
   * when `openPort` is off. Safe to call again: later calls share the first.
   * `connect`, `send` and `run` call it for you.
   */
  start(): Promise<PortMappingResult | null> {
    if (this.#stopping !== undefined) return Promise.reject(this.#stoppedError("start"));
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

  /**
   * The Playground's start: it bounds the port mapping itself and turns a
   * failing mapper into an unmapped result, which the chat reports and
   * carries on without.
   */
  async #boundedStart(): Promise<PortMappingResult | null> {
    const openPort = this.#options.openPort ?? true;
    const openPortTimeoutMs = this.#options.openPortTimeoutMs ?? DEFAULT_OPEN_PORT_TIMEOUT_MS;
    if (this.#keyFile !== undefined) this.#unlock ??= lockKeyFile(this.#keyFile);
    let nat: PortMappingResult | null;
    try {
      nat = await this.#pg.start({ openPort, openPortTimeoutMs });
    } catch (error) {
      if (this.#askedPort !== undefined || !portTaken(error)) {
        this.#unlock?.();
        this.#unlock = undefined;
        throw error;
      }
      // The default port is taken (another chat on this machine?): take a free one and say which.
      this.#pg = this.#build(0);
      try {
        nat = await this.#pg.start({ openPort, openPortTimeoutMs });
      } catch (again) {
        this.#unlock?.();
        this.#unlock = undefined;
        throw again;
      }
      this.#report(
        new QuickChatError(
          QUICKCHAT_ERROR_CODES.PORT_IN_USE,
          `Port ${DEFAULT_CHAT_PORT} is taken (another chat on this machine?), so this chat listens on port ${this.#pg.port}. Chats on this network find it by themselves; to connect by hand, use port ${this.#pg.port}.`,
          { cause: error, details: { port: this.#pg.port, taken: DEFAULT_CHAT_PORT } },
        ),
        undefined,
      );
    }
    if (nat !== null && !nat.mapped && isXppgError(nat.error, "XPPG_ERR_PORT_MAPPING_FAILED")) {
      this.#report(
        new QuickChatError(QUICKCHAT_ERROR_CODES.PORT_MAPPING_FAILED, `Could not ask the router to forward port ${this.#pg.port}: ${nat.error.message} The chat runs without it.`, {
          cause: nat.error,
        }),
        undefined,
      );
    }
    return nat;
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
    joined.catch((error: unknown) => {
      // A peer that refused us said why (another room, full, ...): report its words as they are.
      if (isXppgError(error) && !DIAL_ERROR_CODES.has(error.code)) {
        this.#report(error, undefined);
        return;
      }
      const cause = toError(error);
      const code = isXppgError(error) ? error.code : undefined;
      this.#report(
        new QuickChatError(QUICKCHAT_ERROR_CODES.CONNECT_FAILED, `Could not connect to ${port === undefined ? host : `${host} port ${port}`}: ${cause.message}`, {
          cause,
          details: { host, port, causeCode: code },
        }),
        undefined,
      );
    });
    return joined;
  }

  /**
   * Sends one message to everyone in the room, with your name. Starts the
   * chat first if needed; with no peer connected, nobody receives it.
   * @throws `XPPG_ERR_CHAT_TOO_LONG` past `maxTextLength`, `XPPG_ERR_INVALID_ARGUMENT` for an empty text.
   */
  async send(text: string): Promise<void> {
    this.#checkText(text);
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
    if (this.#stopping !== undefined) throw this.#stoppedError("run");
    this.#running = true;
    const output = this.#options.output ?? process.stdout;
    const input = this.#options.input ?? process.stdin;
    const writer = new LineWriter(output, output.isTTY === true && (input as { isTTY?: boolean }).isTTY === true);
    const offs = [
      this.onMessage((user, text) => writer.write(formatChatLine(user, text))),
      this.onError((error) => {
        if (error !== leaveReason) writer.write(`! ${error.message}`);
      }),
    ];
    // Subscribed before anything awaits: peers found on the LAN may join during the start.
    const shown = new Set<string>();
    const joined = (peer: PeerInfo): void => {
      shown.add(peer.peerId);
      const name = this.#names.get(peer.peerId);
      if (name !== undefined) return writer.write(formatJoined(peer, name));
      // The peer's name follows its join closely: wait for it a little, so the notice shows a name.
      const timer = setTimeout(() => announce(), JOIN_NAME_WAIT_MS);
      const announce = (): void => {
        clearTimeout(timer);
        this.#nameWaiters.delete(peer.peerId);
        if (this.#running) writer.write(formatJoined(peer, this.#names.get(peer.peerId)));
      };
      this.#nameWaiters.set(peer.peerId, announce);
    };
    // A peer that left with a reason is one line, not the leave and the same reason again as a problem.
    let leaveReason: unknown;
    const attach = (pg: Playground): (() => void)[] => [
      pg.events.on("peer:joined", joined),
      pg.events.on("peer:left", (peer, reason) => {
        this.#nameWaiters.get(peer.peerId)?.();
        writer.write(formatLeft(peer, this.#names.get(peer.peerId), reason));
        leaveReason = reason;
        queueMicrotask(() => (leaveReason = undefined));
      }),
    ];
    const first = this.#pg;
    let nodeOffs = attach(first);
    try {
      const nat = await this.start();
      if (this.#stopping !== undefined) return;
      if (options.onStarted !== undefined) {
        const lines = options.onStarted(nat);
        for (const l of lines === undefined ? [] : typeof lines === "string" ? [lines] : lines) writer.write(l);
      }
      // The start replaced the node (the default port was taken): follow the new one.
      if (this.#pg !== first) {
        for (const off of nodeOffs) off();
        nodeOffs = attach(this.#pg);
      }
      // Peers that joined before run() (a start() of its own, LAN discovery) are announced too.
      for (const peer of this.#pg.peers) if (!shown.has(peer.peerId)) joined(peer);
      await this.#readLines(input, output, writer, options);
    } finally {
      for (const off of [...offs, ...nodeOffs]) off();
      this.#running = false;
      await this.stop();
    }
  }

  async #readLines(input: NodeJS.ReadableStream, output: ChatOutput, writer: LineWriter, options: RunOptions): Promise<void> {
    // Created only now, after the start: input typed meanwhile waits in the stream.
    const rl = createInterface({ input, ...(writer.interactive ? { output, terminal: true } : { terminal: false }) });
    rl.setPrompt(options.prompt ?? "> ");
    // Ctrl+C in a terminal leaves the chat like `quit` (readline would only pause).
    rl.on("SIGINT", () => rl.close());
    writer.prompt = rl;
    this.#closeInput = () => rl.close();
    const commands = options.commands ?? {};
    try {
      const lines = rl[Symbol.asyncIterator]();
      if (writer.interactive) rl.prompt();
      for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
        const line = next.value.trim();
        if (this.#quitWords.has(line.toLowerCase())) break;
        if (line.length > 0) await this.#handleLine(line, commands, writer);
        if (writer.interactive) rl.prompt();
      }
    } finally {
      writer.prompt = undefined;
      this.#closeInput = undefined;
      rl.close();
    }
  }

  async #handleLine(line: string, commands: Readonly<Record<string, ChatCommand>>, writer: LineWriter): Promise<void> {
    if (line.startsWith("/")) {
      const name = line.slice(1).split(/\s/, 1)[0]!;
      if (Object.hasOwn(commands, name)) {
        try {
          const result = await commands[name]!(line.slice(1 + name.length).trim());
          const out = result === undefined ? [] : typeof result === "string" ? [result] : result;
          for (const l of out) writer.write(l);
        } catch (error) {
          writer.write(`! The command /${name} failed: ${toError(error).message}`);
        }
        return;
      }
    }
    try {
      this.#checkText(line);
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

  /** @throws `XPPG_ERR_INVALID_ARGUMENT` for an empty text, `XPPG_ERR_CHAT_TOO_LONG` past the limit. */
  #checkText(text: string): void {
    if (typeof text !== "string" || text.trim().length === 0) {
      throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `send(text): text must be a non-empty string, got ${typeof text === "string" ? "an empty one" : typeof text}.`);
    }
    if (text.length > this.#limits.maxTextLength) {
      throw new QuickChatError(
        QUICKCHAT_ERROR_CODES.CHAT_TOO_LONG,
        `The message has ${text.length} characters; the limit is ${this.#limits.maxTextLength}. Split it into shorter ones. Nothing was sent.`,
        { details: { length: text.length, maxTextLength: this.#limits.maxTextLength } },
      );
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
      this.#report(
        new QuickChatError(QUICKCHAT_ERROR_CODES.MALFORMED_CHAT, `Ignored a "${kind}" message from peer ${src}: ${parsed.reason}.`, { details: { peerId: src, kind, reason: parsed.reason } }),
        src,
      );
      return;
    }
    const { user, text } = parsed.value;
    if (kind === CHAT_KIND) this.#names.set(src, user);
    for (const handler of [...this.#messageHandlers]) {
      try {
        const result = handler(user, text, { peerId: src, kind });
        if (result !== undefined && typeof result.then === "function") {
          result.catch((error: unknown) => this.#report(handlerError(error, "an onMessage handler"), src));
        }
      } catch (error) {
        this.#report(handlerError(error, "an onMessage handler"), src);
      }
    }
  }

  #report(error: XppgError, peerId: string | undefined): void {
    for (const handler of [...this.#errorHandlers]) {
      try {
        handler(error, peerId);
      } catch {
        // An error handler that throws has nowhere left to report to.
      }
    }
  }

  #stoppedError(what: string): QuickChatError {
    return new QuickChatError(QUICKCHAT_ERROR_CODES.STOPPED, `${what}() cannot run: this chat was stopped. Create a new QuickChat.`);
  }
}

/** One key per user name under the config folder: `$XDG_CONFIG_HOME/xppg/quickchat-<name>.key`. */
export function defaultKeyFile(name: string): string {
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "xppg", `quickchat-${name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_")}.key`);
}

/** True for a listen that failed because the address is in use. */
function portTaken(error: unknown): boolean {
  if (!isXppgError(error, "XPPG_ERR_LISTEN_FAILED")) return false;
  const cause = (error as { cause?: unknown }).cause;
  return typeof cause === "object" && cause !== null && (cause as NodeJS.ErrnoException).code === "EADDRINUSE";
}

/** Dial failures are wrapped in XPPG_ERR_CONNECT_FAILED; a refusal from the peer is reported as it is. */
const DIAL_ERROR_CODES = new Set(["XPPG_ERR_DIAL_FAILED", "XPPG_ERR_DIAL_TIMEOUT", "XPPG_ERR_BAD_ADDRESS", "XPPG_ERR_ABORTED", "XPPG_ERR_NO_TRANSPORT"]);

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `${what} must be a positive integer, got ${String(value)}.`);
  return value;
}

function checkName(name: string, max: number): string {
  const clean = typeof name === "string" ? cleanName(name) : "";
  if (clean.length === 0) throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `name must contain visible characters, got ${JSON.stringify(name)}.`);
  if (clean.length > max) throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `name is ${clean.length} characters long; the limit is ${max}. Choose a shorter one.`);
  return clean;
}

/** The OS user name, cleaned and cut to the limit, else "anonymous". */
function defaultName(max: number): string {
  let raw: string | undefined;
  try {
    raw = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
  }
  raw ||= process.env.USER ?? process.env.USERNAME ?? "";
  return cleanName(raw).slice(0, max) || FALLBACK_NAME;
}

function handlerError(error: unknown, where: string): XppgError {
  if (isXppgError(error)) return error;
  const e = toError(error);
  return new QuickChatError(QUICKCHAT_ERROR_CODES.HANDLER_FAILED, `${where} threw: ${e.message}. The chat carries on; fix the handler.`, { cause: e });
}
