/**
 * What a lost link says about dialling its peer again, shared by Node's
 * connection manager and a page's stand-in (which applies the "never" rule
 * before Node's manager is loaded).
 */

import type { XppgError } from "@xppg/errors";
import { NODE_ERROR_CODES } from "./errors.js";

/** Ways a peer leaves that mean "not now": dial it back only after the longest backoff. */
const DELIBERATE = new Set<string>([NODE_ERROR_CODES.DISCONNECTED, NODE_ERROR_CODES.PEER_SHUTDOWN, NODE_ERROR_CODES.TOO_MANY_PEERS]);
/** Ways that mean "never": the peer is forgotten. */
const NEVER = new Set<string>([NODE_ERROR_CODES.BANNED, NODE_ERROR_CODES.NOT_ALLOWED, NODE_ERROR_CODES.APP_MISMATCH, NODE_ERROR_CODES.PROTOCOL_MISMATCH, NODE_ERROR_CODES.SELF_CONNECTION, NODE_ERROR_CODES.PEER_ID_MISMATCH]);

/** True when a peer lost this way must never be dialled again (a ban, another app...): it leaves the address book. */
export function neverAgain(error: XppgError | undefined): boolean {
  return error !== undefined && NEVER.has(error.code);
}

/** True when the peer left on purpose: it is dialled back only after the longest backoff. */
export function leftOnPurpose(error: XppgError | undefined): boolean {
  return error !== undefined && DELIBERATE.has(error.code);
}
