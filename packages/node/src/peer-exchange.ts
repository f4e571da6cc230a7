/**
 * Peer exchange (capability `pex/1`): neighbours tell each other which
 * peers they know and where those listen, so a node that joined one peer
 * finds others to connect to (INTERNALS.md, "Peer exchange").
 *
 * - What travels is each peer's own signed record (`peer-record.ts`): a
 *   neighbour can pass records on but cannot make one carry addresses in
 *   another's name. A record is checked once, when it is newer than the
 *   one held.
 * - `xppg/pex` carries at most 32 records: the sender's own first, then
 *   those of its neighbours, then others it knows. It is sent when a link
 *   opens and every 30 s; a peer may send one a second at most (a burst
 *   of 3); more are ignored unread. A malformed one drops the peer.
 * - What changed goes out sooner: every 2 s at most, a node whose own
 *   addresses changed (a relay reservation, a mapped port) pushes its new
 *   record, and the records of peers new to it or whose addresses changed
 *   are passed on to the other neighbours: at most 31 a push, at most 4
 *   from any one informant, a peer's changed addresses at most once per
 *   10 s (a later change waits for the end of those 10 s; a record
 *   re-signed with the same addresses is not passed on). So a peer's new
 *   address crosses the mesh in seconds, not in 30 s cycles, and a peer
 *   that re-signs its records cannot keep the mesh busy passing them on.
 * - What is learnt goes to the address book (bounded: 1024 peers, 64 per
 *   informing neighbour) and to the connection manager.
 * - Other rooms add addresses of their own to this node's record with
 *   `advertise(source, addresses)` (a relay's circuit address, a mapped
 *   port): the hook for any transport's address.
 */

import type { Identity } from "@xppg/secure";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { recordsToPass, type AddressBook, type PeerRecord } from "./mesh/address-book.js";
import { BoundedMap } from "./mesh/bounded-map.js";
import { REAL_TIMERS, type MeshTimers } from "./mesh/timers.js";
import { MAX_RECORD_ADDRESSES, parseWireRecord, signRecord, toWire, verifyRecord } from "./peer-record.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import { KIND_PEX } from "./protocol.js";
import { reachableForms } from "./reach-room.js";
import { TokenBucket } from "./token-bucket.js";

/** The capability both sides need for `xppg/pex`. */
export const PEX_CAPABILITY = "pex/1";
/** Most records one `xppg/pex` carries. */
export const MAX_PEX_RECORDS = 32;
/** How often a node sends its neighbours what it knows. */
export const PEX_INTERVAL_MS = 30_000;
/** How often at most a node pushes what changed (its own record, newer records learnt). */
export const PEX_PUSH_MS = 2_000;
/** Records of one informant passed on in one push, at most. */
const PUSH_PER_INFORMANT = 4;
/** How often at most one peer's record is passed on by a push (else it waits for the 30 s exchange). */
const PUSH_SAME_PEER_MS = 10_000;
/** A record made further ahead of this node's clock is refused. */
const MAX_FUTURE_MS = 10 * 60_000;

export interface PeerExchangeOptions {
  readonly identity: Identity;
  readonly table: PeerTable;
  readonly book: AddressBook;
  /** This node's listen addresses (its hello's). */
  listen(): readonly string[];
  /** True while the node runs: the periodic exchange stops with it. */
  running(): boolean;
  /** A peer and its addresses were learnt (the connection manager may dial it); `changed` when they replace other addresses. */
  learnt(peerId: string, changed: boolean): void;
  readonly timers?: MeshTimers;
  /** Milliseconds since the epoch (records carry it). */
  readonly clock?: () => number;
}

/** Counters of peer exchange. */
export interface PeerExchangeStats {
  /** Records learnt (new peers or newer records). */
  learnt: number;
  /** Records refused: a bad signature, from the future, or past an informant's share. */
  refused: number;
  /** `xppg/pex` messages ignored for coming too often. */
  ignored: number;
  /** Pushes of changed records (this node's own, or newer ones passed on). */
  pushed: number;
}

