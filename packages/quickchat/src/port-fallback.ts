/** Starting a chat's node: the default port falls back to a free one when taken, and a router mapping that fails is reported, not fatal. */

import { isXppgError, type XppgError } from "@xppg/errors";
import type { Playground, PortMappingResult, StartOptions } from "@xppg/node";
import { DEFAULT_CHAT_PORT } from "./constants.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/**
 * Starts `pg`. When its listen fails because the port is in use and
 * `replace` is given (no port was asked for: another chat on this machine
 * holds the default one?), starts the node `replace()` builds on a free port
 * instead and reports which. The Playground bounds the port mapping itself
 * and turns a failing mapper into an unmapped result, which is reported
 * here: the chat carries on without it.
 */
export async function startWithPortFallback(
  pg: Playground,
  options: StartOptions,
  replace: (() => Playground) | undefined,
  report: (error: XppgError) => void,
): Promise<PortMappingResult | null> {
  let nat: PortMappingResult | null;
  try {
    nat = await pg.start(options);
  } catch (error) {
    if (replace === undefined || !portTaken(error)) throw error;
    pg = replace();
    nat = await pg.start(options);
    report(
      new QuickChatError(
        QUICKCHAT_ERROR_CODES.PORT_IN_USE,
        `Port ${DEFAULT_CHAT_PORT} is taken (another chat on this machine?), so this chat listens on port ${pg.port}. Chats on this network find it by themselves; to connect by hand, use port ${pg.port}.`,
        { cause: error, details: { port: pg.port, taken: DEFAULT_CHAT_PORT } },
      ),
    );
  }
  if (nat !== null && !nat.mapped && isXppgError(nat.error, "XPPG_ERR_PORT_MAPPING_FAILED")) {
    report(
      new QuickChatError(QUICKCHAT_ERROR_CODES.PORT_MAPPING_FAILED, `Could not ask the router to forward port ${pg.port}: ${nat.error.message} The chat runs without it.`, {
        cause: nat.error,
      }),
    );
  }
  return nat;
}

/** True for a listen that failed because the address is in use. */
function portTaken(error: unknown): boolean {
  if (!isXppgError(error, "XPPG_ERR_LISTEN_FAILED")) return false;
  const cause = (error as { cause?: unknown }).cause;
  return typeof cause === "object" && cause !== null && (cause as NodeJS.ErrnoException).code === "EADDRINUSE";
}
