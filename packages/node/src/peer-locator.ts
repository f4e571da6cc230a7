/**
 * Finding a known peer again after its address changed: while a node is in
 * a topic it publishes a signed, mutable DHT record (BEP 44, `@xppg/dht`'s
 * `publish`) under its own Ed25519 key, holding the addresses it advertises
 * (public, mapped, listen, relayed); `pg.findPeer(peerId)` reads the newest
 * record of that key and joins the peer at one of its addresses, the peer
 * id pinned. The record is signed by the key it is stored under (the DHT
 * nodes and the reader check it); its sequence number is the time it was
 * made, so a restarted node's record replaces the old one.
 *
 * Record (JSON, at most 990 bytes): `{ "v": 1, "a": ["tcp://...", "relay://..."] }`;
 * addresses are cut from the end until it fits.
 */

import type { DhtDiscovery } from "@xppg/dht";
import { isPeerId, publicKeyFromPeerId, type Identity } from "@xppg/secure";
import { isWildcardAddress } from "./connection-manager.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerInfo } from "./peer-table.js";

/** Addresses a record holds at most, and the longest address kept. */
export const MAX_RECORD_ADDRESSES = 8;
const MAX_ADDRESS_LENGTH = 256;
/** The record's value stays under BEP 44's 1000 bytes (bencoded) with room to spare. */
const MAX_VALUE_BYTES = 990;
/** Addresses of a record `findPeer` tries, one after another. */
const MAX_TRIED = 4;
/** Each of those dials' deadline. */
const FIND_DIAL_TIMEOUT_MS = 8_000;
/** The record is published again this often even when the addresses did not change (DHT nodes come and go). */
export const REPUBLISH_MS = 15 * 60_000;
/** The first publish waits this long after the first topic is joined. */
export const RECORD_FIRST_DELAY_MS = 3_000;
/** How often the addresses are compared with the published ones. */
export const CHECK_MS = 30_000;

/** The record's bytes for `addresses`, cut to fit. */
export function encodePeerRecord(addresses: readonly string[]): Uint8Array {
  const kept = addresses.filter((a) => typeof a === "string" && a.length <= MAX_ADDRESS_LENGTH).slice(0, MAX_RECORD_ADDRESSES);
  for (;;) {
    const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, a: kept }));
    if (bytes.length <= MAX_VALUE_BYTES || kept.length === 0) return bytes;
    kept.pop();
  }
}

/** An address as a record may carry it: printable ASCII, no spaces. */
const PRINTABLE_ADDRESS = /^[\x21-\x7e]+$/;

/** The addresses of a record read from the DHT (untrusted bytes, though signed by the peer): undefined when malformed. */
export function decodePeerRecord(bytes: Uint8Array): string[] | undefined {
  if (bytes.length > 1000) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null) return undefined;
  const { v, a: list } = data as { v?: unknown; a?: unknown };
  if (v !== 1 || !Array.isArray(list) || list.length > MAX_RECORD_ADDRESSES) return undefined;
  // Printable ASCII only: an address ends up in error messages and logs.
  if (!list.every((a) => typeof a === "string" && a.length <= MAX_ADDRESS_LENGTH && PRINTABLE_ADDRESS.test(a))) return undefined;
  return list as string[];
}

export interface PeerLocatorOptions {
  readonly identity: Identity;
  /** The addresses this node advertises, best first (`ReachRoom.advertisedAddresses()`). */
  addresses(): string[];
  /** True when a transport of this node can dial the address. */
  canDial(address: string): boolean;
  /** Joins `address`, the peer id pinned. */
  join(address: string, peerId: string, timeoutMs: number): Promise<PeerInfo>;
  /** The peer's info when it is connected now. */
  connected(peerId: string): PeerInfo | undefined;
}

/** Publishes this node's record while a topic is joined; finds others' records. */
export class PeerLocator {
  readonly #o: PeerLocatorOptions;
  #published = "";
  #publishedAt = 0;
  #publishing = false;

  constructor(options: PeerLocatorOptions) {
    this.#o = options;
  }

  /** Publishes the record when the addresses changed since the last time, or it is due again; failures wait for the next check. */
  async publish(dht: DhtDiscovery, now = Date.now()): Promise<void> {
    const addresses = this.#o.addresses();
    const key = addresses.join(" ");
    if (this.#publishing || addresses.length === 0 || (key === this.#published && now - this.#publishedAt < REPUBLISH_MS)) return;
    this.#publishing = true;
    try {
      const { identity } = this.#o;
      // The sequence number only grows: the time in ms, past the last one used.
      await dht.publish({ publicKey: identity.publicKey, sign: (data) => identity.sign(data), value: encodePeerRecord(addresses), seq: Math.max(now, this.#publishedAt + 1) });
      this.#published = key;
      this.#publishedAt = Math.max(now, this.#publishedAt + 1);
    } finally {
      this.#publishing = false;
    }
  }

  /** Forgets what was published (the DHT closed): the next publish sends it again. */
  reset(): void {
    this.#published = "";
  }

  /**
   * Reads the peer's newest record and joins it at the first of its
   * addresses that answers (at most 4 tried).
   *
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a bad peer id, `XPPG_ERR_PEER_NOT_FOUND` when no record was
   * found or none of its addresses reached the peer.
   */
  async find(dht: DhtDiscovery, peerId: string): Promise<PeerInfo> {
    const now = this.#o.connected(peerId);
    if (now !== undefined) return now;
    const record = await dht.resolve(publicKeyFromPeerId(peerId));
    const addresses = record === undefined ? undefined : decodePeerRecord(record.value);
    if (addresses === undefined) throw notFound(peerId, "no record of it was found on the DHT (it publishes one while it is in a topic)");
    const errors: string[] = [];
    for (const address of addresses.filter((a) => this.#o.canDial(a) && !isWildcardAddress(a)).slice(0, MAX_TRIED)) {
      try {
        return await this.#o.join(address, peerId, FIND_DIAL_TIMEOUT_MS);
      } catch (error) {
        errors.push(`${address}: ${(error as Error).message}`);
      }
    }
    throw notFound(peerId, errors.length === 0 ? "its record names no address this node can dial" : `none of its addresses answered (${errors.join("; ")})`);
  }
}

/** True for a peer id `findPeer` can look up. */
export function validPeerId(peerId: unknown): peerId is string {
  return typeof peerId === "string" && peerId.length <= 128 && isPeerId(peerId);
}

function notFound(peerId: string, why: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PEER_NOT_FOUND, `Could not find the peer ${peerId}: ${why}. Try again later, or join it at an address you know.`, { details: { peerId } });
}
