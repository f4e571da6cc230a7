import { ERROR_TEXTS, badArgumentError } from "@xppg/errors";
import { frameTooLargeError } from "@xppg/framing";
import { loanMisusedError } from "../errors.js";
import { sendThrew, type ConnectionCore, type ConnectionLink } from "./connection-core.js";

/** A link that lends room of its send buffer (`lendRoom`, `sendLent`, `endLoan`). */
export type LendingLink = Required<Pick<ConnectionLink, "lendRoom" | "sendLent" | "endLoan">>;

// Module functions, not methods of ConnectionCore: a connection whose link lends nothing (a WebSocket in a page) does not carry them.

/**
 * `Connection.lendRoom` of a connection built on {@link ConnectionCore}
 * over a link that lends: `lendRoom(min, max) { return lendRoomThrough(this, this.#link, min, max); }`.
 * `min` and `max` must be whole numbers with `0 <= min <= max`: else it
 * throws `XPPG_ERR_INVALID_ARGUMENT` (a `RangeError`) and the connection
 * stays open. Undefined once the connection is closed, when `min` is over
 * `maxFrameSize` (no frame that size could be sent), or when the link threw
 * (it broke its contract): then the connection closes with the typed error a
 * `send` that threw gets, and the caller sends copies. Any loan open before
 * the call ends, whatever it answers.
 */
export function lendRoomThrough(core: ConnectionCore, link: LendingLink, min: number, max: number): Uint8Array | undefined {
  if (!(Number.isSafeInteger(min) && min >= 0)) {
    link.endLoan();
    throw badArgumentError(RangeError, "lendRoom", "min", ERROR_TEXTS && ["a whole number of bytes of at least 0", min]);
  }
  if (!(Number.isSafeInteger(max) && max >= min)) {
    link.endLoan();
    throw badArgumentError(RangeError, "lendRoom", "max", ERROR_TEXTS && [`a whole number of bytes of at least min (${min})`, max]);
  }
  if (core.isClosed) return undefined;
  if (min > core.maxFrameSize) {
    link.endLoan();
    return undefined;
  }
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

/**
 * `Connection.endLoan` over a link that lends (see {@link lendRoomThrough}):
 * ends the loan open, if any, without sending (the room goes back to the
 * connection). Nothing to do when none is open or the connection is closed.
 */
export function endLoanThrough(link: LendingLink): void {
  link.endLoan();
}

const EMPTY = new Uint8Array(0);

function noop(): void {}

