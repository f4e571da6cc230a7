/** The `files` option (`pg.files`, the swarm file protocol): its keys and their checks. */

import { checkInteger, checkOptions, checkPositive } from "./argument-checks.js";
import type { PlaygroundFilesOptions } from "./files-room.js";

const CALL = "new Playground(appName, options)";
const KEYS = ["uploadBytesPerSecond", "findTimeoutMs", "requestTimeoutMs", "maxInFlightPerPeer"] as const;

/** Checks the `files` option; unknown keys and bad values throw `XPPG_ERR_INVALID_ARGUMENT`. */
export function resolveFilesOptions(value: unknown): PlaygroundFilesOptions {
  const o = checkOptions(value, KEYS, CALL, "files");
  const out: { -readonly [K in keyof PlaygroundFilesOptions]: PlaygroundFilesOptions[K] } = {};
  if (o.uploadBytesPerSecond !== undefined) out.uploadBytesPerSecond = checkPositive(o.uploadBytesPerSecond, "files.uploadBytesPerSecond", CALL, "{ files: { uploadBytesPerSecond: 10e6 } }", true);
  if (o.findTimeoutMs !== undefined) out.findTimeoutMs = checkPositive(o.findTimeoutMs, "files.findTimeoutMs", CALL, "{ files: { findTimeoutMs: 30000 } }", true);
  if (o.requestTimeoutMs !== undefined) out.requestTimeoutMs = checkPositive(o.requestTimeoutMs, "files.requestTimeoutMs", CALL, "{ files: { requestTimeoutMs: 5000 } }", false);
  if (o.maxInFlightPerPeer !== undefined) out.maxInFlightPerPeer = checkInteger(o.maxInFlightPerPeer, "files.maxInFlightPerPeer", CALL, "{ files: { maxInFlightPerPeer: 16 } }", 1, 256);
  return out;
}

export type { PlaygroundFilesOptions };
