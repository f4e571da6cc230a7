import type { Identity } from "@xppg/secure";
import type { XppgError } from "@xppg/errors";
import type { PeerInfo, PlaygroundOptions, PortMappingResult } from "@xppg/node";
import type { ChatTopicOptions } from "./chat-topic.js";
import type { CHAT_KIND, TEXT_KIND } from "./constants.js";
import type { ChatOutput } from "./terminal.js";

/** Options of {@link QuickChat}. Every one has a beginner-safe default. */
export interface QuickChatOptions {
  /**
   * Port to listen on; 0 picks any free port (read it from `chat.port`).
   * When left out and 7337 is taken (a second chat on one machine), the chat
   * listens on a free port instead and reports it (`XPPG_ERR_CHAT_PORT_IN_USE`).
   * @default 7337
   */
  port?: number;
  /**
   * Local address to listen on.
   * @default "0.0.0.0" (every interface)
   */
  host?: string;
  /**
   * Ask the home router to forward the port (UPnP), so friends outside the
   * LAN can connect. Bounded in time: without a router that answers, the chat
   * starts anyway, after at most `openPortTimeoutMs`.
   * @default true
   */
  openPort?: boolean;
  /**
   * Longest wait for the router when `openPort` is on. Should the port
   * mapper overrun it, the chat starts unmapped 2 s later anyway.
   * @default 3000
   */
  openPortTimeoutMs?: number;
  /**
   * Your display name, shown to the others as `[name] text`. Control and
   * invisible characters are removed and spaces folded; an empty or too long
   * name throws `XPPG_ERR_INVALID_ARGUMENT`.
   * @default the OS user name, else "anonymous"
   */
  name?: string;
  /**
   * Where `run()` reads the lines you type.
   * @default process.stdin
   */
  input?: NodeJS.ReadableStream;
  /**
   * Where `run()` writes incoming messages and notices. Nothing is written
   * unless `run()` runs.
   * @default process.stdout
   */
  output?: ChatOutput;
  /**
   * This chat's key pair (its peer id is derived from it). Takes precedence over `keyFile`.
   * @default loaded from (or created at) `keyFile`
   */
  identity?: Identity;
  /**
   * Where this user's key is kept, so the peer id stays the same across
   * runs; created (mode 0600) on first use. `false` keeps a new key in
   * memory. While the chat runs the key file is locked (`<keyFile>.lock`): a
   * second chat with the same key fails to start with
   * `XPPG_ERR_KEY_FILE_IN_USE` instead of becoming the same peer.
   * @default with `name` given, `<config dir>/xppg/quickchat-<name>.key` (the config dir being `$XDG_CONFIG_HOME` or `~/.config`); without, a new key for each run, so two chats on one machine are two peers
   */
  keyFile?: string | false;
  /**
   * LAN discovery: chats of the same room on the local network (or on this
   * machine) find and join each other with no address typed, over multicast
   * DNS (the room name itself is never sent, only a hash of it). `false`
   * turns it off; `{ interface: "192.168.1.20" }` keeps it to one interface
   * (`"127.0.0.1"`: this machine only).
   * @default true
   */
  lan?: boolean | { interface?: string; mdnsPort?: number };
  /**
   * Join the chats of this topic across the internet, on the BitTorrent
   * DHT (`@xppg/dht`): two friends started with the same room and topic
   * find each other with no address typed. Only a hash of the room and
   * topic is announced. A string is the topic; an object also sets the DHT
   * (`bootstrap`, ...). LAN discovery stays on as well.
   * @default none (the DHT is not used)
   */
  topic?: string | ChatTopicOptions;
  /**
   * Longest display name accepted, from you or from a peer.
   * @default 32
   */
  maxNameLength?: number;
  /**
   * Longest message accepted, sent or received (UTF-16 code units). Longer
   * ones are refused whole, never cut.
   * @default 2000
   */
  maxTextLength?: number;
  /**
   * Lines that end `run()`, compared trimmed and case-insensitively.
   * @default ["quit", "exit"]
   */
  quitWords?: readonly string[];
  /**
   * More options for the underlying Playground (transports, limits,
   * heartbeat, ...), for experts. `host`, `port`, `identity` and `keyFile` above win.
   */
  playgroundOptions?: PlaygroundOptions;
}

/** Extra facts about a received message, the third argument of an `onMessage` handler. */
export interface ChatMessageInfo {
  /** The sender's peer id (the name is the sender's claim; the id is what the connection proved). */
  peerId: string;
  /** `"chat"` for a QuickChat message, `"text"` for a Playground's `sendText` (its user is the peer id). */
  kind: typeof CHAT_KIND | typeof TEXT_KIND;
}

/**
 * Called for every message from another peer. `user` and `text` are checked
 * and cleaned: terminal control characters are removed, so printing them is
 * safe. A handler that throws is reported to `onError`; the chat carries on.
 */
export type ChatMessageHandler = (user: string, text: string, info: ChatMessageInfo) => void | Promise<void>;

/**
 * Called for problems that did not stop the chat: a malformed message from a
 * peer (`XPPG_ERR_MALFORMED_CHAT`), a peer dropped for breaking a rule, a
 * failed `connect`, a handler that threw.
 */
export type ChatErrorHandler = (error: XppgError, peerId: string | undefined) => void;

/** A connected peer, as `chat.peers` lists it. */
export interface ChatPeer extends PeerInfo {
  /** The name from the peer's latest chat message; undefined until it sends one. */
  readonly name: string | undefined;
}

/** What a `run()` command returns: lines to print, or nothing. */
export type ChatCommandResult = string | readonly string[] | void;

/** A command of `run()`: receives the rest of the line after `/name`. */
export type ChatCommand = (args: string) => ChatCommandResult | Promise<ChatCommandResult>;

/** Options of {@link QuickChat.run}. */
export interface RunOptions {
  /**
   * Commands: a line `/name args` whose `name` is a key here runs the command
   * and prints what it returns instead of sending the line. Other lines
   * starting with `/` are sent as chat.
   * @default {}
   */
  commands?: Readonly<Record<string, ChatCommand>>;
  /**
   * Called once the chat has started (listening, the router asked), with the
   * port mapping result; the lines it returns are printed before the first
   * prompt. Peers and messages that arrive during the start are shown too:
   * nothing is lost because `run()` started the chat itself.
   */
  onStarted?: (nat: PortMappingResult | null) => ChatCommandResult;
  /**
   * The prompt shown while you type; only when the output is a terminal.
   * @default "> "
   */
  prompt?: string;
}
