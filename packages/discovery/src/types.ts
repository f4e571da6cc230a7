/** How a candidate was found. `"lan"`: multicast DNS on the local network; `"dht"`: a topic lookup on the BitTorrent DHT (`@xppg/dht`). */
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

/**
 * A candidate whose peer id may be unknown: a DHT lookup yields addresses
 * alone, and the handshake tells who answers. Every {@link PeerCandidate}
 * is one.
 */
export interface AddressCandidate {
  /** The peer id, when the record carried one (or it was learned by a dial); else undefined. */
  readonly peerId: string | undefined;
  /** The address to dial (IPv4). */
  readonly host: string;
  /** The port the peer listens on. */
  readonly port: number;
  /** How it was found. */
  readonly source: CandidateSource;
  /** Relayed addresses it announced, to try when `host:port` cannot be dialled. */
  readonly relayAddresses?: readonly string[];
}

/** The events of a {@link Discovery}; `C` is its candidate type. */
export interface DiscoveryEvents<C extends AddressCandidate = PeerCandidate> {
  /**
   * A candidate to dial: emitted when first seen and again only when seen
   * after its backoff period, so one announcement never asks for more than
   * one dial per period.
   */
  peer: (candidate: C) => void;
  /** A candidate left: it said goodbye, its records expired or it was evicted. */
  gone: (candidate: C) => void;
  /** A problem that did not stop discovery (a failed send, a listener that threw). */
  error: (error: Error) => void;
}

/**
 * A way of finding peers. LAN discovery (multicast DNS) implements it; a DHT
 * discovery (`@xppg/dht`, whose candidates may lack a peer id) implements the
 * same shape, so a node wires either the same way.
 */
export interface Discovery<C extends AddressCandidate = PeerCandidate> {
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
  on<E extends keyof DiscoveryEvents<C>>(event: E, listener: DiscoveryEvents<C>[E]): () => void;
  /** The current candidates, newest last. Bounded by the discovery's limits. */
  readonly candidates: readonly C[];
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
