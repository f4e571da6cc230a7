/**
 * The bounded list of candidates and the rule for offering them to dial.
 *
 * Bounds: at most `maxCandidates` entries and `maxPerHost` per source
 * address. A full host replaces its own least recently seen entry, so a
 * flood from one machine only churns that machine's slots; a full table
 * replaces the least recently seen entry of all.
 *
 * Offers: a candidate is offered (a `peer` event) when first seen and then
 * only when seen again after its backoff, which doubles each time; all offers
 * together also draw from a token bucket. One announcement, however often
 * repeated, never asks for more than one dial per backoff period.
 */

import type { PeerCandidate } from "./types.js";

export interface CandidateLimits {
  maxCandidates: number;
  maxPerHost: number;
  backoffMs: number;
  maxBackoffMs: number;
  offersPerSecond: number;
}

interface Entry {
  candidate: PeerCandidate;
  expiresAt: number;
  lastSeen: number;
  nextOfferAt: number;
  backoffMs: number;
}

/** What one sighting changed. */
export interface Sighting {
  /** Offer this candidate for a dial now. */
  offer?: PeerCandidate;
  /** Candidates pushed out to make room. */
  evicted: PeerCandidate[];
}

export class CandidateTable {
  readonly #limits: CandidateLimits;
  /** Insertion order is recency order: a sighting moves its entry to the end. */
  readonly #entries = new Map<string, Entry>();
  readonly #perHost = new Map<string, number>();
  #tokens: number;
  #refilledAt: number;
  /** Offers refused by the token bucket, for stats. */
  throttled = 0;

  constructor(limits: CandidateLimits, now: number) {
    this.#limits = limits;
    this.#tokens = limits.offersPerSecond;
    this.#refilledAt = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  list(): PeerCandidate[] {
    return [...this.#entries.values()].map((e) => e.candidate);
  }

  /** Peer ids whose records hold at least `minRemainingMs` more, for known-answer suppression. */
  fresh(now: number, minRemainingMs: number): string[] {
    const ids: string[] = [];
    for (const e of this.#entries.values()) if (e.expiresAt - now >= minRemainingMs) ids.push(e.candidate.peerId);
    return ids;
  }

  /** An announcement of `peerId` at `host:port` valid for `ttlMs`. */
  seen(peerId: string, host: string, port: number, ttlMs: number, now: number, relays: readonly string[] = []): Sighting {
    const key = keyOf(peerId, host, port);
    const evicted: PeerCandidate[] = [];
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if ((this.#perHost.get(host) ?? 0) >= this.#limits.maxPerHost) evicted.push(this.#evictOldest(host));
      else if (this.#entries.size >= this.#limits.maxCandidates) evicted.push(this.#evictOldest(undefined));
      entry = { candidate: Object.freeze({ peerId, host, port, source: "lan" as const }), expiresAt: 0, lastSeen: 0, nextOfferAt: now, backoffMs: this.#limits.backoffMs };
      this.#perHost.set(host, (this.#perHost.get(host) ?? 0) + 1);
    } else {
      this.#entries.delete(key);
    }
    const known = entry.candidate.relayAddresses ?? [];
    if (relays.length !== known.length || relays.some((r, i) => r !== known[i])) {
      entry.candidate = Object.freeze({ peerId, host, port, source: "lan" as const, ...(relays.length > 0 ? { relayAddresses: Object.freeze([...relays]) } : {}) });
    }
    this.#entries.set(key, entry);
    entry.lastSeen = now;
    entry.expiresAt = now + ttlMs;
    if (now < entry.nextOfferAt || !this.#take(now)) return { evicted };
    entry.nextOfferAt = now + entry.backoffMs;
    entry.backoffMs = Math.min(entry.backoffMs * 2, this.#limits.maxBackoffMs);
    return { offer: entry.candidate, evicted };
  }

  /** A goodbye: removes the candidate only if the same host announced it. */
  goodbye(peerId: string, host: string, port: number): PeerCandidate | undefined {
    const key = keyOf(peerId, host, port);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#remove(key, entry);
    return entry.candidate;
  }

  /** Removes every candidate of `peerId`; returns how many. */
  forget(peerId: string): number {
    let n = 0;
    for (const [key, e] of this.#entries) {
      if (e.candidate.peerId === peerId) {
        this.#remove(key, e);
        n++;
      }
    }
    return n;
  }

  /** Removes the candidates whose records expired; returns them. */
  expire(now: number): PeerCandidate[] {
    const gone: PeerCandidate[] = [];
    for (const [key, e] of this.#entries) {
      if (e.expiresAt <= now) {
        this.#remove(key, e);
        gone.push(e.candidate);
      }
    }
    return gone;
  }

  clear(): void {
    this.#entries.clear();
    this.#perHost.clear();
  }

  #evictOldest(host: string | undefined): PeerCandidate {
    for (const [key, e] of this.#entries) {
      if (host === undefined || e.candidate.host === host) {
        this.#remove(key, e);
        return e.candidate;
      }
    }
    // Unreachable while the counts are right; nothing to evict means nothing to report.
    throw new Error("candidate table: nothing to evict");
  }

  #remove(key: string, e: Entry): void {
    this.#entries.delete(key);
    const n = (this.#perHost.get(e.candidate.host) ?? 1) - 1;
    if (n <= 0) this.#perHost.delete(e.candidate.host);
    else this.#perHost.set(e.candidate.host, n);
  }

  #take(now: number): boolean {
    const rate = this.#limits.offersPerSecond;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      this.throttled++;
      return false;
    }
    this.#tokens -= 1;
    return true;
  }
}

function keyOf(peerId: string, host: string, port: number): string {
  return `${peerId}@${host}:${port}`;
}
