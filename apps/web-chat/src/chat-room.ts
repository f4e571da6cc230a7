/**
 * One room of the web chat, without the page: a Playground in this tab that
 * joins a Node peer's WebSocket address, speaks the terminal chat's messages
 * (`chat`, `chat-name`) and its topic (state key `chat/topic`), and keeps
 * rejoining when the link drops. Every payload is checked and cleaned before
 * the view sees it; the view shows it as text.
 */
import { Playground, createIdentity, isRemotePeerError, loadOrCreateStoredIdentity, safeText, type Identity, type PeerInfo, type PlaygroundError } from "@xppg/node";

export const CHAT_KIND = "chat";
export const NAME_KIND = "chat-name";
export const TOPIC_KEY = "chat/topic";
export const MAX_NAME_LENGTH = 32;
export const MAX_TEXT_LENGTH = 2000;
export const MAX_TOPIC_LENGTH = 200;
export const MAX_ROOM_LENGTH = 128;
/** Longest wait between two attempts to rejoin. */
const MAX_RETRY_MS = 5000;

export interface ChatLine {
  kind: "message" | "notice" | "problem";
  text: string;
  /** The sender's name and peer id, for messages. */
  from?: string;
  peerId?: string;
  own?: boolean;
}

/** Someone in the room and how this tab reaches them. */
export interface Person {
  peerId: string;
  name: string;
  how: string;
  self: boolean;
}

export interface Topic {
  text: string;
  by: string;
}

export type LinkState = "connecting" | "connected" | "retrying" | "stopped";

/** What the page shows; the room calls it. */
export interface RoomView {
  line(line: ChatLine): void;
  people(people: Person[]): void;
  topic(topic: Topic | undefined): void;
  link(state: LinkState, words: string): void;
}

/** A name as typed, cleaned (one line, no controls or invisible characters), or a sentence saying what is wrong. */
export function checkName(raw: string): { ok: true; name: string } | { ok: false; why: string } {
  const name = safeText(raw, { singleLine: true, removeInvisible: true }).replace(/\s+/g, " ").trim();
  if (name.length === 0) return { ok: false, why: "Pick a name: 1 to 32 letters, digits or signs." };
  if (name.length > MAX_NAME_LENGTH) return { ok: false, why: `That name has ${name.length} characters; the limit is ${MAX_NAME_LENGTH}.` };
  return { ok: true, name };
}

/** A room name as typed, or a sentence saying what is wrong. */
export function checkRoom(raw: string): { ok: true; room: string } | { ok: false; why: string } {
  const room = raw.trim();
  if (room.length === 0) return { ok: false, why: "Pick a room: everyone in the same room sees each other's messages." };
  if (room.length > MAX_ROOM_LENGTH) return { ok: false, why: `That room name has ${room.length} characters; the limit is ${MAX_ROOM_LENGTH}.` };
  return { ok: true, room };
}

/** A Node peer's address as typed: `ws://host:port/path` (or `wss://`), or a sentence saying what is wrong. */
export function checkServer(raw: string): { ok: true; url: string } | { ok: false; why: string } {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, why: `"${text}" is not an address. It looks like ws://192.168.1.20:7338/xppg (the chat prints it when started with --web or --ws).` };
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") return { ok: false, why: `The address must start with ws:// or wss://, not ${url.protocol}//.` };
  if (url.username !== "" || url.password !== "") return { ok: false, why: "The address must not hold a user name or password: an xppg peer proves itself with its key." };
  if (url.port === "") url.port = url.protocol === "wss:" ? "443" : "80";
  return { ok: true, url: url.href };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** A message text from a peer, cleaned, or undefined when it is not one within the limit. */
function cleanText(v: unknown): string | undefined {
  if (typeof v !== "string" || v.length > MAX_TEXT_LENGTH) return undefined;
  const text = safeText(v);
  return text.trim().length === 0 ? undefined : text;
}

function cleanName(v: unknown): string | undefined {
  if (typeof v !== "string" || v.length > MAX_NAME_LENGTH * 4) return undefined;
  const r = checkName(v);
  return r.ok ? r.name : undefined;
}

/** The topic in a state value, or undefined. */
export function parseTopic(v: unknown): Topic | undefined {
  if (!isRecord(v) || typeof v.text !== "string" || v.text.length > MAX_TOPIC_LENGTH) return undefined;
  const by = cleanName(v.by);
  if (by === undefined) return undefined;
  return { text: safeText(v.text).replace(/\s+/g, " ").trim(), by };
}

const short = (peerId: string): string => `${peerId.slice(0, 10)}…`;

/**
 * How a message of the page's production build ends when xppg left the error's text out (@xppg/errors'
 * TEXTS_LEFT_OUT, the part that names this case); the chat's test checks it against a real such error.
 */
const TEXT_LEFT_OUT = "production build left this error's text out";

