/**
 * Signed, mutable records on the DHT (BEP 44): a node stores a small value
 * under its own Ed25519 public key, signed by it, with a sequence number that
 * only grows; anyone who knows the key finds the newest value again, however
 * often the node's address changed. The value is opaque here (`@xppg/node`
 * puts the node's addresses in it).
 *
 * The item's salt is derived from the app name (domain-separated, like the
 * topic hash), so the records of two apps, or another use of the same key,
 * never collide.
 */

import { createHash, createPublicKey, verify } from "node:crypto";

/** BEP 44's bound on a value (bencoded); larger values are refused before anything is sent. */
export const MAX_RECORD_BYTES = 1000;
/** Domain separation of the record's salt. */
export const RECORD_SALT_CONTEXT = "xppg/dht/v1/record\u0000";

/** What {@link DhtDiscovery.publish} takes: the node's key, its signer and the value. */
export interface SignedRecordInput {
  /** The 32-byte Ed25519 public key the record is stored and found under. */
  readonly publicKey: Uint8Array;
  /** Signs with the matching secret key (a 64-byte Ed25519 signature); called once per publish. */
  sign(data: Uint8Array): Uint8Array;
  /** The value, at most 1000 bytes once bencoded (a few bytes more than its length). */
  readonly value: Uint8Array;
  /** Its sequence number: higher than any the key published before (the time in ms does). */
  readonly seq: number;
}

/** A record found: its value and sequence number, signature checked. */
export interface SignedRecord {
  readonly value: Uint8Array;
  readonly seq: number;
}

/** The salt of an app's records: 20 bytes of SHA-256 over the context and the app name. */
export function recordSalt(appName: string): Buffer {
  const name = Buffer.from(appName, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  return createHash("sha256").update(RECORD_SALT_CONTEXT).update(len).update(name).digest().subarray(0, 20);
}

/** The DHT target of a key's record: SHA-1 over the key and the salt (BEP 44). */
export function recordTarget(publicKey: Uint8Array, salt: Buffer): Buffer {
  return createHash("sha1").update(publicKey).update(salt).digest();
}

const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Checks an Ed25519 signature (the DHT library's `verify`); false for any malformed input, never throws. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(publicKey instanceof Uint8Array) || publicKey.length !== 32 || !(message instanceof Uint8Array)) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: "der", type: "spki" });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
