/** How a candidate was found. `"lan"`: multicast DNS on the local network. */
export type CandidateSource = "lan" | "dht";

/**
 * A peer that announced itself. Only a hint: the address may be stale or
 * forged, so dial it with `peerId` pinned and let the handshake decide.
 */
export interface PeerCandidate {
  /** The peer id the announcement claims. */
  readonly peerId: string;
  /** The address to dial: the source address of the announcement (IPv4). */
  readonly host: string;
  /** The port the peer listens on, from its SRV record. */
  readonly port: number;
  /** How it was found. */
  readonly source: CandidateSource;
  /** Relayed addresses it announced (`relay://host:port/p/<peer id>`), to try when `host:port` cannot be dialled. */
  readonly relayAddresses?: readonly string[];
}

/** The events of a {@link Discovery}. */
export interface DiscoveryEvents {
  /**
   * A candidate to dial: emitted when first seen and again only when seen
   * after its backoff period, so one announcement never asks for more than
   * one dial per period.
   */
  peer: (candidate: PeerCandidate) => void;
  /** A candidate left: it said goodbye, its records expired or it was evicted. */
  gone: (candidate: PeerCandidate) => void;
  /** A problem that did not stop discovery (a failed send, a listener that threw). */
  error: (error: Error) => void;
}

/**
 * A way of finding peers. LAN discovery (multicast DNS) implements it; a DHT
 * discovery can implement the same shape so a node wires either the same way.
 */
export interface Discovery {
  /** Starts announcing and looking. Resolves once the socket is ready. */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** Says goodbye (records with TTL 0), stops and releases the socket. Idempotent. */
  stop(): Promise<void>;
  /**
   * Forgets a candidate (its connection was lost) and looks again soon, so
   * it is offered again as soon as it answers. Optional.
   */
  forget?(peerId: string): void;
  /** Registers a listener; returns a function that removes it. */
  on<E extends keyof DiscoveryEvents>(event: E, listener: DiscoveryEvents[E]): () => void;
  /** The current candidates, newest last. Bounded by the discovery's limits. */
  readonly candidates: readonly PeerCandidate[];
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
