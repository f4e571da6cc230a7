/** The `files` option (`pg.files`, the swarm file protocol): its keys and their checks. */

import { checkOptions, checkRules, type OptionRule } from "./argument-checks.js";
import type { PlaygroundFilesOptions } from "./files-room.js";

const CALL = "new Playground(appName, options)";
const RULES: Record<string, OptionRule> = {
  uploadBytesPerSecond: ["limit", "10e6"],
  findTimeoutMs: ["limit", "30000"],
  requestTimeoutMs: ["number", "5000"],
  maxInFlightPerPeer: ["integer", "16", 1, 256],
};

/** Checks the `files` option; unknown keys and bad values throw `XPPG_ERR_INVALID_ARGUMENT`. */
export function resolveFilesOptions(value: unknown): PlaygroundFilesOptions {
  return checkRules(checkOptions(value, Object.keys(RULES), CALL, "files"), RULES, CALL, "files");
}

export type { PlaygroundFilesOptions };
