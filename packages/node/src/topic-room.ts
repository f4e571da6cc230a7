/**
 * The topic room: `pg.joinTopic(topic)` announces this node under the topic
 * on the BitTorrent DHT (`@xppg/dht`, loaded and opened at the first
 * topic, closed when the last one is left) and hands each address a lookup
 * returns to the discovery room, which dials it within its bounds. A dial
 * that reaches an xppg node pins that address to the peer id it proved.
 */

import type { DhtCandidate, DhtDiscovery, DhtStats, DhtTopic } from "@xppg/dht";
import { isXppgError, type XppgError } from "@xppg/errors";
import { checkString } from "./argument-checks.js";
import { defaultDhtDiscovery } from "#defaults";
import type { PlaygroundDht } from "./dht-options.js";
import type { DiscoveryRoom } from "./discovery-room.js";
import { invalidArgument } from "./argument-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { CHECK_MS, PeerLocator, RECORD_FIRST_DELAY_MS, validPeerId, type PeerLocatorOptions } from "./peer-locator.js";
import type { PeerInfo } from "./peer-table.js";

/** What `pg.topics` shows. */
export interface TopicsView {
  /** The topics joined. */
  readonly joined: readonly string[];
  /** The candidates of every joined topic (bounded per topic). */
  readonly candidates: readonly DhtCandidate[];
  /** The DHT's counters (packets, nodes, each topic's lookups and offers), or undefined before the first topic. */
  readonly stats: DhtStats | undefined;
  /** True when the peer was found (and joined) through a topic. */
  found(peerId: string): boolean;
}

export interface TopicRoomOptions {
  readonly appName: string;
  /** `discovery.dht`, checked by `@xppg/dht` when the first topic is joined. */
  readonly dht: PlaygroundDht;
  /** What the room uses of discovery (a page's `#discovery-room` has the same members). */
  readonly discovery: Pick<DiscoveryRoom, "foundBy" | "offer">;
  /** True while the node runs. */
  running(): boolean;
  /** The TCP port peers should dial: the mapped one when the router forwarded one, else the listening one. */
  announcePort(): number | undefined;
  report(error: XppgError): void;
  /** What the signed DHT record of this node (`pg.findPeer`) needs. */
  readonly locator: PeerLocatorOptions;
}

export class TopicRoom {
  readonly #o: TopicRoomOptions;
  readonly #topics = new Map<string, DhtTopic>();
  #dht: Promise<DhtDiscovery> | undefined;
  /** The DHT once loaded, for the counters. */
  #current: DhtDiscovery | undefined;
  #stopped = false;
  /** The DHT being closed (the last topic left): a join waits for it, then opens a new one (the same port, the nodes file written). */
  #closing: Promise<void> | undefined;
  /** Joins and searches underway: a search does not close the DHT under them. */
  #busy = 0;
  readonly #locator: PeerLocator;
  #recordTimer: NodeJS.Timeout | undefined;
  #recordFailing = false;

  constructor(options: TopicRoomOptions) {
    this.#o = options;
    this.#locator = new PeerLocator(options.locator);
  }

