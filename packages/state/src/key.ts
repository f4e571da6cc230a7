import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { utf8Length } from "./value.js";
import { ERROR_TEXTS } from "@xppg/errors";

/**
 * Checks a key: a string of at most `maxKeyLength` UTF-16 code units with no
 * lone surrogate (MessagePack would change it in transit). Any string else is
 * fine, `"__proto__"` included: keys live in a `Map`, never on an object.
 * Throws `XPPG_ERR_STATE_INVALID_KEY` or `XPPG_ERR_STATE_KEY_TOO_LONG`.
 */
export function checkKey(key: unknown, maxKeyLength: number, where: string): string {
  if (typeof key !== "string") {
    throw new StateError(STATE_ERROR_CODES.INVALID_KEY, ERROR_TEXTS ? `${where}: a key must be a string, not ${key === null ? "null" : typeof key}.` : [where, key === null ? "null" : typeof key]);
  }
  if (key.length > maxKeyLength) {
    throw new StateError(
      STATE_ERROR_CODES.KEY_TOO_LONG,
      ERROR_TEXTS ? `${where}: the key is ${key.length} characters long, over maxKeyLength (${maxKeyLength}). Use shorter keys, or raise maxKeyLength on every replica.` : [where, key.length, maxKeyLength],
      { details: { length: key.length, maxKeyLength } },
    );
  }
  if (utf8Length(key) < 0) {
    throw new StateError(STATE_ERROR_CODES.INVALID_KEY, ERROR_TEXTS ? `${where}: the key holds a lone UTF-16 surrogate, which would not survive the trip to a peer.` : [where]);
  }
  return key;
}

/** True for a replica id: a non-empty, well-formed string of at most `maxLength` code units. */
export function isReplicaId(id: unknown, maxLength: number): id is string {
  return typeof id === "string" && id.length > 0 && id.length <= maxLength && utf8Length(id) >= 0;
}
