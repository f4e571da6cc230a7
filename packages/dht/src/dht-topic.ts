/**
 * One joined topic: announce this node's port under the topic's infohash
 * and look the infohash up, at start, a few times soon after, then at a
 * slow interval; each address returned goes through the {@link AddressTable}
 * before it is offered for a dial.
 */

import { toError } from "@xppg/errors";
import type { Discovery, DiscoveryEvents } from "@xppg/discovery";
import { AddressTable, type OfferBudget } from "./address-table.js";
import type { DhtNode } from "./dht-node.js";
import { DHT_ERROR_CODES, DhtError } from "./errors.js";
import { Listeners } from "./listeners.js";
import type { ResolvedDhtOptions } from "./options.js";
import { isLoopback, isUnicastIPv4, loopbackBootstrap } from "./guarded-socket.js";
import { ownAddresses } from "./own-addresses.js";
import type { DhtCandidate } from "./types.js";

/** Counters of one topic. */
export interface DhtTopicStats {
  lookups: number;
  announces: number;
  /** Announcements no DHT node took. */
  failedAnnounces: number;
  /** Addresses lookups returned, repeats included. */
  addressesSeen: number;
  /** `peer` events emitted. */
  offers: number;
  /** Addresses ignored: past the per-lookup or per-address bound, not unicast, or this machine's own (this node, or any port of its interface addresses). */
  ignored: number;
  /** Offers refused because the address was offered `maxOffersPerAddress` times with no xppg node answering. */
  exhausted: number;
}

/** What a topic needs from its DHT. */
export interface TopicHost {
  readonly options: ResolvedDhtOptions;
  readonly budget: OfferBudget;
  open(signal: AbortSignal | undefined): Promise<DhtNode>;
  report(error: DhtError): void;
  removed(topic: DhtTopic): void;
}

/** See the module comment; made by `DhtDiscovery.topic()`. */
export class DhtTopic implements Discovery<DhtCandidate> {
  /** The topic's name. */
  readonly topic: string;
  /** The infohash it is announced under (hex). */
  readonly infoHash: string;
  readonly #hash: Buffer;
  readonly #port: number;
  readonly #host: TopicHost;
  readonly #table: AddressTable;
  readonly #listeners = new Listeners<DiscoveryEvents<DhtCandidate>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #stats: DhtTopicStats = { lookups: 0, announces: 0, failedAnnounces: 0, addressesSeen: 0, offers: 0, ignored: 0, exhausted: 0 };
  /** Loopback candidates only on a private DHT on loopback: elsewhere they point at this machine's own services. */
  readonly #loopback: boolean;
  #node: DhtNode | undefined;
  #starting: Promise<void> | undefined;
  #stopped = false;
  #announceReported = false;
  #looking: Promise<void> | undefined;

