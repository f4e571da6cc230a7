import { XPPG_ERROR_CODES, XppgError, type XppgErrorOptions } from "@xppg/errors";

/** Stable codes of the errors `@xppg/files` throws or reports. */
export const FILES_ERROR_CODES = {
  /** A call got an argument it cannot use (a content id that is not 64 hex characters, a missing `dir`). */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** The caller's `AbortSignal` fired; the partial download is kept for a later `download` to resume. */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
  /** `share` could not read the file (missing, not a regular file, changed while it was read). */
  READ_FAILED: "XPPG_ERR_FILES_READ_FAILED",
  /** No connected peer had the content (or all of them left) for `findTimeoutMs`; the partial download is kept. */
  NOT_FOUND: "XPPG_ERR_FILES_NOT_FOUND",
  /** A peer's manifest breaks the limits (size, chunk size, chunk count) or does not match its content id. */
  INVALID_MANIFEST: "XPPG_ERR_FILES_INVALID_MANIFEST",
  /** The content is larger than `maxFileSize`. */
  TOO_LARGE: "XPPG_ERR_FILES_TOO_LARGE",
  /** A peer sent a chunk whose length or hash is wrong: it is penalised (reported, dropped from the download). */
  BAD_CHUNK: "XPPG_ERR_FILES_BAD_CHUNK",
  /** A peer sent a malformed files message. */
  PROTOCOL_VIOLATION: "XPPG_ERR_FILES_PROTOCOL_VIOLATION",
  /** The disk holding the download directory is full (ENOSPC); the verified part is kept for resume. */
  DISK_FULL: "XPPG_ERR_FILES_DISK_FULL",
  /** Writing the download failed for another reason (permissions, a missing directory); the verified part is kept. */
  WRITE_FAILED: "XPPG_ERR_FILES_WRITE_FAILED",
  /** The swarm was closed (the node stopped) while a call was running. */
  CLOSED: "XPPG_ERR_FILES_CLOSED",
  /** A pushed file was declined (by the receiver's `accept`, or too many pushes from one neighbour): nothing was written. */
  REFUSED: "XPPG_ERR_FILES_REFUSED",
} as const;

/** One of the {@link FILES_ERROR_CODES}. */
export type FilesErrorCode = (typeof FILES_ERROR_CODES)[keyof typeof FILES_ERROR_CODES];

/** Any error from `@xppg/files`; `code` is one of {@link FILES_ERROR_CODES}. */
export class FilesError extends XppgError {
  constructor(code: FilesErrorCode, message: string, options?: XppgErrorOptions) {
    super(code, message, options, new.target === FilesError ? "FilesError" : undefined);
  }
}

/** A malformed message from a peer. */
export function violation(peerId: string, why: string): FilesError {
  return new FilesError(FILES_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${peerId} sent a malformed files message (${why}). It is dropped.`, { details: { peerId } });
}

/** A call's bad argument, with the right call. */
export function invalidArgument(call: string, why: string, right: string): FilesError {
  return new FilesError(FILES_ERROR_CODES.INVALID_ARGUMENT, `${call}: ${why}. For example: ${right}`);
}
