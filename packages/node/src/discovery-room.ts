/**
 * The discovery room: with `discovery: { lan: true }`, LAN discovery
 * (`@xppg/discovery`, loaded only then) finds nodes of the same app, and this
 * room dials each candidate through the normal join path with its peer id
 * pinned, so a LAN neighbour cannot pose as someone else. It never dials
 * this node, a peer already connected or being dialled, and at most a few
 * candidates at once; a failed dial is quiet (announcements are only hints,
 * and a forged one must not fill the error log).
 */

import type { AddressCandidate, CandidateSource, Discovery, PeerCandidate } from "@xppg/discovery";
import { isXppgError, type XppgError } from "@xppg/errors";
import { defaultLanDiscovery } from "#defaults";
import { NODE_ERROR_CODES } from "./errors.js";
import { BoundedMap } from "./mesh/bounded-map.js";
import type { PeerTable } from "./peer-table.js";

/** Most discovered candidates dialled at once; the others are offered again after their backoff. */
export const MAX_DISCOVERY_DIALS = 4;
/**
 * When two nodes find each other at once, the one with the greater peer id
 * waits this long before dialling, so usually only one connection is made.
 */
export const DIAL_TIE_BREAK_MS = 1_500;
/** Most peers remembered as found by discovery (`pg.foundOnLan`); the oldest is forgotten first. */
export const MAX_FOUND_PEERS = 4_096;
/** Deadline of a dial to a discovered candidate (dial and both handshakes). */
export const DISCOVERY_DIAL_TIMEOUT_MS = 5_000;

/** LAN discovery as resolved from the options; null when off. */
export interface ResolvedLan {
  /** IPv4 address of the one interface to use; undefined: every interface. */
  readonly interface: string | undefined;
  /** The mDNS UDP port (tests only). */
  readonly mdnsPort: number | undefined;
}

export interface DiscoveryRoomOptions {
  readonly localPeerId: string;
  readonly appName: string;
  readonly lan: ResolvedLan | null;
  readonly table: PeerTable;
  /** The join path: dial, handshake, peer id pinned when known; resolves with the peer reached. */
  dial(address: string, peerId: string | undefined, timeoutMs: number): Promise<{ readonly peerId: string }>;
  /** A candidate was offered (emitted as `peer:discovered`). */
  discovered(candidate: PeerCandidate): void;
  /** This node's relayed addresses, announced with it (`reach`); a candidate's own are tried when its LAN address fails. */
  relayAddresses?(): readonly string[];
  report(error: XppgError): void;
}

/** Ways of leaving that mean "do not come back by yourself". */
export const DELIBERATE = new Set<string>([NODE_ERROR_CODES.PEER_SHUTDOWN, NODE_ERROR_CODES.DISCONNECTED, NODE_ERROR_CODES.BANNED, NODE_ERROR_CODES.NOT_ALLOWED, NODE_ERROR_CODES.DUPLICATE_CONNECTION, NODE_ERROR_CODES.CLOCK_SKEW]);

export class DiscoveryRoom {
  readonly #o: DiscoveryRoomOptions;
  /** Peer ids (or, unknown, addresses) being dialled. */
  readonly #dialing = new Set<string>();
  /** Peer ids a dial from discovery reached, and how they were found, for `pg.foundOnLan`. */
  readonly #found = new BoundedMap<string, CandidateSource>(MAX_FOUND_PEERS);
  #discovery: Discovery | undefined;
  #stopped = false;

  constructor(options: DiscoveryRoomOptions) {
    this.#o = options;
  }

  /** The current LAN candidates (empty when discovery is off). */
  get candidates(): readonly PeerCandidate[] {
    return this.#discovery?.candidates ?? [];
  }

  /** True when the peer was found by LAN discovery (announced itself with this id). */
  found(peerId: string): boolean {
    return this.#found.get(peerId) === "lan";
  }

  /** How a peer a discovery dial reached was found, else undefined. */
  foundBy(peerId: string): CandidateSource | undefined {
    return this.#found.get(peerId);
  }

