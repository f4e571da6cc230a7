import { isIPv4 } from "node:net";
import {
  DEFAULT_CANDIDATE_BACKOFF_MS,
  DEFAULT_MAX_CANDIDATE_BACKOFF_MS,
  DEFAULT_MAX_CANDIDATES,
  DEFAULT_MAX_CANDIDATES_PER_HOST,
  DEFAULT_MAX_OFFERS_PER_SECOND,
  DEFAULT_MAX_QUERY_INTERVAL_MS,
  DEFAULT_QUERY_INTERVAL_MS,
  DEFAULT_TTL_SECONDS,
  MAX_APP_NAME_LENGTH,
  MDNS_PORT,
} from "./constants.js";
import { DISCOVERY_ERROR_CODES, DiscoveryError } from "./errors.js";
import { PEER_ID_LABEL } from "./records.js";

/** Options of {@link lanDiscovery}. */
export interface LanDiscoveryOptions {
  /** The app (for a chat: the room). Only its hash is announced; nodes of other apps are ignored. */
  appName: string;
  /** This node's peer id (lowercase letters, digits, `-`; at most 63 characters). Its own announcements are ignored. */
  peerId: string;
  /** The port this node accepts connections on, announced in the SRV record. */
  port: number;
  /**
   * The IPv4 address of the one interface to use (`"192.168.1.20"`, or
   * `"127.0.0.1"` for the processes of one machine only). Announcements,
   * queries and group membership then use that interface alone.
   * @default every interface with an IPv4 address
   */
  interface?: string;
  /**
   * This node's relayed addresses (`relay://host:port/p/<peer id>`), read at
   * each announcement and sent as TXT strings `r=...` (at most 4), for peers
   * that cannot dial it on the LAN (client isolation).
   * @default none
   */
  relayAddresses?: () => readonly string[];
  /** The UDP port of multicast DNS. Only tests change it. @default 5353 */
  mdnsPort?: number;
  /** TTL of our records, in seconds. @default 120 */
  ttlSeconds?: number;
  /** Bound on the candidate list. @default 64 */
  maxCandidates?: number;
  /** Bound on candidates announced from one address. @default 8 */
  maxCandidatesPerHost?: number;
  /** First wait before a candidate is offered again; doubles each time. @default 2000 */
  candidateBackoffMs?: number;
  /** Longest such wait. @default 60000 */
  maxCandidateBackoffMs?: number;
  /** `peer` events per second, all candidates together. @default 20 */
  maxOffersPerSecond?: number;
  /** First re-query after the start query; doubles each time. @default 1000 */
  queryIntervalMs?: number;
  /** Longest wait between queries. @default 60000 */
  maxQueryIntervalMs?: number;
}

export type ResolvedLanOptions = Required<Omit<LanDiscoveryOptions, "interface">> & { interface: string | undefined };

/** Checks and completes the options. @throws `XPPG_ERR_INVALID_ARGUMENT` */
export function resolveLanOptions(options: LanDiscoveryOptions): ResolvedLanOptions {
  if (typeof options !== "object" || options === null) throw invalid("options must be an object { appName, peerId, port }");
  const { appName, peerId, port } = options;
  if (typeof appName !== "string" || appName.length === 0 || appName.length > MAX_APP_NAME_LENGTH) {
    throw invalid(`appName must be a string of 1 to ${MAX_APP_NAME_LENGTH} characters`);
  }
  if (typeof peerId !== "string" || !PEER_ID_LABEL.test(peerId)) {
    throw invalid(`peerId must be 1 to 63 lowercase letters, digits or "-", got ${JSON.stringify(String(peerId).slice(0, 80))}`);
  }
  if (options.interface !== undefined && (typeof options.interface !== "string" || !isIPv4(options.interface))) {
    throw invalid(`interface must be the IPv4 address of a local interface, such as "127.0.0.1", got ${JSON.stringify(options.interface)}`);
  }
  if (options.relayAddresses !== undefined && typeof options.relayAddresses !== "function") throw invalid("relayAddresses must be a function returning the relayed addresses");
  return {
    appName,
    peerId,
    relayAddresses: options.relayAddresses ?? (() => []),
    port: int(port, "port", 1, 65535, undefined),
    interface: options.interface,
    mdnsPort: int(options.mdnsPort, "mdnsPort", 1, 65535, MDNS_PORT),
    ttlSeconds: int(options.ttlSeconds, "ttlSeconds", 1, 4500, DEFAULT_TTL_SECONDS),
    maxCandidates: int(options.maxCandidates, "maxCandidates", 1, 10_000, DEFAULT_MAX_CANDIDATES),
    maxCandidatesPerHost: int(options.maxCandidatesPerHost, "maxCandidatesPerHost", 1, 10_000, DEFAULT_MAX_CANDIDATES_PER_HOST),
    candidateBackoffMs: int(options.candidateBackoffMs, "candidateBackoffMs", 1, 3_600_000, DEFAULT_CANDIDATE_BACKOFF_MS),
    maxCandidateBackoffMs: int(options.maxCandidateBackoffMs, "maxCandidateBackoffMs", 1, 3_600_000, DEFAULT_MAX_CANDIDATE_BACKOFF_MS),
    maxOffersPerSecond: int(options.maxOffersPerSecond, "maxOffersPerSecond", 1, 10_000, DEFAULT_MAX_OFFERS_PER_SECOND),
    queryIntervalMs: int(options.queryIntervalMs, "queryIntervalMs", 100, 3_600_000, DEFAULT_QUERY_INTERVAL_MS),
    maxQueryIntervalMs: int(options.maxQueryIntervalMs, "maxQueryIntervalMs", 100, 3_600_000, DEFAULT_MAX_QUERY_INTERVAL_MS),
  };
}

function int(value: unknown, name: string, min: number, max: number, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function invalid(what: string): DiscoveryError {
  return new DiscoveryError(DISCOVERY_ERROR_CODES.INVALID_ARGUMENT, `Invalid LAN discovery options: ${what}. Fix the call to lanDiscovery().`);
}
