/** The port a chat listens on, and dials when `connect` is given no port. */
export const DEFAULT_CHAT_PORT = 7337;

/** The message kind of a chat line on the wire: payload `{ user, text }`. */
export const CHAT_KIND = "chat";

/** The message kind that tells a peer our display name when we meet: payload `{ user }`. */
export const NAME_KIND = "chat-name";

/** How long a join notice waits for the peer's name before it is printed with the peer id alone. */
export const JOIN_NAME_WAIT_MS = 1000;

/** The Playground's plain text kind (`pg.sendText`): shown too, with the sender's peer id as the user. */
export const TEXT_KIND = "text";

/** Longest display name, in UTF-16 code units, after cleaning. */
export const DEFAULT_MAX_NAME_LENGTH = 32;

/** Longest chat text, in UTF-16 code units. */
export const DEFAULT_MAX_TEXT_LENGTH = 2000;

/** Lines that end `run()`, compared trimmed and case-insensitively. */
export const DEFAULT_QUIT_WORDS: readonly string[] = ["quit", "exit"];

/** The name used when none is given and the OS user name is unusable. */
export const FALLBACK_NAME = "anonymous";

/** Longest wait for the router's port mapping (`openPortTimeoutMs`). */
export const DEFAULT_OPEN_PORT_TIMEOUT_MS = 3000;