  /**
   * Starts LAN discovery announcing `port`. A discovery that cannot start
   * (no multicast on the interface) is reported as an `error` event and the
   * node runs without it.
   */
  async start(port: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const lan = this.#o.lan;
    if (lan === null || port === undefined || this.#stopped) return;
    try {
      const d = await defaultLanDiscovery({
        appName: this.#o.appName,
        peerId: this.#o.localPeerId,
        port,
        ...(this.#o.relayAddresses !== undefined ? { relayAddresses: this.#o.relayAddresses } : {}),
        ...(lan.interface !== undefined ? { interface: lan.interface } : {}),
        ...(lan.mdnsPort !== undefined ? { mdnsPort: lan.mdnsPort } : {}),
      });
      d.on("peer", (c) => this.offer(c));
      d.on("error", (e) => {
        if (isXppgError(e)) this.#o.report(e);
      });
      await d.start(signal === undefined ? {} : { signal });
      if (this.#stopped) await d.stop();
      else this.#discovery = d;
    } catch (error) {
      if (isXppgError(error) && error.code !== "XPPG_ERR_ABORTED") this.#o.report(error);
      else throw error;
    }
  }

  /**
   * A peer left. When the connection was lost (not a goodbye, a
   * disconnect or a ban), discovery forgets it and asks again, so a peer
   * still on the LAN is joined again within seconds.
   */
  left(peerId: string, reason: XppgError | undefined): void {
    if (this.lost(reason)) this.#discovery?.forget?.(peerId);
  }

  /** True when a peer left by a lost connection, not a goodbye, a disconnect or a ban. */
  lost(reason: XppgError | undefined): reason is XppgError {
    return reason !== undefined && !DELIBERATE.has(reason.code);
  }

  /** Says goodbye on the LAN and stops looking. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const d = this.#discovery;
    this.#discovery = undefined;
    await d?.stop();
  }

  /**
   * Dials a candidate unless it is this node, connected, being dialled, or
   * the dials in flight are at their bound. A candidate with no peer id (a
   * DHT address) is skipped when a connected peer came from that host and
   * listens on that port; `reached` learns who a dial to it reached.
   */
  offer(c: AddressCandidate, reached?: (peerId: string) => void): void {
    const { localPeerId, table } = this.#o;
    if (this.#stopped) return;
    if (c.source === "lan") this.#o.discovered(c as PeerCandidate);
    const key = c.peerId ?? `${c.host}:${c.port}`;
    if (c.peerId === localPeerId || (c.peerId !== undefined && table.peers.has(c.peerId)) || this.#dialing.has(key) || this.#dialing.size >= MAX_DISCOVERY_DIALS) return;
    if (c.peerId === undefined && this.#listensAt(c.host, c.port)) return;
    this.#dialing.add(key);
    const dial = (): void => {
      if (this.#stopped || (c.peerId !== undefined && table.peers.has(c.peerId))) {
        this.#dialing.delete(key);
        return;
      }
      // Its LAN address first; then, where hosts of one network cannot reach each other, its relays.
      const addresses = [`tcp://${c.host}:${c.port}`, ...(c.relayAddresses ?? [])];
      const tryFrom = (i: number): Promise<{ readonly peerId: string }> =>
        this.#o.dial(addresses[i]!, c.peerId, DISCOVERY_DIAL_TIMEOUT_MS).catch((e: unknown) => (i + 1 < addresses.length && !this.#stopped ? tryFrom(i + 1) : Promise.reject(e)));
      // A pinned candidate is marked before the dial, so `peer:joined` listeners already see how it was found.
      const marked = c.peerId !== undefined && !this.#found.has(c.peerId) && this.#found.set(c.peerId, c.source);
      tryFrom(0)
        .then((peer) => {
          if (!this.#found.has(peer.peerId)) this.#found.set(peer.peerId, c.source);
          reached?.(peer.peerId);
        })
        .catch(() => {
          if (marked && !table.open.has(c.peerId)) this.#found.delete(c.peerId);
        })
        .finally(() => this.#dialing.delete(key));
    };
    if (c.peerId === undefined || localPeerId < c.peerId) dial();
    else setTimeout(dial, DIAL_TIE_BREAK_MS).unref?.();
  }

  /** True when a connected peer's connection comes from `host` and it says it listens on `port`. */
  #listensAt(host: string, port: number): boolean {
    for (const p of this.#o.table.list()) {
      if (hostOf(p.address) === host && p.listenAddresses.some((a) => a.endsWith(`:${port}`) || a.includes(`:${port}/`))) return true;
    }
    return false;
  }
}

/** The host of `tcp://host:port` (IPv6 in brackets kept as is). */
function hostOf(address: string): string {
  const rest = address.slice(address.indexOf("://") + 3);
  return rest.slice(0, rest.lastIndexOf(":"));
}
