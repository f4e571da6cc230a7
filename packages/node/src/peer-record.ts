/**
 * Signed peer records: a node's own statement of where it can be reached,
 * signed with its identity key, so a record passed on by others cannot be
 * made to carry addresses in another peer's name (INTERNALS.md, "Peer
 * exchange"). The record signs `xppg-peer-record-v1:` followed by the JSON
 * of `[peerId, addresses, time]`.
 */

import type { Identity } from "@xppg/secure";
import { isPeerId, publicKeyFromPeerId, verifySignature } from "@xppg/secure";
import type { PeerRecord } from "./mesh/address-book.js";

/** Most addresses one record carries. */
export const MAX_RECORD_ADDRESSES = 8;
/** Longest address in a record. */
export const MAX_ADDRESS_LENGTH = 256;
const SIGNATURE_BYTES = 64;
const DOMAIN = "xppg-peer-record-v1:";
const encoder = new TextEncoder();

function signedBytes(peerId: string, addresses: readonly string[], time: number): Uint8Array {
  return encoder.encode(DOMAIN + JSON.stringify([peerId, addresses, time]));
}

/** This node's record of `addresses` (at most 8 kept), made now. */
export function signRecord(identity: Identity, addresses: readonly string[], time: number): PeerRecord {
  const kept = addresses.filter((a) => a.length > 0 && a.length <= MAX_ADDRESS_LENGTH).slice(0, MAX_RECORD_ADDRESSES);
  return { peerId: identity.peerId, addresses: kept, time, signature: identity.sign(signedBytes(identity.peerId, kept, time)) };
}

/** The wire form: `[peerId, addresses, time, signature, how]`; `how` is 0 when the sender is connected to that peer (or is it), 1 otherwise. */
export type WireRecord = [string, string[], number, Uint8Array, number];

export function toWire(record: PeerRecord, connected: boolean): WireRecord {
  return [record.peerId, [...record.addresses], record.time, record.signature, connected ? 0 : 1];
}

/** A wire record of the right shape and limits, not yet checked for its signature; null when malformed. */
export function parseWireRecord(value: unknown): { record: PeerRecord; connected: boolean } | null {
  if (!Array.isArray(value) || value.length !== 5) return null;
  const [peerId, addresses, time, signature, how] = value as unknown[];
  if (typeof peerId !== "string" || peerId.length > 128 || !isPeerId(peerId)) return null;
  if (!Array.isArray(addresses) || addresses.length > MAX_RECORD_ADDRESSES) return null;
  if (!addresses.every((a) => typeof a === "string" && a.length > 0 && a.length <= MAX_ADDRESS_LENGTH)) return null;
  if (!Number.isSafeInteger(time) || (time as number) < 0) return null;
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return null;
  if (how !== 0 && how !== 1) return null;
  // The signature copied: a record is kept for long (the address book), and a view would keep its whole frame alive.
  return { record: { peerId, addresses: addresses as string[], time: time as number, signature: new Uint8Array(signature) }, connected: how === 0 };
}

/** True when the record was signed by the peer it names. */
export function verifyRecord(record: PeerRecord): boolean {
  return verifySignature(publicKeyFromPeerId(record.peerId), signedBytes(record.peerId, record.addresses, record.time), record.signature);
}
