export { XPPG_ERROR_CODES } from "./codes.js";
export type { XppgErrorCode } from "./codes.js";
export { XPPG_ERROR_TAG, XppgError, isXppgError, toError } from "./xppg-error.js";
export type { XppgErrorOptions } from "./xppg-error.js";
export { now, toPerformanceTime } from "#clock";
