/**
 * Our DNS-SD records (RFC 6763) and the parser for other nodes' records.
 * Pure: no sockets. The parser takes what the DNS decoder produced as
 * `unknown`, because every byte came from the network.
 */

import { appSubtype, hostName, instanceName } from "./app-hash.js";
import { MAX_CANDIDATE_TTL_SECONDS, MAX_KNOWN_ANSWERS, MAX_RECORDS_PER_PACKET, MAX_TXT_STRINGS, SERVICE_TYPE, TXT_VERSION } from "./constants.js";

/** One DNS resource record as the encoder takes it. */
export interface DnsRecord {
  name: string;
  type: "PTR" | "SRV" | "TXT" | "A";
  ttl: number;
  class?: "IN";
  flush?: boolean;
  data: unknown;
}

/** What a node announces about itself. */
export interface SelfRecord {
  peerId: string;
  appHash: string;
  port: number;
  /** IPv4 addresses for the A record (other browsers read it; xppg nodes use the source address). */
  addresses: readonly string[];
  /** Relayed addresses (`relay://host:port/p/<peer id>`), as TXT strings `r=...`; at most {@link MAX_ANNOUNCED_RELAYS}. */
  relays?: readonly string[];
}

/** Relayed addresses one announcement carries (and one read keeps). */
export const MAX_ANNOUNCED_RELAYS = 4;
/** A relayed address as announced: the relay's IPv4 host and port, then the peer id. */
const RELAY_ADDRESS = /^relay:\/\/\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}\/p\/[A-Za-z0-9_-]{1,100}$/;

/** A peer id as it may appear in an instance label: lowercase letters, digits and `-`, 1 to 63 characters. */
export const PEER_ID_LABEL = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SERVICE_SUFFIX = `.${SERVICE_TYPE}`;

/**
 * The records announcing `self` (`ttl` seconds), or saying goodbye (`ttl` 0).
 * PTRs from the service type and the app subtype to the instance, then the
 * instance's SRV and TXT and the host's A records.
 */
export function selfRecords(self: SelfRecord, ttl: number): { answers: DnsRecord[]; additionals: DnsRecord[] } {
  const instance = instanceName(self.peerId);
  const host = hostName(self.peerId);
  return {
    answers: [
      { name: SERVICE_TYPE, type: "PTR", ttl, data: instance },
      { name: appSubtype(self.appHash), type: "PTR", ttl, data: instance },
      { name: instance, type: "SRV", ttl, flush: true, data: { priority: 0, weight: 0, port: self.port, target: host } },
      { name: instance, type: "TXT", ttl, flush: true, data: [`v=${TXT_VERSION}`, `app=${self.appHash}`, ...(self.relays ?? []).filter((r) => RELAY_ADDRESS.test(r)).slice(0, MAX_ANNOUNCED_RELAYS).map((r) => `r=${r}`)] },
    ],
    additionals: self.addresses.map((address) => ({ name: host, type: "A", ttl, flush: true, data: address })),
  };
}

/** The query for peers of one app, with known answers (RFC 6762 §7.1) so those peers stay quiet. */
export function appQuery(hash: string, knownPeerIds: readonly string[], ttl: number): { questions: { name: string; type: "PTR" }[]; answers: DnsRecord[] } {
  const subtype = appSubtype(hash);
  return {
    questions: [{ name: subtype, type: "PTR" }],
    answers: knownPeerIds.slice(0, MAX_KNOWN_ANSWERS).map((id) => ({ name: subtype, type: "PTR", ttl, data: instanceName(id) })),
  };
}

/** An announcement read from a response packet. */
export interface Announcement {
  peerId: string;
  port: number;
  /** Seconds the record stays valid; 0 is a goodbye. Capped at {@link MAX_CANDIDATE_TTL_SECONDS}. */
  ttl: number;
  /** The relayed addresses it announced (`r=` TXT strings), checked, at most {@link MAX_ANNOUNCED_RELAYS}. */
  relays: string[];
}

/**
 * The xppg announcements of app `hash` in a decoded DNS response, plus the
 * goodbyes (TTL 0) of any xppg instance. Ignores whatever does not parse;
 * reads at most {@link MAX_RECORDS_PER_PACKET} records. Never throws.
 */
