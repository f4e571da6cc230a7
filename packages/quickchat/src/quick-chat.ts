import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { isXppgError, toError, type XppgError } from "@xppg/errors";
import { Playground, type PortMappingResult, type PeerInfo } from "@xppg/node";
import { parseChatAddress } from "./address.js";
import { cleanName, parseChatPayload, parseTextPayload, type ChatLimits, type Parsed } from "./chat-message.js";
import { CHAT_KIND, DEFAULT_CHAT_PORT, DEFAULT_OPEN_PORT_TIMEOUT_MS, DEFAULT_MAX_NAME_LENGTH, DEFAULT_MAX_TEXT_LENGTH, DEFAULT_QUIT_WORDS, FALLBACK_NAME, TEXT_KIND } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";
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
  /** The underlying node, for experts: same peers, same lifecycle. */
  readonly playground: Playground;

  readonly #options: QuickChatOptions;
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
    this.playground = new Playground(room, {
      ...options.playgroundOptions,
      port: options.port ?? options.playgroundOptions?.port ?? DEFAULT_CHAT_PORT,
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.identity !== undefined ? { identity: options.identity } : {}),
      ...(options.identity === undefined && options.keyFile !== false ? { keyFile: options.keyFile ?? defaultKeyFile(this.name) } : {}),
    });
    this.room = room;
    this.playground.on(CHAT_KIND, (src, _kind, payload) => this.#receive(src, CHAT_KIND, parseChatPayload(payload, this.#limits)));
    this.playground.on(TEXT_KIND, (src, _kind, payload) => {
      const parsed = parseTextPayload(payload, this.#limits);
      this.#receive(src, TEXT_KIND, parsed.ok ? { ok: true, value: { user: this.#names.get(src) ?? src, text: parsed.value } } : parsed);
    });
    this.playground.events.on("error", (error, peerId) => this.#report(error, peerId));
    this.playground.events.on("peer:left", (peer) => {
      // Later listeners (run's leave notice) still read the name in this tick.
      queueMicrotask(() => {
        if (!this.playground.peers.some((p) => p.peerId === peer.peerId)) this.#names.delete(peer.peerId);
      });
    });
  }

  /** This node's peer id. */
  get peerId(): string {
    return this.playground.peerId;
  }

  /** The port the chat listens on (the real one when `port: 0` was asked); undefined before it starts. */
  get port(): number | undefined {
    return this.playground.port;
  }

  /** The addresses the chat listens on, such as `tcp://0.0.0.0:7337`; empty before it starts. */
  get addresses(): string[] {
    return this.playground.addresses;
  }

  /** The connected peers, with the name each last used. */
  get peers(): ChatPeer[] {
    return this.playground.peers.map((p) => ({ ...p, name: this.#names.get(p.peerId) }));
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
    const nat = await this.playground.start({ openPort, openPortTimeoutMs });
    if (nat !== null && !nat.mapped && isXppgError(nat.error, "XPPG_ERR_PORT_MAPPING_FAILED")) {
      this.#report(
        new QuickChatError(QUICKCHAT_ERROR_CODES.PORT_MAPPING_FAILED, `Could not ask the router to forward port ${this.playground.port}: ${nat.error.message} The chat runs without it.`, {
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
      return this.playground.join(target.host, target.port);
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
    await this.start();
    await this.playground.send(CHAT_KIND, { user: this.name, text });
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
    // Subscribed before anything awaits, so a connect racing the start is seen.
    const offs = [
      this.onMessage((user, text) => writer.write(formatChatLine(user, text))),
      this.onError((error) => writer.write(`! ${error.message}`)),
      this.playground.events.on("peer:joined", (peer) => writer.write(formatJoined(peer))),
      this.playground.events.on("peer:left", (peer, reason) => writer.write(formatLeft(peer, this.#names.get(peer.peerId), reason))),
    ];
    try {
      await this.start();
      if (this.#stopping !== undefined) return;
      await this.#readLines(input, output, writer, options);
    } finally {
      for (const off of offs) off();
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
      await this.send(line);
    } catch (error) {
      writer.write(`! ${toError(error).message}`);
    }
  }

  /**
   * Leaves every peer, stops listening, removes the port mapping and ends
   * `run()`. Idempotent; the chat cannot be started again.
   */
  stop(): Promise<void> {
    this.#closeInput?.();
    this.#stopping ??= (async () => {
      // Stopping a node in the middle of its start would leave a listener behind.
      await this.#starting?.catch(() => {});
      await this.playground.stop();
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
