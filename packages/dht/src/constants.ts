/**
 * The routers BitTorrent clients bootstrap from, used when no `bootstrap`
 * list is given. Tests and examples never use them: they pass their own list.
 */
export const DEFAULT_BOOTSTRAP: readonly string[] = Object.freeze([
  "router.bittorrent.com:6881",
  "router.utorrent.com:6881",
  "dht.transmissionbt.com:6881",
  "dht.libtorrent.org:25401",
]);

/** Domain separation of the topic hash: changing it changes every infohash. */
export const TOPIC_HASH_CONTEXT = "xppg/dht/v1/topic\u0000";
/** App names and topics longer than this are refused (only their hash is sent). */
export const MAX_NAME_LENGTH = 256;

/** How often a joined topic is announced again (BitTorrent clients use about 15 to 30 minutes). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 15 * 60_000;
/** The first lookups of a topic come after these waits; then every `lookupIntervalMs`. */
export const FIRST_LOOKUP_DELAYS_MS: readonly number[] = [5_000, 15_000, 30_000];
/** How often a joined topic is looked up once settled. */
export const DEFAULT_LOOKUP_INTERVAL_MS = 5 * 60_000;
/** A lookup that has not finished by then is cut short (its peers so far count). */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 20_000;
/** A candidate not seen again by any lookup for this long is forgotten. */
export const DEFAULT_CANDIDATE_TTL_MS = 30 * 60_000;
/** How long `start()` waits for the first bootstrap answer before it announces anyway. */
export const DEFAULT_BOOTSTRAP_TIMEOUT_MS = 10_000;

/** Bound on the candidates of one topic. */
export const DEFAULT_MAX_CANDIDATES = 128;
/** New candidates one lookup may add; the rest of what it returns is ignored. */
export const DEFAULT_MAX_NEW_PER_LOOKUP = 32;
/** Candidates one IPv4 address may hold in a topic (several nodes behind one NAT). */
export const DEFAULT_MAX_PER_HOST = 4;
/** Offers of one address before it is given up: each is a dial, and an address may be a victim's. */
export const DEFAULT_MAX_OFFERS_PER_ADDRESS = 3;
/** First wait before a candidate is offered again; doubles each time. */
export const DEFAULT_OFFER_BACKOFF_MS = 30_000;
/** Offers (`peer` events) per second, all topics of one DHT together. */
export const DEFAULT_MAX_OFFERS_PER_SECOND = 4;

/** Inbound DHT packets per second accepted from one IPv4 address; the rest are dropped unread. */
export const DEFAULT_MAX_PACKETS_PER_SECOND_PER_HOST = 20;
/** Inbound DHT packets per second accepted from everyone together. */
export const DEFAULT_MAX_PACKETS_PER_SECOND = 400;
/**
 * Inbound packets larger than this are dropped unread. A mainline answer
 * fits in one MTU, but some nodes (the `bittorrent-dht` library itself)
 * list their whole routing table in one answer: 8 KiB keeps those of up to
 * about 300 nodes.
 */
export const MAX_PACKET_BYTES = 8_192;
/** Sources tracked by the per-host rate limit; the oldest is forgotten first. */
export const MAX_TRACKED_HOSTS = 4_096;

/** Announced peers this node stores for others (BEP 5 storage), all infohashes together. */
export const DEFAULT_MAX_STORED_PEERS = 2_000;
/** How long this node keeps a peer announced to it. */
export const DEFAULT_STORED_PEER_TTL_MS = 30 * 60_000;
/** BEP 44 values and routing tables of lookups kept. */
export const MAX_STORED_VALUES = 100;
export const MAX_LOOKUP_TABLES = 64;

/** DHT nodes written to the nodes file, and read back from it. */
export const MAX_SAVED_NODES = 200;
/** A nodes file larger than this is ignored. */
export const MAX_NODES_FILE_BYTES = 64 * 1024;
/** Topics one DHT may join at once. */
export const DEFAULT_MAX_TOPICS = 16;