export function readAnnouncements(packet: unknown, hash: string): Announcement[] {
  const records = recordsOf(packet, ["answers", "additionals"]);
  const srv = new Map<string, { port: number; ttl: number }>();
  const apps = new Map<string, string | undefined>();
  const relays = new Map<string, string[]>();
  for (const r of records) {
    const peerId = instancePeerId(r.name);
    if (peerId === undefined) continue;
    if (r.type === "SRV") {
      const port = srvPort(r.data);
      if (port !== undefined && !srv.has(peerId)) srv.set(peerId, { port, ttl: r.ttl });
    } else if (r.type === "TXT" && !apps.has(peerId)) {
      apps.set(peerId, txtValue(r.data, "app"));
      relays.set(peerId, txtValues(r.data, "r").filter((a) => RELAY_ADDRESS.test(a)).slice(0, MAX_ANNOUNCED_RELAYS));
    }
  }
  const out: Announcement[] = [];
  for (const [peerId, { port, ttl }] of srv) {
    // A goodbye needs no TXT: it only removes what the same host announced.
    if (ttl === 0 || apps.get(peerId) === hash) out.push({ peerId, port, ttl: Math.min(ttl, MAX_CANDIDATE_TTL_SECONDS), relays: relays.get(peerId) ?? [] });
  }
  return out;
}

/** What a query asks of us: whether to answer, given our instance and app. */
export function queryWantsUs(packet: unknown, self: { peerId: string; appHash: string }, minKnownTtl: number): boolean {
  const questions = recordsOf(packet, ["questions"]);
  const instance = instanceName(self.peerId);
  const subtype = appSubtype(self.appHash);
  const asked = questions.some(
    (q) =>
      ((q.name === SERVICE_TYPE || q.name === subtype) && (q.type === "PTR" || q.type === "ANY")) ||
      (q.name === instance && (q.type === "SRV" || q.type === "TXT" || q.type === "ANY")),
  );
  if (!asked) return false;
  // Known-answer suppression: the asker already holds our PTR with at least half its TTL.
  const known = recordsOf(packet, ["answers"]).some((a) => a.type === "PTR" && a.data === instance && a.ttl >= minKnownTtl);
  return !known;
}

interface RawRecord {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

function recordsOf(packet: unknown, sections: readonly string[]): RawRecord[] {
  const out: RawRecord[] = [];
  if (typeof packet !== "object" || packet === null) return out;
  for (const section of sections) {
    const list: unknown = (packet as Record<string, unknown>)[section];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length && out.length < MAX_RECORDS_PER_PACKET; i++) {
      const r: unknown = list[i];
      if (typeof r !== "object" || r === null) continue;
      const { name, type, ttl, data } = r as Record<string, unknown>;
      if (typeof name !== "string" || name.length > 255 || typeof type !== "string") continue;
      const t = ttl === undefined ? 0 : ttl;
      if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t > 0xffffffff) continue;
      out.push({ name: name.toLowerCase(), type, ttl: t, data });
    }
  }
  return out;
}

function instancePeerId(name: string): string | undefined {
  if (!name.endsWith(SERVICE_SUFFIX)) return undefined;
  const label = name.slice(0, -SERVICE_SUFFIX.length);
  return PEER_ID_LABEL.test(label) ? label : undefined;
}

function srvPort(data: unknown): number | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const port = (data as Record<string, unknown>).port;
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

function txtValue(data: unknown, key: string): string | undefined {
  return txtValues(data, key)[0];
}

/** Every value of `key` among a TXT record's first {@link MAX_TXT_STRINGS} strings. */
function txtValues(data: unknown, key: string): string[] {
  const strings: unknown[] = Array.isArray(data) ? data.slice(0, MAX_TXT_STRINGS) : [data];
  const prefix = `${key}=`;
  const out: string[] = [];
  for (const s of strings) {
    const text = Buffer.isBuffer(s) ? (s.length <= 255 ? s.toString("latin1") : undefined) : typeof s === "string" && s.length <= 255 ? s : undefined;
    if (text?.startsWith(prefix)) out.push(text.slice(prefix.length));
  }
  return out;
}
