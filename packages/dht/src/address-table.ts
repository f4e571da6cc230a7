/**
 * The candidates of one topic and the rule for offering them to dial.
 *
 * A DHT lookup returns bare addresses that anyone may have announced,
 * including a victim's. So: at most `maxCandidates` entries, `maxPerHost`
 * per IPv4 address (a new one past that is ignored), `maxNewPerLookup` new
 * entries per lookup; an address is offered when first seen and then only
 * after a backoff that doubles; an address never confirmed as an xppg node
 * (`confirm`) is offered at most `maxOffersPerAddress` times while it stays
 * in the table; all offers of a DHT draw from one token bucket. An entry no
 * lookup has returned for `ttlMs` is forgotten.
 */

import type { DhtCandidate } from "./types.js";

export interface AddressLimits {
  readonly maxCandidates: number;
  readonly maxPerHost: number;
  readonly maxNewPerLookup: number;
  readonly maxOffersPerAddress: number;
  readonly backoffMs: number;
  readonly ttlMs: number;
}

/** The token bucket of offers, shared by the topics of one DHT. */
export class OfferBudget {
  #tokens: number;
  #at = Date.now();
  /** Offers refused for want of a token. */
  throttled = 0;

  constructor(readonly perSecond: number) {
    this.#tokens = perSecond;
  }

  take(now: number): boolean {
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens < 1) {
      this.throttled++;
      return false;
    }
    this.#tokens -= 1;
    return true;
  }
}

interface Entry {
  candidate: DhtCandidate;
  lastSeen: number;
  nextOfferAt: number;
  backoffMs: number;
  offers: number;
  confirmed: boolean;
}

export class AddressTable {
  readonly #limits: AddressLimits;
  readonly #topic: string;
  readonly #budget: OfferBudget;
  /** Insertion order is recency: a sighting moves its entry to the end. */
  readonly #entries = new Map<string, Entry>();
  readonly #perHost = new Map<string, number>();
  #newThisLookup = 0;
  /** Addresses ignored: past `maxNewPerLookup` or `maxPerHost`. */
  ignored = 0;
  /** Offers refused because the address used up its `maxOffersPerAddress`. */
  exhausted = 0;

  constructor(topic: string, limits: AddressLimits, budget: OfferBudget) {
    this.#topic = topic;
    this.#limits = limits;
    this.#budget = budget;
  }

  get size(): number {
    return this.#entries.size;
  }

  list(): DhtCandidate[] {
    return [...this.#entries.values()].map((e) => e.candidate);
  }

  /** A lookup starts: its new-entry allowance starts again. */
  lookupStarted(): void {
    this.#newThisLookup = 0;
  }

  /** A lookup returned `host:port`; returns the candidate to offer for a dial now, if any, and those pushed out. */
  seen(host: string, port: number, now: number): { offer?: DhtCandidate; evicted: DhtCandidate[] } {
    const key = `${host}:${port}`;
    const evicted: DhtCandidate[] = [];
    let e = this.#entries.get(key);
    if (e === undefined) {
      if (this.#newThisLookup >= this.#limits.maxNewPerLookup || (this.#perHost.get(host) ?? 0) >= this.#limits.maxPerHost) {
        this.ignored++;
        return { evicted };
      }
      this.#newThisLookup++;
      if (this.#entries.size >= this.#limits.maxCandidates) {
        const [oldKey, old] = this.#entries.entries().next().value!;
        this.#remove(oldKey, old);
        evicted.push(old.candidate);
      }
      e = { candidate: freeze(undefined, host, port, this.#topic), lastSeen: now, nextOfferAt: now, backoffMs: this.#limits.backoffMs, offers: 0, confirmed: false };
      this.#perHost.set(host, (this.#perHost.get(host) ?? 0) + 1);
    } else {
      this.#entries.delete(key);
    }
    this.#entries.set(key, e);
    e.lastSeen = now;
    if (now < e.nextOfferAt) return { evicted };
    if (!e.confirmed && e.offers >= this.#limits.maxOffersPerAddress) {
      this.exhausted++;
      return { evicted };
    }
    if (!this.#budget.take(now)) return { evicted };
    e.offers++;
    e.nextOfferAt = now + e.backoffMs;
    e.backoffMs = Math.min(e.backoffMs * 2, this.#limits.ttlMs);
    return { offer: e.candidate, evicted };
  }

  /** A dial to `host:port` reached the xppg node `peerId`: later offers carry its id, and its offers are no longer counted. */
  confirm(host: string, port: number, peerId: string): void {
    const key = `${host}:${port}`;
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.confirmed = true;
    e.offers = 0;
    if (e.candidate.peerId !== peerId) e.candidate = freeze(peerId, host, port, this.#topic);
  }

  /** The connection to `peerId` was lost: its address may be offered again at once. */
  forget(peerId: string): boolean {
    let any = false;
    for (const e of this.#entries.values()) {
      if (e.candidate.peerId !== peerId) continue;
      e.nextOfferAt = 0;
      e.backoffMs = this.#limits.backoffMs;
      any = true;
    }
    return any;
  }

  /** Forgets the entries no lookup returned for `ttlMs`; returns them. */
  expire(now: number): DhtCandidate[] {
    const gone: DhtCandidate[] = [];
    for (const [key, e] of this.#entries) {
      if (now - e.lastSeen < this.#limits.ttlMs) continue;
      this.#remove(key, e);
      gone.push(e.candidate);
    }
    return gone;
  }

  clear(): void {
    this.#entries.clear();
    this.#perHost.clear();
  }

  #remove(key: string, e: Entry): void {
    this.#entries.delete(key);
    const n = (this.#perHost.get(e.candidate.host) ?? 1) - 1;
    if (n <= 0) this.#perHost.delete(e.candidate.host);
    else this.#perHost.set(e.candidate.host, n);
  }
}

function freeze(peerId: string | undefined, host: string, port: number, topic: string): DhtCandidate {
  return Object.freeze({ peerId, host, port, source: "dht" as const, topic });
}
