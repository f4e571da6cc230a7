import { XppgError, type XppgErrorOptions } from "@xppg/errors";

/** Stable codes of the errors `@xppg/yjs` throws or reports. */
export const YJS_ERROR_CODES = {
  /** An argument of `new PlaygroundProvider(...)` is wrong. */
  INVALID_ARGUMENT: "XPPG_ERR_YJS_INVALID_ARGUMENT",
  /** A peer sent a Yjs message that is not bytes, is too large, or that Yjs cannot read; the peer is disconnected. */
  BAD_UPDATE: "XPPG_ERR_YJS_BAD_UPDATE",
  /** A local update is larger than `maxUpdateSize` and was not sent; peers get it at their next sync only if it shrinks. */
  UPDATE_TOO_LARGE: "XPPG_ERR_YJS_UPDATE_TOO_LARGE",
} as const;

/** One of the {@link YJS_ERROR_CODES}. */
export type YjsErrorCode = (typeof YJS_ERROR_CODES)[keyof typeof YJS_ERROR_CODES];

/** Any error from `@xppg/yjs`; `code` is one of {@link YJS_ERROR_CODES}. */
export class YjsError extends XppgError {
  constructor(code: YjsErrorCode, message: string, options?: XppgErrorOptions) {
    super(code, message, options, new.target === YjsError ? "YjsError" : undefined);
  }
}