export class PeerExchange {
  readonly #o: PeerExchangeOptions;
  readonly #timers: MeshTimers;
  readonly #clock: () => number;
  readonly #buckets = new WeakMap<PeerSession, TokenBucket>();
  /** Addresses other rooms advertise, by source. */
  readonly #extra = new Map<string, readonly string[]>();
  #record: PeerRecord | undefined;
  /** This node's record as last sent to every neighbour. */
  #sent: PeerRecord | undefined;
  /** Newer records learnt since the last push, by peer id: who told this node (it is not told again). */
  readonly #changed = new Map<string, string>();
  /** When each peer's changed record was last passed on by a push (bounded as the address book). */
  readonly #pushedAt = new BoundedMap<string, number>(1024);
  /** Changed records that came within 10 s of the peer's last: passed on once the 10 s are over (who told this node). */
  readonly #deferred = new Map<string, string>();
  #timer: unknown;
  #pushTimer: unknown;
  #closed = false;
  readonly stats: PeerExchangeStats = { learnt: 0, refused: 0, ignored: 0, pushed: 0 };

  constructor(options: PeerExchangeOptions) {
    this.#o = options;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Adds addresses to this node's own record under `source` (replacing what
   * that source gave before; an empty list removes them). Any transport's
   * addresses (`tcp://…`, `ws://…`, a relay's); at most 8 in all are sent,
   * the listen addresses first.
   */
  advertise(source: string, addresses: readonly string[]): void {
    if (addresses.length === 0) this.#extra.delete(source);
    else this.#extra.set(source, [...addresses]);
    this.#record = undefined;
  }

  /** This node's signed record, made again when its addresses change. */
  get ownRecord(): PeerRecord {
    // A wildcard listen address (the default host 0.0.0.0) would make every dialler reach itself: its LAN forms go instead.
    const addresses = [...new Set([...this.#o.listen(), ...[...this.#extra.values()].flat()].flatMap(reachableForms))].slice(0, MAX_RECORD_ADDRESSES);
    const held = this.#record;
    if (held !== undefined && sameAddresses(held.addresses, addresses)) return held;
    this.#record = signRecord(this.#o.identity, addresses, this.#clock());
    return this.#record;
  }

  /** A session opened: a peer with `pex/1` hears what this node knows, now and every 30 s. */
  opened(session: PeerSession): void {
    if (this.#closed || !this.#o.table.supports(session, PEX_CAPABILITY)) return;
    this.#send(session);
    if (this.#timer === undefined) this.#timer = this.#timers.setTimer(PEX_INTERVAL_MS, this.#tick);
    if (this.#pushTimer === undefined) this.#pushTimer = this.#timers.setTimer(PEX_PUSH_MS, this.#push);
  }

  /** An `xppg/pex` from a peer; throws a typed error for a malformed one (the peer is dropped). */
  receive(session: PeerSession, payload: unknown): void {
    const from = session.peerId!;
    if (!this.#o.table.supports(session, PEX_CAPABILITY)) throw violation(from, `"${KIND_PEX}" without the ${PEX_CAPABILITY} capability`);
    if (!Array.isArray(payload) || payload.length > MAX_PEX_RECORDS) throw violation(from, "a malformed peer exchange");
    const parsed = payload.map((r: unknown) => parseWireRecord(r));
    if (parsed.some((r) => r === null)) throw violation(from, "a malformed peer record");
    let bucket = this.#buckets.get(session);
    if (bucket === undefined) this.#buckets.set(session, (bucket = new TokenBucket(1, 3)));
    if (!bucket.take(1, this.#timers.now())) {
      this.stats.ignored++;
      return;
    }
    const now = this.#clock();
    const self = this.#o.identity.peerId;
    const book = this.#o.book;
    for (const entry of parsed) {
      const { record } = entry!;
      if (record.peerId === self) continue;
      const held = book.get(record.peerId);
      // Known at this time or newer: nothing to check.
      if (held?.record !== undefined && held.record.time >= record.time) continue;
      if (record.time > now + MAX_FUTURE_MS || !verifyRecord(record)) {
        this.stats.refused++;
        continue;
      }
      const fromItself = record.peerId === from;
      // Changed against the last signed record held (the one neighbours were given), not the book's addresses: a
      // presence or a hello may have brought the new addresses first, unsigned, and those are never passed on.
      const changed = held?.record !== undefined && !sameAddresses(held.record.addresses, record.addresses);
      const added = book.add({ peerId: record.peerId, addresses: record.addresses, learnt: fromItself ? "neighbour" : "exchange", informant: fromItself ? "" : from, record, time: record.time });
      if (!added) {
        this.stats.refused++;
        continue;
      }
      this.stats.learnt++;
      if (changed || held?.record === undefined) this.#passOn(record.peerId, from, changed);
      this.#o.learnt(record.peerId, changed);
    }
  }

  /** Queues a peer's record for the next push, within the bounds above; `changed`: its addresses changed (at most once per 10 s a peer). */
  #passOn(peerId: string, informant: string, changed: boolean): void {
    if (this.#changed.size >= MAX_PEX_RECORDS - 1 || this.#changed.has(peerId)) return;
    const now = this.#timers.now();
    if (changed && now - (this.#pushedAt.get(peerId) ?? -Infinity) < PUSH_SAME_PEER_MS) {
      // Later, not never: the newest record goes out once the peer's 10 s are over.
      if (this.#deferred.size < MAX_PEX_RECORDS - 1 || this.#deferred.has(peerId)) this.#deferred.set(peerId, informant);
      return;
    }
    let fromInformant = 0;
    for (const i of this.#changed.values()) if (i === informant && ++fromInformant >= PUSH_PER_INFORMANT) return;
    this.#changed.set(peerId, informant);
    if (changed) this.#pushedAt.set(peerId, now);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimer(this.#timer);
    if (this.#pushTimer !== undefined) this.#timers.clearTimer(this.#pushTimer);
    this.#timer = undefined;
    this.#pushTimer = undefined;
  }

  /** Every {@link PEX_PUSH_MS} while a neighbour speaks `pex/1`: what changed goes to the neighbours that do not have it. */
  readonly #push = (): void => {
    this.#pushTimer = undefined;
    if (this.#closed || !this.#o.running()) return;
    for (const [peerId, informant] of [...this.#deferred]) {
      if (this.#timers.now() - (this.#pushedAt.get(peerId) ?? -Infinity) < PUSH_SAME_PEER_MS) continue;
      this.#deferred.delete(peerId);
      this.#passOn(peerId, informant, true);
    }
    const own = this.ownRecord;
    const ownChanged = own !== this.#sent;
    const changed = [...this.#changed].flatMap(([peerId, informant]) => {
      const record = this.#o.book.get(peerId)?.record;
      return record === undefined ? [] : [{ record, informant }];
    });
    this.#changed.clear();
    let any = false;
    const open = this.#o.table.open;
    for (const session of open.values()) {
      if (!this.#o.table.supports(session, PEX_CAPABILITY)) continue;
      any = true;
      const to = session.peerId!;
      const records = changed.filter((c) => c.informant !== to && c.record.peerId !== to).map((c) => c.record);
      if (!ownChanged && records.length === 0) continue;
      this.stats.pushed++;
      const wire = [own, ...records].map((r) => toWire(r, r.peerId === this.#o.identity.peerId || open.has(r.peerId)));
      session.sendMessage(KIND_PEX, wire).catch(() => {});
    }
    this.#sent = own;
    if (any) this.#pushTimer = this.#timers.setTimer(PEX_PUSH_MS, this.#push);
  };

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#closed || !this.#o.running()) return;
    let any = false;
    for (const session of this.#o.table.open.values()) {
      if (!this.#o.table.supports(session, PEX_CAPABILITY)) continue;
      any = true;
      this.#send(session);
    }
    if (any) this.#timer = this.#timers.setTimer(PEX_INTERVAL_MS, this.#tick);
  };

  #send(session: PeerSession): void {
    const open = this.#o.table.open;
    const to = session.peerId!;
    const records = [this.ownRecord, ...recordsToPass(this.#o.book, MAX_PEX_RECORDS - 1, open.keys(), new Set([to]))];
    this.#sent ??= records[0];
    const wire = records.map((r) => toWire(r, r.peerId === this.#o.identity.peerId || open.has(r.peerId)));
    // A send on a closing link fails; its end is reported as the peer leaving.
    session.sendMessage(KIND_PEX, wire).catch(() => {});
  }
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function violation(peerId: string, what: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${peerId} broke the xppg protocol: it sent ${what}. It is disconnected.`);
}
