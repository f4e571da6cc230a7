/** The DNS-SD service type every xppg node announces (RFC 6763). */
export const SERVICE_TYPE = "_xppg._tcp.local";
/** The multicast DNS group and port (RFC 6762). */
export const MDNS_GROUP = "224.0.0.251";
export const MDNS_PORT = 5353;
/** Domain separation for the app hash: changing it changes every subtype. */
export const APP_HASH_CONTEXT = "xppg/discovery/v1/app\u0000";
/** Hex characters of the app hash in the subtype label (80 bits). */
export const APP_HASH_HEX_CHARS = 20;
/** The TXT record's version key. */
export const TXT_VERSION = "1";

/** Default TTL of our records, in seconds (RFC 6762 §10: 120 s for records naming a host). */
export const DEFAULT_TTL_SECONDS = 120;
/** A received TTL above this is cut to it: a forged record cannot stay forever. */
export const MAX_CANDIDATE_TTL_SECONDS = 300;
/** Bound on the candidate list. */
export const DEFAULT_MAX_CANDIDATES = 64;
/** Bound on candidates announced from one source address. */
export const DEFAULT_MAX_CANDIDATES_PER_HOST = 8;
/** First wait before a candidate is offered for a dial again. */
export const DEFAULT_CANDIDATE_BACKOFF_MS = 2_000;
/** Longest wait before a candidate is offered again. */
export const DEFAULT_MAX_CANDIDATE_BACKOFF_MS = 60_000;
/** Offers (`peer` events) per second, all candidates together; bursts up to the same number. */
export const DEFAULT_MAX_OFFERS_PER_SECOND = 20;
/** First re-query after the start query; doubles up to the maximum (RFC 6762 §5.2). */
export const DEFAULT_QUERY_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_QUERY_INTERVAL_MS = 60_000;
/**
 * Our records are multicast at most once per this interval. RFC 6762 §6 asks
 * for one second; a quarter keeps a newcomer from waiting up to a second for
 * answers from nodes that have just announced, and still bounds a query flood.
 */
export const MIN_RESPONSE_INTERVAL_MS = 250;
/** The second announcement follows the first after this long (RFC 6762 §8.3). */
export const ANNOUNCE_REPEAT_MS = 1_000;
/** Records read from one packet; the rest is ignored. */
export const MAX_RECORDS_PER_PACKET = 32;
/** TXT strings read from one record. */
export const MAX_TXT_STRINGS = 8;
/** Known answers put in one query (RFC 6762 §7.1). */
export const MAX_KNOWN_ANSWERS = 16;
/** App names longer than this are refused (the name is hashed, never sent). */
export const MAX_APP_NAME_LENGTH = 256;
