/**
 * Which lost links mean their peer must never be dialled again, shared by
 * Node's connection manager and a page's stand-in (which applies the rule
 * before Node's manager is loaded).
 */

import type { XppgError } from "@xppg/errors";
import { NODE_ERROR_CODES } from "./errors.js";

/**
 * Ways the pinned peer itself says "never": the peer is forgotten. Not a dial that reached this node or
 * another peer id (`SELF_CONNECTION`, `PEER_ID_MISMATCH`): that says only that the address is wrong, and
 * Node's manager drops that address alone (a node at the address on the dialler's LAN cannot make it forget
 * the peer).
 */
const NEVER = new Set<string>([NODE_ERROR_CODES.BANNED, NODE_ERROR_CODES.NOT_ALLOWED, NODE_ERROR_CODES.APP_MISMATCH, NODE_ERROR_CODES.PROTOCOL_MISMATCH]);

/** True when a peer lost this way must never be dialled again (a ban, another app...): it leaves the address book. */
export function neverAgain(error: XppgError | undefined): boolean {
  return error !== undefined && NEVER.has(error.code);
}
