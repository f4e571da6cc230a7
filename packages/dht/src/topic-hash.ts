import { createHash } from "node:crypto";
import { MAX_NAME_LENGTH, TOPIC_HASH_CONTEXT } from "./constants.js";
import { invalidDhtArgument } from "./errors.js";

/**
 * The 20-byte infohash a topic is announced under: SHA-256 over a fixed
 * context string, then the app name and the topic, each behind its length
 * (so `("ab", "c")` and `("a", "bc")` differ), cut to 160 bits. Neither the
 * app name nor the topic travels in clear; a topic easy to guess can still
 * be found by hashing guesses, as with any rendezvous by name.
 *
 * @throws `XPPG_ERR_INVALID_ARGUMENT` for an empty or over-long name.
 */
export function topicInfoHash(appName: string, topic: string): Buffer {
  const app = checkName(appName, "appName");
  const t = checkName(topic, "topic");
  const h = createHash("sha256").update(TOPIC_HASH_CONTEXT);
  for (const part of [app, t]) {
    const bytes = Buffer.from(part, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  }
  return h.digest().subarray(0, 20);
}

/** Checks an app name or topic: a string of 1 to 256 characters. */
export function checkName(value: unknown, what: string, call?: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw invalidDhtArgument(`${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters, got ${JSON.stringify(typeof value === "string" ? value.slice(0, 40) : typeof value)}`, call);
  }
  return value;
}
