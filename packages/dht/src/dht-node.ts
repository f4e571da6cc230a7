/**
 * One `bittorrent-dht` node behind the guarded socket: bound storage,
 * bounded answers, a bounded lookup. The only module that touches the
 * library, so its quirks stay here:
 *
 * - `bootstrap` is always an explicit list (the library falls back to the
 *   public routers when it is left out);
 * - our answers to `get_peers` carry at most {@link MAX_PEERS_PER_ANSWER}
 *   peers, and our answers to `find_node` / `get_peers` at most
 *   {@link NODES_PER_ANSWER} nodes (the library sends every stored peer
 *   and every node of its routing table: a reflection amplifier, and
 *   packets past one MTU that many nodes drop);
 * - `lookup` has no deadline of its own: ours stops listening after
 *   `timeoutMs` and lets the library's queries time out by themselves.
 */

import { DHT, type DhtInstance, type DhtPeer } from "./bittorrent-dht.js";
import { MAX_LOOKUP_TABLES, MAX_STORED_VALUES } from "./constants.js";
import { screenQueries } from "./krpc-screen.js";
import { GuardedSocket, isUnicastIPv4, loopbackBootstrap, type PacketStats } from "./guarded-socket.js";
import type { ResolvedDhtOptions } from "./options.js";
import { verifyEd25519 } from "./signed-record.js";

/** Peers one answer to `get_peers` carries (about 50 x 8 bytes: well inside one packet). */
export const MAX_PEERS_PER_ANSWER = 50;
/** Nodes one answer carries, as BEP 5 says (8 x 26 bytes). */
export const NODES_PER_ANSWER = 8;

export class DhtNode {
  readonly socket: GuardedSocket;
  readonly #dht: DhtInstance;
  #closed: Promise<void> | undefined;

  constructor(o: ResolvedDhtOptions, extraNodes: readonly DhtPeer[]) {
    const saved = extraNodes.map((n) => `${n.host}:${n.port}`);
    this.socket = new GuardedSocket({ perHost: o.maxPacketsPerSecondPerHost, total: o.maxPacketsPerSecond, loopback: loopbackBootstrap([...o.bootstrap, ...saved]) || o.host.startsWith("127.") });
    this.#dht = new DHT({
      bootstrap: [...o.bootstrap, ...saved],
      socket: this.socket,
      maxAge: o.storedPeerTtlMs,
      maxPeers: o.maxStoredPeers,
      maxValues: MAX_STORED_VALUES,
      maxTables: MAX_LOOKUP_TABLES,
      timeout: o.queryTimeoutMs,
      // BEP 44: mutable items are stored and read only with a valid signature.
      verify: (signature, message, publicKey) => verifyEd25519(signature, message, publicKey),
    });
    capAnswers(this.#dht);
    screenQueries(this.#dht, () => void this.socket.stats.malformed++);
    // One `peer` listener per running lookup, one lookup per topic at a time.
    this.#dht.setMaxListeners(0);
    // Errors after the start are socket warnings the library already survives; `listen` reports the fatal ones.
    this.#dht.on("warning", () => {});
  }

  /** Binds the socket; rejects with the socket's error (a port in use). */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#dht.once("error", onError);
      this.#dht.listen(port, host, () => {
        this.#dht.off("error", onError);
        this.#dht.on("error", () => {});
        resolve();
      });
    });
  }

  /** Resolves once the first bootstrap round is over (`ready`), or after `timeoutMs`; true when some node answered. */
  bootstrapped(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#dht.off("ready", done);
        resolve(this.#dht.nodes.count() > 0);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      if (this.#dht.ready) done();
      else this.#dht.on("ready", done);
    });
  }

  /** The UDP port the DHT listens on. */
  get port(): number {
    return this.#dht.address().port;
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.#dht.nodes.count();
  }

  /** Some nodes of the routing table, for the nodes file. */
  knownNodes(max: number): DhtPeer[] {
    return this.#dht
      .toJSON()
      .nodes.filter((n) => isUnicastIPv4(n.host))
      .slice(0, max);
  }

  get packets(): Readonly<PacketStats> {
    return this.socket.stats;
  }

  /** Announces `port` under `infoHash` to the closest nodes (a lookup first when their tokens are not known); resolves with how many took it. */
  announce(infoHash: Buffer, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) return reject(new Error("the DHT is closed"));
      this.#dht.announce(infoHash, port, (error, hits) => (error === null || error === undefined ? resolve(hits ?? 0) : reject(error)));
    });
  }

  /**
   * Looks `infoHash` up, calling `onPeer` with each address returned,
   * until the lookup ends or `timeoutMs` passes. Resolves either way.
   */
  lookup(infoHash: Buffer, timeoutMs: number, onPeer: (peer: DhtPeer) => void): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed !== undefined) return resolve();
      const listener = (peer: DhtPeer, hash: Buffer): void => {
        if (Buffer.isBuffer(hash) && hash.equals(infoHash)) onPeer(peer);
      };
      let finished = false;
      let abort = (): void => {};
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#dht.off("peer", listener);
        abort();
        resolve();
      };
      this.#dht.on("peer", listener);
      const timer = setTimeout(finish, timeoutMs);
      timer.unref();
      abort = this.#dht.lookup(infoHash, () => finish());
    });
  }

  /** Stores a signed mutable item (BEP 44) at the closest nodes; resolves with how many took it. */
  put(item: { k: Buffer; salt: Buffer; seq: number; v: Buffer; sign: (data: Buffer) => Buffer }): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) return reject(new Error("the DHT is closed"));
      try {
        this.#dht.put(item, (error, _key, hits) => (error === null || error === undefined ? resolve(hits ?? 0) : reject(error)));
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * The newest mutable item at `target` whose signature and key check out
   * (the library verifies each answer), or undefined; gives up after `timeoutMs`.
   */
  get(target: Buffer, salt: Buffer, timeoutMs: number): Promise<{ v: Buffer; seq: number } | undefined> {
    return new Promise((resolve) => {
      if (this.#closed !== undefined) return resolve(undefined);
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      timer.unref();
      this.#dht.get(target, { salt, cache: false }, (error, value) => {
        clearTimeout(timer);
        const v = value?.v;
        const seq = value?.seq;
        resolve(error === null && Buffer.isBuffer(v) && typeof seq === "number" && Number.isSafeInteger(seq) ? { v, seq } : undefined);
      });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => this.#dht.destroy(() => resolve()));
    return this.#closed;
  }
}

/**
 * Bounds what our answers carry (see the module comment): peers, a random
 * sample as the library picks; nodes, the closest 8. The library asks for
 * "every" (no count) only when it answers: its own lookups pass a count.
 */
function capAnswers(dht: DhtInstance): void {
  const internals = dht as unknown as { _peers?: { get?: (name: string, n?: number) => unknown[] }; _rpc?: { nodes?: { closest?: (id: Buffer, n?: number) => unknown[] } } };
  const store = internals._peers;
  const get = store?.get;
  if (store !== undefined && typeof get === "function") {
    store.get = (name: string, n?: number) => get.call(store, name, Math.min(n ?? MAX_PEERS_PER_ANSWER, MAX_PEERS_PER_ANSWER) || MAX_PEERS_PER_ANSWER);
  }
  const table = internals._rpc?.nodes;
  const closest = table?.closest;
  if (table !== undefined && typeof closest === "function") {
    table.closest = (id: Buffer, n?: number) => closest.call(table, id, n ?? NODES_PER_ANSWER);
  }
}