  constructor(host: TopicHost, topic: string, infoHash: Buffer, port: number) {
    const o = host.options;
    this.topic = topic;
    this.#hash = infoHash;
    this.infoHash = infoHash.toString("hex");
    this.#port = port;
    this.#host = host;
    this.#loopback = loopbackBootstrap(o.bootstrap) || o.host.startsWith("127.");
    this.#table = new AddressTable(
      topic,
      { maxCandidates: o.maxCandidates, maxPerHost: o.maxPerHost, maxNewPerLookup: o.maxNewPerLookup, maxOffersPerAddress: o.maxOffersPerAddress, backoffMs: o.offerBackoffMs, ttlMs: o.candidateTtlMs },
      host.budget,
    );
  }

  /** The TCP port announced under the topic. */
  get port(): number {
    return this.#port;
  }

  get candidates(): readonly DhtCandidate[] {
    return this.#table.list();
  }

  get stats(): DhtTopicStats {
    return { ...this.#stats, ignored: this.#stats.ignored + this.#table.ignored, exhausted: this.#table.exhausted };
  }

  on<E extends keyof DiscoveryEvents<DhtCandidate>>(event: E, listener: DiscoveryEvents<DhtCandidate>[E]): () => void {
    return this.#listeners.on(event, listener);
  }

  /**
   * Opens the DHT's socket if needed, then looks up and announces in the
   * background (the DHT's bootstrap runs alongside; no answer within
   * `bootstrapTimeoutMs` is reported as `XPPG_ERR_DHT_NO_NODES`).
   *
   * @throws `XPPG_ERR_DHT_UNAVAILABLE` when the UDP socket cannot be opened,
   * `XPPG_ERR_DHT_STOPPED` after `stop()`, `XPPG_ERR_ABORTED` when `signal` aborts first.
   */
  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new DhtError(DHT_ERROR_CODES.STOPPED, `The topic "${this.topic}" was left. Join it again through the DHT's topic().`));
    this.#starting ??= this.#host.open(options.signal).then(
      (node) => {
        if (this.#stopped) return;
        this.#node = node;
        this.#round(true);
        this.#schedule(this.#host.options.firstLookupDelaysMs, 0);
        this.#every(this.#host.options.announceIntervalMs, () => this.#announce());
        this.#every(Math.min(1_000, this.#host.options.candidateTtlMs), () => this.#expire());
      },
      (error: unknown) => {
        this.#starting = undefined;
        throw error;
      },
    );
    return this.#starting;
  }

  /** Stops announcing and looking (the DHT forgets the announcement when it expires) and forgets the candidates. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#table.clear();
    this.#node = undefined;
    this.#host.removed(this);
    await this.#starting?.catch(() => {});
  }

  /** A dial to `host:port` reached `peerId`: later offers of that address carry it, and it is no longer counted as a possible victim. */
  confirm(host: string, port: number, peerId: string): void {
    this.#table.confirm(host, port, peerId);
  }

  /** The connection to `peerId` was lost: its address may be offered again at the next lookup, which comes soon. */
  forget(peerId: string): void {
    if (this.#node === undefined || !this.#table.forget(peerId)) return;
    this.#later(this.#host.options.firstLookupDelaysMs[0] ?? 5_000, () => void this.#lookup());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** A lookup, then an announcement (which reuses the lookup's closest nodes and their tokens). */
  #round(announce: boolean): void {
    void this.#lookup().then(() => (announce ? this.#announce() : undefined));
  }

  /** One lookup at a time per topic: a slow one is not joined by the next. */
  #lookup(): Promise<void> {
    const node = this.#node;
    if (node === undefined) return Promise.resolve();
    this.#looking ??= (async () => {
      this.#stats.lookups++;
      this.#table.lookupStarted();
      await node.lookup(this.#hash, this.#host.options.lookupTimeoutMs, (peer) => this.#seen(peer.host, peer.port));
    })().finally(() => (this.#looking = undefined));
    return this.#looking;
  }

  async #announce(): Promise<void> {
    const node = this.#node;
    if (node === undefined) return;
    this.#stats.announces++;
    try {
      const hits = await node.announce(this.#hash, this.#port);
      if (hits === 0) throw new Error("no node took it");
      this.#announceReported = false;
    } catch (error) {
      this.#stats.failedAnnounces++;
      if (this.#announceReported || this.#stopped) return;
      this.#announceReported = true;
      this.#listeners.emit(
        "error",
        new DhtError(DHT_ERROR_CODES.ANNOUNCE_FAILED, `Announcing the topic "${this.topic}" reached no DHT node (${toError(error).message}). It is tried again in ${Math.round(this.#host.options.announceIntervalMs / 1000)} s; check the bootstrap list and that UDP is not blocked.`, { cause: error }),
      );
    }
  }

  #seen(host: string, port: number): void {
    if (this.#stopped) return;
    this.#stats.addressesSeen++;
    if (!this.#acceptable(host, port)) {
      this.#stats.ignored++;
      return;
    }
    const { offer, evicted } = this.#table.seen(host, port, Date.now());
    for (const e of evicted) this.#listeners.emit("gone", e);
    if (offer === undefined) return;
    this.#stats.offers++;
    this.#listeners.emit("peer", offer);
  }

  /**
   * A unicast IPv4 address and a port, and not this machine: none of its
   * interface addresses on any port (a hostile announcement must not turn
   * our dials on our own services), loopback only on a private DHT on
   * loopback, and never this node's own announcement there.
   */
  #acceptable(host: string, port: number): boolean {
    if (!isUnicastIPv4(host) || !Number.isInteger(port) || port < 1 || port > 65535) return false;
    if (isLoopback(host)) return this.#loopback && !(port === this.#port && (host === "127.0.0.1" || host === this.#host.options.host));
    return !ownAddresses().has(host);
  }

  #expire(): void {
    for (const gone of this.#table.expire(Date.now())) this.#listeners.emit("gone", gone);
  }

  /** The first lookups, after the waits given; then one every `lookupIntervalMs`. */
  #schedule(delays: readonly number[], i: number): void {
    if (i < delays.length) {
      this.#later(delays[i]!, () => {
        this.#round(false);
        this.#schedule(delays, i + 1);
      });
    } else {
      this.#every(this.#host.options.lookupIntervalMs, () => this.#round(false));
    }
  }

  #every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => void fn(), ms);
    t.unref();
    this.#timers.add(t);
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }
}