  get view(): TopicsView {
    const topics = [...this.#topics.values()];
    const discovery = this.#o.discovery;
    return {
      joined: topics.map((t) => t.topic),
      candidates: topics.flatMap((t) => t.candidates),
      stats: this.#current?.stats,
      found: (peerId) => discovery.foundBy(peerId) === "dht",
    };
  }

  async join(topic: string): Promise<void> {
    checkString(topic, "topic", "pg.joinTopic(topic)", 'pg.joinTopic("our-band")', 256);
    const port = this.#o.announcePort();
    if (!this.#o.running() || port === undefined || this.#stopped) {
      throw new PlaygroundError(NODE_ERROR_CODES.NOT_STARTED, "joinTopic() needs a started node: call `await pg.start()` first.");
    }
    this.#busy++;
    try {
      await this.#join(topic, port);
    } finally {
      this.#busy--;
    }
  }

  async #join(topic: string, port: number): Promise<void> {
    let dht: DhtDiscovery;
    do {
      if (this.#closing !== undefined) await this.#closing;
      if (this.#stopped || this.#topics.has(topic)) return;
      dht = await this.#openDht();
      // The node stopped, or a join of the same topic got here first, while the DHT loaded.
      if (this.#stopped || this.#topics.has(topic)) return;
      // A leave began closing this DHT meanwhile: wait for it and open a new one.
    } while (this.#closing !== undefined);
    const t = dht.topic(topic, { port });
    this.#topics.set(topic, t);
    t.on("peer", (c) => this.#o.discovery.offer(c, (peerId) => t.confirm(c.host, c.port, peerId)));
    t.on("error", (e) => this.#report(e));
    try {
      await t.start();
    } catch (error) {
      this.#topics.delete(topic);
      await t.stop();
      throw error;
    }
    if (this.#o.dht.peerRecord !== false) this.#publishRecord(dht);
  }

  /**
   * Finds a peer known by its id through its signed DHT record (published by
   * every node while it is in a topic) and joins it. Without a topic joined
   * the DHT is opened for the search and closed after it (unless a join
   * came meanwhile).
   */
  async findPeer(peerId: string): Promise<PeerInfo> {
    if (!validPeerId(peerId)) throw invalidArgument("pg.findPeer(peerId)", `peerId must be a peer id ("xp1..."), got ${JSON.stringify(String(peerId).slice(0, 80))}`, "pg.findPeer(peer.peerId)");
    if (!this.#o.running() || this.#stopped) throw new PlaygroundError(NODE_ERROR_CODES.NOT_STARTED, "findPeer() needs a started node: call `await pg.start()` first.");
    this.#busy++;
    try {
      if (this.#closing !== undefined) await this.#closing;
      return await this.#locator.find(await this.#openDht(), peerId);
    } finally {
      this.#busy--;
      if (this.#topics.size === 0 && this.#busy === 0) await this.#close();
    }
  }

  /** Leaves a topic; the DHT is closed (its nodes saved) when no topic is left. */
  async leave(topic: string): Promise<void> {
    checkString(topic, "topic", "pg.leaveTopic(topic)", 'pg.leaveTopic("our-band")', 256);
    const t = this.#topics.get(topic);
    if (t === undefined) return;
    this.#topics.delete(topic);
    await t.stop();
    if (this.#topics.size === 0 && this.#busy === 0) await this.#close();
  }

  /** A peer's connection was lost: each topic may offer its address again at once. */
  left(peerId: string): void {
    for (const t of this.#topics.values()) t.forget(peerId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#topics.clear();
    await this.#close();
  }

  #openDht(): Promise<DhtDiscovery> {
    const { peerRecord: _, ...options } = this.#o.dht;
    this.#dht ??= defaultDhtDiscovery({ ...options, appName: this.#o.appName }).then((d) => {
      d.on("error", (e) => this.#report(e));
      this.#current = d;
      return d;
    });
    return this.#dht.catch((error: unknown) => {
      this.#dht = undefined;
      throw error;
    });
  }

  /**
   * Publishes this node's record soon after the first topic (the topic's
   * first lookup has the DHT to itself first: the record's own traversal
   * would slow it), then whenever its addresses change (checked every 30 s)
   * and every 15 min.
   */
  #publishRecord(dht: DhtDiscovery): void {
    if (this.#recordTimer !== undefined) return;
    // A failure is reported once until a publish works again; the next check retries.
    const publish = (): void => {
      if (this.#current !== dht || this.#topics.size === 0) return;
      void this.#locator.publish(dht).then(
        () => (this.#recordFailing = false),
        (e: unknown) => {
          if (!this.#recordFailing && this.#current === dht) this.#report(e as Error);
          this.#recordFailing = true;
        },
      );
    };
    this.#recordTimer = setTimeout(() => {
      publish();
      this.#recordTimer = setInterval(publish, CHECK_MS);
      this.#recordTimer.unref();
    }, RECORD_FIRST_DELAY_MS);
    this.#recordTimer.unref();
  }

  /** Closes the DHT (its nodes saved); a join meanwhile waits for it. */
  #close(): Promise<void> {
    clearInterval(this.#recordTimer);
    this.#recordTimer = undefined;
    this.#locator.reset();
    const dht = this.#dht;
    this.#dht = undefined;
    this.#current = undefined;
    if (dht === undefined) return this.#closing ?? Promise.resolve();
    const closing = (async () => {
      await (await dht.catch(() => undefined))?.close();
    })().finally(() => {
      if (this.#closing === closing) this.#closing = undefined;
    });
    this.#closing = closing;
    return closing;
  }


  #report(error: Error): void {
    if (isXppgError(error)) this.#o.report(error);
  }
}
