/**
 * The addresses this node knows of other peers, and how it learnt each:
 * what the connection manager dials and what peer exchange passes on.
 *
 * Bounded against a peer that advertises thousands of made-up peers: at
 * most `capacity` peers (the least recently used forgotten first), and at
 * most `maxPerInformant` of them learnt through any one neighbour's
 * exchange, so one neighbour cannot push out what the others taught.
 */

import { BoundedMap } from "./bounded-map.js";

/** How a peer's addresses were learnt. */
export type Learnt =
  /** From the peer itself, over a connection to it. */
  | "neighbour"
  /** From a neighbour's peer exchange (a record the peer signed). */
  | "exchange"
  /** From the peer's presence broadcast (signed by it). */
  | "presence"
  /** From LAN discovery (a claim until a dial pins the peer id). */
  | "lan";

/** A peer's own signed statement of where it listens (`xppg/pex`, INTERNALS.md "Peer exchange"). */
export interface PeerRecord {
  readonly peerId: string;
  /** Addresses of any transport (`tcp://…`, `ws://…`, a relay's). */
  readonly addresses: readonly string[];
  /** When the peer made it (ms since the epoch); a newer record replaces an older one. */
  readonly time: number;
  readonly signature: Uint8Array;
}

/** What the book holds of one peer. */
export interface KnownPeer {
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly learnt: Learnt;
  /** The neighbour that passed it on ("" when learnt from the peer itself or the LAN). */
  readonly informant: string;
  /** The newest signed record, when one arrived (only those are passed on). */
  readonly record: PeerRecord | undefined;
  /** The time of what was learnt (a record's or presence's), to keep only the newest. */
  readonly time: number;
}

export interface AddressBookOptions {
  /** @default 1024 */
  readonly capacity?: number;
  /** @default 64 */
  readonly maxPerInformant?: number;
}

export class AddressBook {
  readonly #peers: BoundedMap<string, KnownPeer>;
  readonly #perInformant = new Map<string, number>();
  readonly maxPerInformant: number;

  constructor(options: AddressBookOptions = {}) {
    this.#peers = new BoundedMap(options.capacity ?? 1024);
    this.maxPerInformant = options.maxPerInformant ?? 64;
  }

  get size(): number {
    return this.#peers.size;
  }

  get(peerId: string): KnownPeer | undefined {
    return this.#peers.get(peerId);
  }

  /**
   * Learns a peer's addresses. An older time than the one held changes
   * nothing; so does a peer exchange past its informant's share. Returns
   * true when the peer is new or its entry changed.
   */
  add(peer: KnownPeer): boolean {
    const held = this.#peers.get(peer.peerId);
    if (held !== undefined && (peer.time < held.time || (peer.time === held.time && sameAddresses(held.addresses, peer.addresses)))) {
      // Older news; it may still bring a signed record to pass on.
      const record = peer.record;
      if (record !== undefined && (held.record === undefined || held.record.time < record.time)) {
        this.#peers.set(peer.peerId, { ...held, record });
        return true;
      }
      this.#peers.touch(peer.peerId);
      return false;
    }
    const informant = peer.learnt === "exchange" ? peer.informant : "";
    if (informant !== "" && (held === undefined || held.informant !== informant) && (this.#perInformant.get(informant) ?? 0) >= this.maxPerInformant) return false;
    // A signed record stays known when something unsigned (a presence, the LAN) brings the same peer's addresses.
    const record = peer.record ?? held?.record;
    const entry: KnownPeer = { ...peer, informant, record };
    if (held !== undefined) this.#uncount(held);
    else if (this.#peers.size >= this.#peers.capacity) {
      const oldest = this.#peers.entries().next().value;
      if (oldest !== undefined) this.#uncount(oldest[1]);
    }
    this.#peers.set(peer.peerId, entry);
    this.#peers.touch(peer.peerId);
    if (informant !== "") this.#perInformant.set(informant, (this.#perInformant.get(informant) ?? 0) + 1);
    return true;
  }

  /** The peers known, least recently used first. */
  *peerIds(): IterableIterator<string> {
    for (const [peerId] of this.#peers.entries()) yield peerId;
  }

  /** Marks a peer as in use (connected, dialled), so it is the last to be forgotten. */
  touch(peerId: string): void {
    this.#peers.touch(peerId);
  }

  delete(peerId: string): void {
    const held = this.#peers.get(peerId);
    if (held === undefined) return;
    this.#uncount(held);
    this.#peers.delete(peerId);
  }

  #uncount(peer: KnownPeer): void {
    if (peer.informant === "") return;
    const n = (this.#perInformant.get(peer.informant) ?? 1) - 1;
    if (n <= 0) this.#perInformant.delete(peer.informant);
    else this.#perInformant.set(peer.informant, n);
  }
}

/**
 * Signed records of `book` to pass on, `first` ones first (the sender's
 * neighbours), then the most recently used; at most `max`, none of
 * `except`. (A function, not a method: a page, which offers no peer
 * exchange, leaves it out of its build.)
 */
export function recordsToPass(book: AddressBook, max: number, first: Iterable<string>, except: ReadonlySet<string>): PeerRecord[] {
  const out: PeerRecord[] = [];
  const taken = new Set<string>();
  const take = (peerId: string): void => {
    const record = book.get(peerId)?.record;
    if (record === undefined || except.has(peerId) || taken.has(peerId) || out.length >= max) return;
    taken.add(peerId);
    out.push(record);
  };
  for (const peerId of first) take(peerId);
  const all = [...book.peerIds()];
  for (let i = all.length - 1; i >= 0 && out.length < max; i--) take(all[i]!);
  return out;
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
