import { isXppgError } from "@xppg/errors";
import { frameTooLargeError } from "@xppg/framing";
import { loanMisusedError, writeFailedError } from "../errors.js";
import type { ConnectionCore, ConnectionLink } from "./connection-core.js";

/** A link that lends room of its send buffer (`lendRoom`, `sendLent`, `endLoan`). */
export type LendingLink = Required<Pick<ConnectionLink, "lendRoom" | "sendLent" | "endLoan">>;

// Module functions, not methods of ConnectionCore: a connection whose link lends nothing (a WebSocket in a page) does not carry them.

/**
 * `Connection.lendRoom` of a connection built on {@link ConnectionCore}
 * over a link that lends: `lendRoom(min, max) { return lendRoomThrough(this, this.#link, min, max); }`.
 * Undefined once the connection is closed, or when the link threw (it broke
 * its contract): then the connection closes with the typed error a `send`
 * that threw gets, and the caller sends copies.
 */
export function lendRoomThrough(core: ConnectionCore, link: LendingLink, min: number, max: number): Uint8Array | undefined {
  if (core.isClosed) return undefined;
  try {
    return link.lendRoom(min, max);
  } catch (err) {
    void sendThrew(core, err).catch(noop);
    return undefined;
  }
}

/**
 * `Connection.sendLent` over a link that lends (see {@link lendRoomThrough}):
 * the checks `send` makes (closed, `maxFrameSize`: the loan ends, the
 * connection stays), then the link's `sendLent`. With no loan to send (the
 * link answers null) the connection closes with `XPPG_ERR_TRANSPORT_CONTRACT`.
 */
export function sendLentThrough(core: ConnectionCore, link: LendingLink, length: number): Promise<void> {
  // Closed: the very rejection `send` gives (the close's cause with it); the link ended its loan when it closed.
  if (core.isClosed) return core.send(EMPTY);
  if (length > core.maxFrameSize) {
    link.endLoan();
    return Promise.reject(frameTooLargeError(length, core.maxFrameSize, "sent"));
  }
  let sent: Promise<void> | null;
  try {
    sent = link.sendLent(length);
  } catch (err) {
    return sendThrew(core, err);
  }
  // No loan to send: what was written was never lent, or a send ended the loan; the peer would read on past a gap.
  return sent ?? sendThrew(core, loanMisusedError(core.remoteAddress, length));
}

const EMPTY = new Uint8Array(0);

function noop(): void {}

/** As ConnectionCore's own: what the link held is in an unknown state, so the connection closes with a typed error. */
function sendThrew(core: ConnectionCore, err: unknown): Promise<void> {
  const error = isXppgError(err) ? err : writeFailedError(core.remoteAddress, err);
  void core.close(error);
  return Promise.reject(error);
}
