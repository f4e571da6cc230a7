import { DEFAULT_CHAT_PORT } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** A host and port to connect to. */
export interface ChatAddress {
  host: string;
  port: number;
}

function toPort(text: string, input: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `"${input}" has no valid port: use a number from 1 to 65535, as in "192.168.1.42:7337".`);
  }
  return port;
}

/**
 * Reads `"host"`, `"host:port"`, `"[ipv6]:port"` or a bare IPv6 address.
 * Without a port, `defaultPort` is used.
 * Throws `XPPG_ERR_INVALID_ARGUMENT` for an empty host or a bad port.
 *
 * ```ts
 * parseChatAddress("192.168.1.42:7337"); // { host: "192.168.1.42", port: 7337 }
 * parseChatAddress("[::1]:7000");        // { host: "::1", port: 7000 }
 * ```
 */
export function parseChatAddress(input: string, defaultPort: number = DEFAULT_CHAT_PORT): ChatAddress {
  if (typeof input !== "string" || input.trim().length === 0) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `A peer address must be a non-empty string such as "192.168.1.42:7337", got ${JSON.stringify(input)}.`);
  }
  const text = input.trim();
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    return { host: bracketed[1]!, port: bracketed[2] === undefined ? defaultPort : toPort(bracketed[2], text) };
  }
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = text.split(":") as [string, string];
    if (host.length === 0) throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `"${text}" has no host: use an address such as "192.168.1.42:7337".`);
    return { host, port: toPort(port, text) };
  }
  // No colon: a host name or IPv4; several: a bare IPv6 address.
  return { host: text, port: defaultPort };
}
