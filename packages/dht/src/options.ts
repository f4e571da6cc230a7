import { isIPv4 } from "node:net";
import * as C from "./constants.js";
import { invalidDhtArgument } from "./errors.js";
import { checkName } from "./topic-hash.js";

/** Options of {@link dhtDiscovery}. Every limit has a safe default. */
export interface DhtDiscoveryOptions {
  /** The app: part of every topic's hash, so apps never meet by sharing a topic name. */
  appName: string;
  /**
   * DHT nodes to start from, as `"host:port"`. Give your own for a private
   * DHT (tests, a lab, a company network).
   * @default {@link DEFAULT_BOOTSTRAP}, the routers BitTorrent clients use
   */
  bootstrap?: readonly string[];
  /**
   * A file to keep the DHT nodes this node knew, read at the next start so
   * it needs the bootstrap routers less (at most 200 nodes, JSON).
   * @default none
   */
  nodesFile?: string;
  /** UDP port of the DHT. @default 0 (any free port) */
  port?: number;
  /** Local IPv4 address the DHT's socket binds to. @default "0.0.0.0" */
  host?: string;
  /** How often a joined topic is announced again. @default 900000 (15 min) */
  announceIntervalMs?: number;
  /** How often a joined topic is looked up, once past the first lookups (5, 15, 30 s after the start). @default 300000 (5 min) */
  lookupIntervalMs?: number;
  /** The waits before the first lookups of a topic, after the one at start. @default [5000, 15000, 30000] */
  firstLookupDelaysMs?: readonly number[];
  /** A lookup still running after this long is cut short. @default 20000 */
  lookupTimeoutMs?: number;
  /** A candidate no lookup has returned for this long is forgotten. @default 1800000 (30 min) */
  candidateTtlMs?: number;
  /** Longest wait at the first start for a bootstrap node to answer. @default 10000 */
  bootstrapTimeoutMs?: number;
  /** Wait for one DHT answer before the query counts as lost. @default 2000 */
  queryTimeoutMs?: number;
  /** Topics joined at once. @default 16 */
  maxTopics?: number;
  /** Candidates kept per topic. @default 128 */
  maxCandidates?: number;
  /** New candidates one lookup may add. @default 32 */
  maxNewPerLookup?: number;
  /** Candidates of one IPv4 address per topic. @default 4 */
  maxPerHost?: number;
  /** Offers (dials) of an address never confirmed as an xppg node, per `candidateTtlMs`. @default 3 */
  maxOffersPerAddress?: number;
  /** First wait before an address is offered again; doubles each time. @default 30000 */
  offerBackoffMs?: number;
  /** Offers per second, all topics together. @default 4 */
  maxOffersPerSecond?: number;
  /** Inbound DHT packets per second from one address. @default 20 */
  maxPacketsPerSecondPerHost?: number;
  /** Inbound DHT packets per second from everyone. @default 400 */
  maxPacketsPerSecond?: number;
  /** Peers other nodes announced that this node stores for them (BEP 5). @default 2000 */
  maxStoredPeers?: number;
  /** How long such an announcement is kept (about 1 to 1.3 times this). @default 1800000 (30 min) */
  storedPeerTtlMs?: number;
}

export type ResolvedDhtOptions = Required<Omit<DhtDiscoveryOptions, "nodesFile">> & { nodesFile: string | undefined };