/** `text` as a sentence: trimmed, ending with one stop. */
const sentence = (text: string): string => {
  const t = text.trim().replace(/[\s:;,]+$/, "");
  return /[.!?…]["')\]]*$/.test(t) ? t : `${t}.`;
};

/**
 * The words for a failed join, a lost link or a refused send, one or more sentences. The page's production build
 * leaves xppg's error texts out (its messages are the code and values); the codes a user meets are said here in
 * the chat's own words, and a peer's goodbye in the peer's own words (its text is the peer's, never left out).
 * Where the words point to the browser's console, the error is logged there.
 */
export function describeProblem(error: unknown, server: string): string {
  const e = error as Partial<PlaygroundError> | undefined;
  const said = typeof e?.message === "string" ? safeText(e.message, { singleLine: true }) : String(error);
  switch (e?.code) {
    case "XPPG_ERR_IDENTITY_STORE":
      return "This browser does not let the page keep its key (a private window, or storage blocked for this site).";
    case "XPPG_ERR_TOO_MANY_PEERS":
      return `The chat at ${server} has as many people as it takes. Try again later.`;
    case "XPPG_ERR_PROTOCOL_MISMATCH":
      return `The chat at ${server} runs another release of xppg that this page cannot talk to. Update the older one.`;
    case "XPPG_ERR_CLOCK_SKEW":
      return `This device's clock and the one at ${server} differ too much. Set the clock right (turn on network time).`;
    case "XPPG_ERR_PEER_TIMEOUT":
      return `${server} went silent.`;
    case "XPPG_ERR_PEER_SHUTDOWN":
      return `The chat at ${server} is shutting down.`;
    case "XPPG_ERR_DISCONNECTED":
      return isRemotePeerError(error) && remoteReason(said) !== "" ? `The chat at ${server} closed this link: ${sentence(remoteReason(said))}` : `The link to ${server} was closed on purpose.`;
    case "XPPG_ERR_DIAL_FAILED":
    case "XPPG_ERR_DIAL_TIMEOUT":
    case "XPPG_ERR_CONNECTION_CLOSED":
    case "XPPG_ERR_CONNECTION_RESET":
      return `Cannot reach ${server}. Is the chat running there with --web (or --ws), and is the address right?`;
    case "XPPG_ERR_APP_MISMATCH":
      return `The chat at ${server} is in another room. Ask for its room name, or use its address with ?room=.`;
    case "XPPG_ERR_HANDSHAKE_TIMEOUT":
    case "XPPG_ERR_HANDSHAKE_FAILED":
      return `${server} answered but is not an xppg chat (the secure handshake failed). Check the address.`;
    case "XPPG_ERR_DUPLICATE_CONNECTION":
    case "XPPG_ERR_SELF_CONNECTION":
      return "This name is already open in another tab of this browser (the same key). Use another name in this tab.";
    default:
      // A peer's goodbye: its own words, whichever build this page is.
      if (isRemotePeerError(error)) {
        const reason = remoteReason(said);
        return reason === "" ? `${server} closed the link without saying why (${e?.code}).` : `${server} said: ${sentence(reason)}`;
      }
      // An xppg error of a production build: its message is its code and values, not words for a user.
      if (typeof e?.code === "string" && said.includes(TEXT_LEFT_OUT)) {
        console.error(error);
        return `Something went wrong (${e.code}); the browser's console has the details.`;
      }
      return sentence(said);
  }
}

/** A peer's reason in its goodbye's message (after "The peer closed the connection: ", or after its code on a production page). */
function remoteReason(message: string): string {
  const at = message.indexOf(": ");
  return at < 0 ? "" : message.slice(at + 2).trim();
}

/** The chat room of this tab. */
export class ChatRoom {
  readonly name: string;
  readonly room: string;
  readonly server: string;
  readonly pg: Playground;
  readonly #view: RoomView;
  readonly #names = new Map<string, string>();
  #serverPeer: string | undefined;
  #stopped = false;
  #retryMs = 250;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #announceTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(name: string, room: string, server: string, identity: Identity, view: RoomView) {
    this.name = name;
    this.room = room;
    this.server = server;
    this.#view = view;
    this.pg = new Playground(room, { identity });
    this.#wire();
  }

  /** Opens the room: this tab's identity (kept per name in IndexedDB), then the first join. */
  static async open(name: string, room: string, server: string, view: RoomView): Promise<ChatRoom> {
    let identity: Identity;
    try {
      identity = await loadOrCreateStoredIdentity(`web-chat/${name}`);
    } catch (error) {
      view.line({ kind: "problem", text: `${describeProblem(error, server)} This tab uses a new identity until it is closed.` });
      identity = await createIdentity();
    }
    const chat = new ChatRoom(name, room, server, identity, view);
    await chat.pg.start();
    chat.#connect();
    return chat;
  }

  get peerId(): string {
    return this.pg.peerId;
  }

  #wire(): void {
    const pg = this.pg;
    pg.on(CHAT_KIND, (src, _kind, payload) => {
      if (!isRecord(payload)) return this.#refused(src, "not a chat message");
      const user = cleanName(payload.user);
      const text = cleanText(payload.text);
      if (user === undefined || text === undefined) return this.#refused(src, `a name over ${MAX_NAME_LENGTH} or a text over ${MAX_TEXT_LENGTH} characters, or empty`);
      this.#names.set(src, user);
      this.#view.line({ kind: "message", from: user, peerId: src, text });
      this.#people();
    });
    pg.on(NAME_KIND, (src, _kind, payload) => {
      const user = isRecord(payload) ? cleanName(payload.user) : undefined;
      if (user === undefined) return;
      const known = this.#names.get(src);
      this.#names.set(src, user);
      if (known === undefined) this.#view.line({ kind: "notice", text: `${user} is here.` });
      this.#people();
    });
    pg.on("text", (src, _kind, payload) => {
      const text = isRecord(payload) ? cleanText(payload.text) : undefined;
      if (text !== undefined) this.#view.line({ kind: "message", from: this.#nameOf(src), peerId: src, text });
    });
    pg.state.on("change", (changes) => {
      for (const c of changes) {
        if (c.key !== TOPIC_KEY) continue;
        const topic = parseTopic(c.value);
        this.#view.topic(topic);
        if (topic !== undefined) this.#view.line({ kind: "notice", text: `${topic.by} set the topic: ${topic.text}` });
      }
    });
    pg.events.on("peer:joined", (peer) => {
      void pg.send(NAME_KIND, { user: this.name }, { to: peer.peerId }).catch(() => {});
      this.#people();
    });
    pg.events.on("peer:left", (peer, reason) => {
      this.#people();
      if (peer.peerId !== this.#serverPeer || this.#stopped) return;
      this.#serverPeer = undefined;
      const why = reason === undefined ? "" : ` ${describeProblem(reason, this.server)}`;
      this.#view.line({ kind: "problem", text: `Lost the link to ${this.server}.${why} Rejoining…` });
      this.#retry();
    });
    pg.events.on("mesh:joined", () => {
      this.#people();
      this.#announceSoon();
    });
    pg.events.on("mesh:left", (member) => {
      const name = this.#names.get(member.peerId);
      if (name !== undefined) this.#view.line({ kind: "notice", text: `${name} left.` });
      this.#people();
    });
  }

  #refused(src: string, why: string): void {
    this.#view.line({ kind: "problem", text: `A message from ${this.#nameOf(src)} was not shown: ${why}.` });
  }

  #nameOf(peerId: string): string {
    return this.#names.get(peerId) ?? short(peerId);
  }

  /** Tells the whole room this tab's name (once per burst of new members). */
  #announceSoon(): void {
    if (this.#announceTimer !== undefined) return;
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      if (!this.#stopped) void this.pg.send(NAME_KIND, { user: this.name }).catch(() => {});
    }, 200);
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#view.link("connecting", `Joining ${this.server}…`);
    this.pg.join(this.server, { timeoutMs: 8000 }).then(
      (peer: PeerInfo) => {
        if (this.#stopped) return;
        this.#serverPeer = peer.peerId;
        this.#retryMs = 250;
        this.#view.link("connected", `Connected to ${this.server}`);
        this.#people();
        this.#announceSoon();
      },
      (error: unknown) => {
        if (this.#stopped) return;
        this.#view.link("retrying", `${describeProblem(error, this.server)} Trying again in ${Math.ceil(this.#retryMs / 1000)} s.`);
        this.#retry();
      },
    );
  }

  #retry(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, wait);
  }

  /** Recomputes who is here and how this tab reaches them. */
  #people(): void {
    const people: Person[] = [{ peerId: this.peerId, name: this.name, how: "you, in this tab", self: true }];
    const direct = new Set<string>();
    for (const p of this.pg.peers) {
      direct.add(p.peerId);
      const via = p.address.startsWith("ws") ? "WebSocket" : p.address.split(":")[0]!.toUpperCase();
      people.push({ peerId: p.peerId, name: this.#nameOf(p.peerId), how: `direct link (${via})${p.peerId === this.#serverPeer ? ", the room's bridge" : ""}`, self: false });
    }
    for (const m of this.pg.meshPeers) {
      if (direct.has(m.peerId) || m.peerId === this.peerId) continue;
      people.push({ peerId: m.peerId, name: this.#nameOf(m.peerId), how: `through ${this.#nameOf(m.via)}, ${m.hops} hop${m.hops === 1 ? "" : "s"}`, self: false });
    }
    this.#view.people(people);
  }

  /** Sends a message to everyone in the room. */
  async say(text: string): Promise<void> {
    if (text.length > MAX_TEXT_LENGTH) throw new Error(`The message has ${text.length} characters; the limit is ${MAX_TEXT_LENGTH}. Split it.`);
    if (this.pg.peers.length === 0) throw new Error("Not connected yet: the message was not sent. Wait for the link, then send it again.");
    await this.pg.send(CHAT_KIND, { user: this.name, text });
  }

  /** Sets the room topic for everyone. */
  setTopic(text: string): void {
    if (text.length > MAX_TOPIC_LENGTH) throw new Error(`The topic has ${text.length} characters; the limit is ${MAX_TOPIC_LENGTH}.`);
    this.pg.state.set(TOPIC_KEY, { text, by: this.name });
  }

  get topic(): Topic | undefined {
    return parseTopic(this.pg.state.get(TOPIC_KEY));
  }

  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#announceTimer);
    this.#view.link("stopped", "Left the room.");
    await this.pg.stop();
  }
}
