export { XPPG_ERROR_CODES } from "./codes.js";
export type { XppgErrorCode } from "./codes.js";
export { TEXTS_LEFT_OUT, XPPG_ERROR_TAG, XppgError, isXppgError, toError, valuesMessage } from "./xppg-error.js";
export { argumentError, badArgumentError } from "./argument-error.js";
export type { ArgumentWords } from "./argument-error.js";
export type { ErrorText, ErrorValues, XppgErrorOptions } from "./xppg-error.js";
export { ERROR_TEXTS } from "#texts";
export { now, toPerformanceTime } from "#clock";
export { byteArrayLength, byteArrayPlace, byteArrayView, checkByteArray, viewBytes } from "./byte-array.js";