/** Checks and completes the options. @throws `XPPG_ERR_INVALID_ARGUMENT` */
export function resolveDhtOptions(o: DhtDiscoveryOptions): ResolvedDhtOptions {
  if (typeof o !== "object" || o === null) throw invalidDhtArgument("options must be an object { appName, bootstrap? }");
  const appName = checkName(o.appName, "appName");
  const bootstrap = o.bootstrap === undefined ? C.DEFAULT_BOOTSTRAP : checkBootstrap(o.bootstrap);
  if (o.nodesFile !== undefined && (typeof o.nodesFile !== "string" || o.nodesFile.length === 0)) throw invalidDhtArgument("nodesFile must be a file path");
  if (o.host !== undefined && (typeof o.host !== "string" || !isIPv4(o.host))) throw invalidDhtArgument(`host must be a local IPv4 address such as "0.0.0.0", got ${JSON.stringify(o.host)}`);
  const delays = o.firstLookupDelaysMs ?? C.FIRST_LOOKUP_DELAYS_MS;
  if (!Array.isArray(delays) || delays.length > 16) throw invalidDhtArgument("firstLookupDelaysMs must be an array of at most 16 waits in ms");
  const H = 3_600_000;
  return {
    appName,
    bootstrap,
    nodesFile: o.nodesFile,
    port: int(o.port, "port", 0, 65535, 0),
    host: o.host ?? "0.0.0.0",
    announceIntervalMs: int(o.announceIntervalMs, "announceIntervalMs", 100, 24 * H, C.DEFAULT_ANNOUNCE_INTERVAL_MS),
    lookupIntervalMs: int(o.lookupIntervalMs, "lookupIntervalMs", 100, 24 * H, C.DEFAULT_LOOKUP_INTERVAL_MS),
    firstLookupDelaysMs: delays.map((d, i) => int(d, `firstLookupDelaysMs[${i}]`, 0, 24 * H, undefined)),
    lookupTimeoutMs: int(o.lookupTimeoutMs, "lookupTimeoutMs", 100, H, C.DEFAULT_LOOKUP_TIMEOUT_MS),
    candidateTtlMs: int(o.candidateTtlMs, "candidateTtlMs", 100, 24 * H, C.DEFAULT_CANDIDATE_TTL_MS),
    bootstrapTimeoutMs: int(o.bootstrapTimeoutMs, "bootstrapTimeoutMs", 100, H, C.DEFAULT_BOOTSTRAP_TIMEOUT_MS),
    queryTimeoutMs: int(o.queryTimeoutMs, "queryTimeoutMs", 100, 60_000, 2_000),
    maxTopics: int(o.maxTopics, "maxTopics", 1, 1_000, C.DEFAULT_MAX_TOPICS),
    maxCandidates: int(o.maxCandidates, "maxCandidates", 1, 100_000, C.DEFAULT_MAX_CANDIDATES),
    maxNewPerLookup: int(o.maxNewPerLookup, "maxNewPerLookup", 1, 100_000, C.DEFAULT_MAX_NEW_PER_LOOKUP),
    maxPerHost: int(o.maxPerHost, "maxPerHost", 1, 100_000, C.DEFAULT_MAX_PER_HOST),
    maxOffersPerAddress: int(o.maxOffersPerAddress, "maxOffersPerAddress", 1, 1_000, C.DEFAULT_MAX_OFFERS_PER_ADDRESS),
    offerBackoffMs: int(o.offerBackoffMs, "offerBackoffMs", 10, 24 * H, C.DEFAULT_OFFER_BACKOFF_MS),
    maxOffersPerSecond: int(o.maxOffersPerSecond, "maxOffersPerSecond", 1, 10_000, C.DEFAULT_MAX_OFFERS_PER_SECOND),
    maxPacketsPerSecondPerHost: int(o.maxPacketsPerSecondPerHost, "maxPacketsPerSecondPerHost", 1, 1_000_000, C.DEFAULT_MAX_PACKETS_PER_SECOND_PER_HOST),
    maxPacketsPerSecond: int(o.maxPacketsPerSecond, "maxPacketsPerSecond", 1, 1_000_000, C.DEFAULT_MAX_PACKETS_PER_SECOND),
    maxStoredPeers: int(o.maxStoredPeers, "maxStoredPeers", 1, 1_000_000, C.DEFAULT_MAX_STORED_PEERS),
    storedPeerTtlMs: int(o.storedPeerTtlMs, "storedPeerTtlMs", 100, 24 * H, C.DEFAULT_STORED_PEER_TTL_MS),
  };
}

/** `"host:port"` entries, at most 64, each a host name or IPv4 address and a port from 1 to 65535. */
function checkBootstrap(list: unknown): readonly string[] {
  if (!Array.isArray(list) || list.length > 64) throw invalidDhtArgument('bootstrap must be an array of at most 64 "host:port" strings, such as ["127.0.0.1:20000"]');
  return list.map((entry: unknown, i) => {
    const m = typeof entry === "string" ? /^([A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(entry) : null;
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw invalidDhtArgument(`bootstrap[${i}] must be "host:port" (an IPv4 address or host name, a port from 1 to 65535), got ${JSON.stringify(entry)}`);
    return entry as string;
  });
}

function int(value: unknown, name: string, min: number, max: number, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw invalidDhtArgument(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}
