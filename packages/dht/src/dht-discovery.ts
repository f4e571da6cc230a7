/**
 * Topic discovery on the BitTorrent mainline DHT (BEP 5) for one node: one
 * UDP socket, opened when the first topic starts, and any number of topics
 * (up to `maxTopics`), each a {@link DhtTopic} that implements the
 * `Discovery` interface of `@xppg/discovery`.
 */

import { checkByteArray, isXppgError, toError } from "@xppg/errors";
import type { DhtPeer } from "./bittorrent-dht.js";
import { OfferBudget } from "./address-table.js";
import { MAX_SAVED_NODES } from "./constants.js";
import { DhtNode } from "./dht-node.js";
import { DhtTopic, type DhtTopicStats, type TopicHost } from "./dht-topic.js";
import { DHT_ERROR_CODES, DhtError, invalidDhtArgument } from "./errors.js";
import type { PacketFailure, PacketStats } from "./guarded-socket.js";
import { Listeners } from "./listeners.js";
import { readNodesFile, writeNodesFile } from "./nodes-file.js";
import { resolveDhtOptions, type DhtDiscoveryOptions, type ResolvedDhtOptions } from "./options.js";
import { MAX_RECORD_BYTES, recordSalt, recordTarget, type SignedRecord, type SignedRecordInput } from "./signed-record.js";
import { topicInfoHash } from "./topic-hash.js";

/** Counters of a {@link DhtDiscovery}, for tests and benchmarks. */
export interface DhtStats {
  /** UDP packets of the DHT: sent, received, dropped unread (size or rate), refused (not unicast). */
  packets: PacketStats;
  /** Nodes in the routing table. */
  nodes: number;
  /** Offers refused by `maxOffersPerSecond`. */
  throttledOffers: number;
  /** Each joined topic's counters. */
  topics: Record<string, DhtTopicStats>;
}

/** The events of a {@link DhtDiscovery}. */
export interface DhtEvents {
  /** A problem that did not stop the DHT: no bootstrap answer, a nodes file that could not be read or written. */
  error: (error: Error) => void;
}

/**
 * Creates the DHT side of a node. Nothing is sent until a topic starts.
 *
 * @throws `XPPG_ERR_INVALID_ARGUMENT` for bad options.
 */
export function dhtDiscovery(options: DhtDiscoveryOptions): DhtDiscovery {
  return new DhtDiscovery(options);
}

