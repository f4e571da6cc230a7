/**
 * A screen in front of the DHT library's query handlers: `bittorrent-dht`
 * reads a query's arguments without checking their types, and one packet
 * with a number where a byte string belongs (an `announce_peer` token, a
 * `get_peers` info hash, a `find_node` target) threw inside the socket's
 * message handler and ended the process. A query passes only with the
 * argument types of BEP 5 and BEP 44; anything else is dropped unanswered,
 * as the library drops a query it cannot read.
 */

import type { DhtInstance } from "./bittorrent-dht.js";

/** Length of node ids, info hashes and targets (SHA-1). */
const ID_BYTES = 20;
/** BEP 44: an ed25519 key, a signature, at most 64 bytes of salt. */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const MAX_SALT_BYTES = 64;
/** Tokens are opaque, but ours are 20 bytes (SHA-1): a longer one cannot be valid. */
const MAX_TOKEN_BYTES = 64;

type Args = Record<string, unknown>;

const isBytes = (v: unknown, length?: number): v is Buffer => Buffer.isBuffer(v) && (length === undefined ? true : v.length === length);
const isInt = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v);
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);
const isToken = (v: unknown): boolean => isBytes(v) && v.length > 0 && v.length <= MAX_TOKEN_BYTES;

const QUERIES: Readonly<Record<string, (a: Args) => boolean>> = {
  ping: () => true,
  find_node: (a) => isBytes(a["target"], ID_BYTES),
  get_peers: (a) => isBytes(a["info_hash"], ID_BYTES),
  announce_peer: (a) => isBytes(a["info_hash"], ID_BYTES) && isToken(a["token"]) && optional(a["port"], isInt) && optional(a["implied_port"], isInt),
  get: (a) => isBytes(a["target"], ID_BYTES) && optional(a["seq"], isInt),
  put: (a) =>
    isToken(a["token"]) &&
    a["v"] !== undefined &&
    optional(a["k"], (k) => isBytes(k, KEY_BYTES)) &&
    optional(a["sig"], (s) => isBytes(s, SIGNATURE_BYTES)) &&
    optional(a["salt"], (s) => isBytes(s) && s.length <= MAX_SALT_BYTES) &&
    optional(a["seq"], isInt) &&
    optional(a["cas"], isInt),
};

/**
 * True for a query the library may read: a known method (unknown ones pass:
 * the library ignores them), its arguments a dictionary with a 20-byte `id`
 * and the types BEP 5 and BEP 44 give each argument it reads.
 */
export function isWellFormedQuery(query: unknown): boolean {
  if (typeof query !== "object" || query === null) return false;
  const { q, a } = query as { q?: unknown; a?: unknown };
  if (!isBytes(q) && typeof q !== "string") return false;
  if (typeof a !== "object" || a === null || Array.isArray(a) || Buffer.isBuffer(a)) return false;
  const args = a as Args;
  if (!isBytes(args["id"], ID_BYTES)) return false;
  const check = QUERIES[q.toString()];
  return check === undefined || check(args);
}

/** Puts the screen in front of the library's query handlers; `onDropped` counts what it drops. */
export function screenQueries(dht: DhtInstance, onDropped: () => void): void {
  const internals = dht as unknown as { _onquery?: (query: unknown, peer: unknown) => void };
  const onquery = internals._onquery;
  if (typeof onquery !== "function") {
    // The screen would step aside without a word and one malformed packet could end the process again.
    throw new Error("@xppg/dht: the installed bittorrent-dht has no _onquery handler to screen; it is not the version this package pins. Install the pinned version.");
  }
  internals._onquery = function (this: unknown, query: unknown, peer: unknown): void {
    if (isWellFormedQuery(query)) onquery.call(this, query, peer);
    else onDropped();
  };
}
