/** Who a chat is: its display name, the key file it keeps its key in, and its identity. */

import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { generateIdentity, type Identity } from "@xppg/secure";
import { loadOrCreateIdentitySync } from "@xppg/secure/key-file";
import { cleanName } from "./chat-message.js";
import { FALLBACK_NAME } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";
import type { QuickChatOptions } from "./options.js";

/** One key per user name under the config folder: `$XDG_CONFIG_HOME/xppg/quickchat-<name>.key`. */
export function defaultKeyFile(name: string): string {
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "xppg", `quickchat-${name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_")}.key`);
}

/**
 * The display name: the `name` option cleaned, else the OS user's.
 * @throws `XPPG_ERR_INVALID_ARGUMENT` for a given name that is empty once cleaned, or longer than `max`.
 */
export function chooseName(name: string | undefined, max: number): string {
  return name === undefined ? defaultName(max) : checkName(name, max);
}

/**
 * The key file to load and lock, or undefined for a key kept in memory.
 * One key per process unless a name or key file is given: two chats on one
 * machine must never be the same peer by accident.
 */
export function chooseKeyFile(options: QuickChatOptions, name: string): string | undefined {
  if (options.identity !== undefined || options.keyFile === false) return undefined;
  return options.keyFile ?? (options.name !== undefined ? defaultKeyFile(name) : undefined);
}

/** The identity given, else the one in `keyFile` (created there on first use), else a new one. */
export function chooseIdentity(options: QuickChatOptions, keyFile: string | undefined): Identity {
  return options.identity ?? options.playgroundOptions?.identity ?? (keyFile !== undefined ? loadOrCreateIdentitySync(keyFile) : generateIdentity());
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