/** See {@link dhtDiscovery}. */
export class DhtDiscovery {
  readonly #o: ResolvedDhtOptions;
  readonly #budget: OfferBudget;
  readonly #topics = new Map<string, DhtTopic>();
  readonly #listeners = new Listeners<DhtEvents>();
  readonly #host: TopicHost;
  #node: DhtNode | undefined;
  #opening: Promise<DhtNode> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: DhtDiscoveryOptions) {
    this.#o = resolveDhtOptions(options);
    this.#budget = new OfferBudget(this.#o.maxOffersPerSecond);
    this.#host = {
      options: this.#o,
      budget: this.#budget,
      open: (signal) => this.#open(signal),
      report: (error) => this.#listeners.emit("error", error),
      removed: (topic) => {
        if (this.#topics.get(topic.topic) === topic) this.#topics.delete(topic.topic);
      },
    };
  }

  /** The bootstrap list in use (the default public routers unless one was given). */
  get bootstrap(): readonly string[] {
    return this.#o.bootstrap;
  }

  /** The UDP port of the DHT once open, else undefined. */
  get port(): number | undefined {
    return this.#node?.port;
  }

  /** The topics joined (started and not stopped). */
  get topics(): DhtTopic[] {
    return [...this.#topics.values()];
  }

  get stats(): DhtStats {
    const topics: Record<string, DhtTopicStats> = {};
    for (const t of this.#topics.values()) topics[t.topic] = t.stats;
    return { packets: { ...(this.#node?.packets ?? { sent: 0, received: 0, dropped: 0, oversize: 0, refused: 0, malformed: 0 }) }, nodes: this.#node?.nodeCount ?? 0, throttledOffers: this.#budget.throttled, topics };
  }

  on<E extends keyof DhtEvents>(event: E, listener: DhtEvents[E]): () => void {
    return this.#listeners.on(event, listener);
  }

  /**
   * The topic `topic`, announcing TCP `port` (the port peers should dial:
   * the mapped one behind a router). Call `start()` on it to join. The same
   * name twice gives the same topic while it runs.
   *
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a bad topic or port,
   * `XPPG_ERR_DHT_TOO_MANY_TOPICS` past `maxTopics`, `XPPG_ERR_DHT_STOPPED` after `close()`.
   */
  topic(topic: string, options: { port: number }): DhtTopic {
    const call = "dht.topic(topic, { port })";
    const hash = topicInfoHash(this.#o.appName, topic);
    const port = options?.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw invalidDhtArgument(`port must be the TCP port peers dial, 1 to 65535, got ${String(port)}`, call);
    if (this.#closing !== undefined) throw new DhtError(DHT_ERROR_CODES.STOPPED, "This DHT was closed. Create a new one with dhtDiscovery().");
    const existing = this.#topics.get(topic);
    if (existing !== undefined) return existing;
    if (this.#topics.size >= this.#o.maxTopics) {
      throw new DhtError(DHT_ERROR_CODES.TOO_MANY_TOPICS, `This DHT has ${this.#topics.size} topics joined, the limit (maxTopics). Leave one first, or raise maxTopics.`, { details: { maxTopics: this.#o.maxTopics } });
    }
    const t = new DhtTopic(this.#host, topic, hash, port);
    this.#topics.set(topic, t);
    return t;
  }

  /**
   * Publishes a signed mutable record (BEP 44) under `publicKey`, salted
   * with the app name: opens the DHT's socket if needed, finds the closest
   * nodes to the key and stores it there. Resolves with how many took it.
   *
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a key that is not 32 bytes, a value over 1000 bytes or a
   * sequence number that is not a safe integer, `XPPG_ERR_DHT_ANNOUNCE_FAILED` when no node took it,
   * `XPPG_ERR_DHT_UNAVAILABLE` / `XPPG_ERR_DHT_STOPPED` as `topic().start()`.
   */
  async publish(record: SignedRecordInput, options: { signal?: AbortSignal } = {}): Promise<number> {
    const call = "dht.publish({ publicKey, sign, value, seq })";
    const { publicKey, value, seq } = record ?? {};
    const key = ownBytes(publicKey);
    if (key === undefined || key.length !== 32) throw invalidDhtArgument("publicKey must be the 32-byte Ed25519 public key", call);
    const bytes = ownBytes(value);
    if (bytes === undefined || bytes.length + 6 > MAX_RECORD_BYTES) throw invalidDhtArgument(`value must be bytes, at most ${MAX_RECORD_BYTES - 6} (BEP 44 bounds a value to 1000 bytes bencoded)`, call);
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) throw invalidDhtArgument(`seq must be a non-negative safe integer, got ${String(seq)}`, call);
    if (typeof record.sign !== "function") throw invalidDhtArgument("sign must be a function that signs with the key's secret half", call);
    const node = await this.#open(options.signal);
    try {
      const hits = await node.put({ k: key, salt: recordSalt(this.#o.appName), seq, v: bytes, sign: (data) => signatureBytes(record.sign(data), call) });
      if (hits === 0) throw new Error("no node took it");
      return hits;
    } catch (error) {
      throw new DhtError(DHT_ERROR_CODES.ANNOUNCE_FAILED, `Publishing this node's record reached no DHT node (${toError(error).message}). Try again later; check the bootstrap list and that UDP is not blocked.`, { cause: error });
    }
  }

  /**
   * The newest record published under `publicKey` for this app (signature
   * checked, highest sequence number among the answers), or undefined when
   * none is found within `lookupTimeoutMs`. Opens the DHT's socket if needed.
   *
   * @throws `XPPG_ERR_INVALID_ARGUMENT` for a key that is not 32 bytes, `XPPG_ERR_DHT_UNAVAILABLE` / `XPPG_ERR_DHT_STOPPED` as `topic().start()`.
   */
  async resolve(publicKey: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<SignedRecord | undefined> {
    const key = ownBytes(publicKey);
    if (key === undefined || key.length !== 32) throw invalidDhtArgument("publicKey must be the 32-byte Ed25519 public key", "dht.resolve(publicKey)");
    const node = await this.#open(options.signal);
    const salt = recordSalt(this.#o.appName);
    const found = await node.get(recordTarget(key, salt), salt, this.#o.lookupTimeoutMs);
    return found === undefined ? undefined : { value: new Uint8Array(found.v), seq: found.seq };
  }

  /** Leaves every topic, writes the nodes file (when given), closes the socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#topics.values()].map((t) => t.stop()));
      const node = await this.#opening?.catch(() => undefined);
      if (node === undefined) return;
      if (this.#o.nodesFile !== undefined) {
        const nodes = node.knownNodes(MAX_SAVED_NODES);
        if (nodes.length > 0) await writeNodesFile(this.#o.nodesFile, nodes).catch((e: unknown) => this.#report(e));
      }
      await node.close();
      this.#node = undefined;
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(signal: AbortSignal | undefined): Promise<DhtNode> {
    if (this.#closing !== undefined) return Promise.reject(new DhtError(DHT_ERROR_CODES.STOPPED, "This DHT was closed. Create a new one with dhtDiscovery()."));
    if (signal?.aborted === true) return Promise.reject(aborted());
    this.#opening ??= this.#bind().catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    if (signal === undefined) return this.#opening;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(aborted());
      signal.addEventListener("abort", onAbort, { once: true });
      this.#opening!.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async #bind(): Promise<DhtNode> {
    let saved: DhtPeer[] = [];
    if (this.#o.nodesFile !== undefined) saved = await readNodesFile(this.#o.nodesFile).catch((e: unknown) => (this.#report(e), []));
    const node = new DhtNode(this.#o, saved);
    node.socket.on("failed", (failure: PacketFailure) => this.#listeners.emit("error", libraryFailed(failure)));
    try {
      await node.listen(this.#o.port, this.#o.host);
    } catch (error) {
      await node.close();
      const e = toError(error);
      throw new DhtError(
        DHT_ERROR_CODES.UNAVAILABLE,
        `The DHT could not open UDP port ${this.#o.port} on ${this.#o.host}: ${e.message}. Another program may hold the port; leave port out (any free port) or pick another.`,
        { cause: e, details: { port: this.#o.port, host: this.#o.host, causeCode: (e as NodeJS.ErrnoException).code } },
      );
    }
    this.#node = node;
    // Not awaited: a lookup needs no finished bootstrap (it starts from the bootstrap nodes and goes on from
    // what they answer), and the bootstrap waits for its slowest query, often a node that has gone.
    void node.bootstrapped(this.#o.bootstrapTimeoutMs).then((answered) => {
      if (answered || this.#closing !== undefined) return;
      this.#listeners.emit(
        "error",
        new DhtError(DHT_ERROR_CODES.NO_NODES, `No DHT node answered within ${this.#o.bootstrapTimeoutMs} ms (bootstrap: ${this.#o.bootstrap.slice(0, 4).join(", ")}). The DHT keeps trying; check that UDP is not blocked.`, {
          details: { bootstrap: [...this.#o.bootstrap] },
        }),
      );
    });
    return node;
  }

  #report(error: unknown): void {
    if (isXppgError(error)) this.#listeners.emit("error", error);
  }
}

function libraryFailed({ error, host, port, count }: PacketFailure): DhtError {
  const what = error instanceof Error ? error.message : String(error);
  return new DhtError(
    DHT_ERROR_CODES.LIBRARY_FAILED,
    `The DHT library threw on a packet from ${host}:${port} (${what}); the packet was dropped and the DHT carries on (${count} such packet${count === 1 ? "" : "s"} since the last report, counted in stats.packets.malformed). This is a gap in @xppg/dht's packet screen: please report it with this message.`,
    { cause: error, details: { host, port, count } },
  );
}

function aborted(): DhtError {
  return new DhtError(DHT_ERROR_CODES.ABORTED, "Joining the DHT was aborted by its signal.");
}

/**
 * A copy of a caller's bytes, measured by the language's getter, or undefined
 * for anything but a Uint8Array's bytes: `Buffer.from` reads the array's own
 * `length` (and calls its `valueOf`), and a lying one would publish the
 * memory after the bytes (Node's pool) to the DHT, signed.
 */
function ownBytes(value: unknown): Buffer | undefined {
  let length: number;
  try {
    length = checkByteArray(value, "", "");
  } catch {
    return undefined;
  }
  const copy = Buffer.allocUnsafe(length);
  copy.set(value as Uint8Array);
  return copy;
}

/** What the caller's `sign` answered, as its bytes (see {@link ownBytes}). */
function signatureBytes(signature: unknown, call: string): Buffer {
  const bytes = ownBytes(signature);
  if (bytes === undefined) throw invalidDhtArgument("sign must return the signature as a Uint8Array", call);
  return bytes;
}
