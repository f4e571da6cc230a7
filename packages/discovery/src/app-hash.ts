import { createHash } from "node:crypto";
import { APP_HASH_CONTEXT, APP_HASH_HEX_CHARS, SERVICE_TYPE } from "./constants.js";

/**
 * The app's hash as announced on the LAN: SHA-256 over a fixed context
 * string and the app name, cut to 80 bits, in hex. The app name is never
 * sent in clear; note that a guessable name (a dictionary word) can still be
 * found by hashing guesses.
 */
export function appHash(appName: string): string {
  return createHash("sha256").update(APP_HASH_CONTEXT).update(appName, "utf8").digest("hex").slice(0, APP_HASH_HEX_CHARS);
}

/** The DNS-SD subtype that only nodes of one app announce: `_<hash>._sub._xppg._tcp.local`. */
export function appSubtype(hash: string): string {
  return `_${hash}._sub.${SERVICE_TYPE}`;
}

/** The instance name of a peer: `<peerId>._xppg._tcp.local`. */
export function instanceName(peerId: string): string {
  return `${peerId}.${SERVICE_TYPE}`;
}

/** The host name in our SRV record: `<peerId>.local`. */
export function hostName(peerId: string): string {
  return `${peerId}.local`;
}
