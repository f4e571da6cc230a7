// @xppg/transport/adapter: what a transport adapter builds on. Write the
// socket code (a ConnectionLink), wrap it in a ConnectionCore, dial with
// dialWithDeadline, and run the compliance suite (@xppg/transport/compliance).
export { closeGuarded } from "./close-guarded.js";
export { ConnectionCore } from "./connection-core.js";
export type { ConnectionCoreOptions, ConnectionLink, LinkController } from "./connection-core.js";
export { dialWithDeadline } from "./dial.js";
export type { DialAttempt } from "./dial.js";
export {
  abortedError,
  badAddressError,
  connectionClosedError,
  connectionResetError,
  contractBrokenError,
  dialFailedError,
  dialTimeoutError,
  listenFailedError,
  loanMisusedError,
  protocolError,
  receiveBufferFullError,
  writeFailedError,
} from "../errors.js";
export { FrameInbox, HELD_FRAME_OVERHEAD } from "./frame-inbox.js";
export type { FrameInboxOptions } from "./frame-inbox.js";
export { hostFromIp } from "./host.js";
export { checkInteger } from "./options.js";
export { endLoanThrough, lendRoomThrough, sendLentThrough } from "./lent-send.js";
export type { LendingLink } from "./lent-send.js";
export { joinKnownParts, joinParts, partsLength, sendJoined } from "./parts.js";
export { SendWaiters } from "./send-waiters.js";
export { TickHooks } from "./tick-hooks.js";
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  MAX_TIMER_MS,
} from "../constants.js";
export { MAX_FRAME_SIZE_LIMIT, frameTooLargeError } from "@xppg/framing";
