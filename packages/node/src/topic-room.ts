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
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";

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
}

export class TopicRoom {
  readonly #o: TopicRoomOptions;
  readonly #topics = new Map<string, DhtTopic>();
  #dht: Promise<DhtDiscovery> | undefined;
  /** The DHT once loaded, for the counters. */
  #current: DhtDiscovery | undefined;
  #stopped = false;
  /**
   * Joins, leaves and the stop run one after another: a join issued while a
   * leave closes the DHT waits for the close, then opens a new one (on the
   * same port, with the nodes file written).
   */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TopicRoomOptions) {
    this.#o = options;
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
    return this.#serial(() => this.#join(topic, port));
  }

  async #join(topic: string, port: number): Promise<void> {
    if (this.#stopped || this.#topics.has(topic)) return;
    this.#dht ??= defaultDhtDiscovery({ ...this.#o.dht, appName: this.#o.appName }).then((d) => {
      d.on("error", (e) => this.#report(e));
      this.#current = d;
      return d;
    });
    const dht = await this.#dht.catch((error: unknown) => {
      this.#dht = undefined;
      throw error;
    });
    // The node stopped, or a join of the same topic got here first, while the DHT loaded.
    if (this.#stopped || this.#topics.has(topic)) return;
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
  }

  /** Leaves a topic; the DHT is closed (its nodes saved) when no topic is left. */
  async leave(topic: string): Promise<void> {
    checkString(topic, "topic", "pg.leaveTopic(topic)", 'pg.leaveTopic("our-band")', 256);
    return this.#serial(() => this.#leave(topic));
  }

  async #leave(topic: string): Promise<void> {
    const t = this.#topics.get(topic);
    if (t === undefined) return;
    this.#topics.delete(topic);
    await t.stop();
    if (this.#topics.size === 0) await this.#close();
  }

  /** A peer's connection was lost: each topic may offer its address again at once. */
  left(peerId: string): void {
    for (const t of this.#topics.values()) t.forget(peerId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#topics.clear();
    // Now, not queued: a join still opening the DHT sees `#stopped` and gives up; then once what was queued is done.
    await this.#close();
    await this.#serial(() => this.#close());
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #close(): Promise<void> {
    const dht = this.#dht;
    this.#dht = undefined;
    this.#current = undefined;
    await (await dht?.catch(() => undefined))?.close();
  }

  #report(error: Error): void {
    if (isXppgError(error)) this.#o.report(error);
  }
}
