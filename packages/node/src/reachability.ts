/**
 * How this node can be reached, learnt from others: the address each observer
 * (a relay, a peer) sees it come from, and dial-backs (an observer opening a
 * new connection to this node's listening port: only a node that accepts
 * unsolicited connections gets one). One observer's word is never enough:
 * a verdict needs `minConfirmations` distinct observers that agree. Evidence
 * may age: a dial-back result counts for `evidenceMaxAgeMs` (default: for
 * ever), and an observer's newer result replaces its older one. A success is
 * witnessed by this node, a failure is only a peer's word, so successes come
 * first: with `minConfirmations` successes counting the node is reached,
 * whatever failures say; only once they age out do failures make it not
 * reached.
 */

import { now as nowMs } from "@xppg/errors";
import { TypedEvents } from "./typed-events.js";

/** How a node can be reached. */
export type ReachabilityKind =
  /** Not enough evidence yet. */
  | "unknown"
  /** Observers reach its listening port directly. */
  | "public"
  /** A router forwards a port to it (UPnP, PCP, NAT-PMP). */
  | "port-mapped"
  /** Behind a NAT or firewall that drops unsolicited connections, with no relay slot. */
  | "behind-nat"
  /** Behind a NAT, and reachable through at least one relay. */
  | "relayed-only";

/** A snapshot of what a node knows about its reachability. */
export interface ReachabilityStatus {
  readonly kind: ReachabilityKind;
  /** Public addresses observers saw (`ip:port`), most reported first. */
  readonly observed: readonly string[];
  /** Distinct observers whose newest dial-back, still young enough to count, reached this node. */
  readonly dialbacksOk: number;
  /** Distinct observers whose newest dial-back, still young enough to count, did not. */
  readonly dialbacksFailed: number;
  /** Relayed addresses this node holds a reservation for. */
  readonly relayAddresses: readonly string[];
  /** The mapped public address, when a router forwards a port. */
  readonly mappedAddress: string | undefined;
}

/** Events of {@link Reachability}. */
export interface ReachabilityEvents {
  /** The kind changed. */
  change: (status: ReachabilityStatus, previous: ReachabilityKind) => void;
}

/** Most observers remembered (the oldest is forgotten first). */
export const MAX_OBSERVERS = 64;
/** One observer's latest dial-back: its outcome, and when it was learnt (`now()` of `@xppg/errors`, ms). */
interface Evidence {
  readonly ok: boolean;
  readonly at: number;
}

/** The dial-back evidence that counts at one time, and the verdict it gives. */
interface Weighed {
  /** Reachable (`true`), not (`false`), or no verdict. */
  readonly reachable: boolean | undefined;
  readonly ok: number;
  readonly failed: number;
  /** When the verdict's own evidence stops being enough (its side's `minConfirmations`-th newest result ages out). */
  readonly until: number;
}

/** Tracks observations and dial-backs; {@link Reachability.status} is the verdict. */
export class Reachability {
  /** `change` when the kind changes; a listener that throws is reported to `onListenerError`. */
  readonly events: TypedEvents<ReachabilityEvents>;
  readonly #minConfirmations: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #observed = new Map<string, string>();
  readonly #dialbacks = new Map<string, Evidence>();
  readonly #relays = new Set<string>();
  /** Dial-backs learnt before this no longer count (the node's situation changed: `forget`). */
  #since = -Infinity;
  #mapped: string | undefined;
  #kind: ReachabilityKind = "unknown";

  /**
   * @param options.minConfirmations distinct observers needed for a verdict (default 2)
   * @param options.evidenceMaxAgeMs how long a dial-back result counts (default `Infinity`: nothing ages;
   *   a `Playground` passes `reach.evidenceMaxAgeMs`, 30 min, and re-checks before that)
   * @param options.now the clock evidence is timed by (default `now()` of `@xppg/errors`)
   * @param options.onListenerError where an event listener's throw goes (default: ignored)
   */
  constructor(options: { minConfirmations?: number; evidenceMaxAgeMs?: number; now?: () => number; onListenerError?: (error: unknown) => void } = {}) {
    this.#minConfirmations = Math.max(1, options.minConfirmations ?? 2);
    this.#maxAgeMs = options.evidenceMaxAgeMs ?? Infinity;
    this.#now = options.now ?? nowMs;
    this.events = new TypedEvents<ReachabilityEvents>(options.onListenerError ?? (() => {}));
  }

  /** The current verdict, on the evidence that counts now (reading it fires nothing: `refresh` does). */
  get kind(): ReachabilityKind {
    return this.#kindOf(this.#weigh());
  }

  /**
   * An observer saw this node come from `address` (`ip:port`). Observations
   * never drop others' observations nor dial-backs: a node is often seen at
   * two IPs for good (its LAN address by LAN peers, its public one by the
   * rest), and a peer's word must not erase what other hosts saw.
   */
  observe(observer: string, address: string): void {
    remember(this.#observed, observer, address);
  }

  /**
   * An observer's dial-back to this node's listening port reached it (`ok`)
   * or not, learnt at `at` (default now; a result about an ask made earlier
   * may pass the ask's time). An observer's result replaces an older one of
   * the same observer, never a newer one.
   */
  dialback(observer: string, ok: boolean, at: number = this.#now()): void {
    const known = this.#dialbacks.get(observer);
    if (at >= this.#since && (known === undefined || known.at <= at)) remember(this.#dialbacks, observer, { ok, at });
    this.#update();
  }

  /** The node's situation changed (its own listen addresses): no dial-back learnt before now counts. */
  forget(): void {
    this.#since = this.#now();
    this.#dialbacks.clear();
    this.#update();
  }

  /** Looks again at the evidence (some may have aged out): `change` fires if the verdict moved. */
  refresh(): void {
    this.#update();
  }

  /** A relay reservation was made (`held`) or lost. */
  relay(address: string, held: boolean): void {
    if (held) this.#relays.add(address);
    else this.#relays.delete(address);
    this.#update();
  }

  /** A router maps a port to this node (`ip:port`), or no longer does (`undefined`). */
  mapped(address: string | undefined): void {
    this.#mapped = address;
    this.#update();
  }

  /** Observed IPs that at least `minConfirmations` distinct observers reported (one observer's word is never enough). */
  confirmedIps(): string[] {
    const counts = new Map<string, number>();
    for (const address of this.#observed.values()) {
      const ip = address.slice(0, address.lastIndexOf(":"));
      counts.set(ip, (counts.get(ip) ?? 0) + 1);
    }
    return [...counts.entries()].filter(([, n]) => n >= this.#minConfirmations).map(([ip]) => ip);
  }

  /**
   * Whether the verdict wants fresh dial-backs within `horizonMs`: there is
   * none, or its evidence ages out by then (a success that would renew it
   * takes an ask).
   */
  wantsEvidence(horizonMs: number): boolean {
    const w = this.#weigh();
    return w.reachable === undefined || w.until - this.#now() <= horizonMs;
  }

  /** What is known now (reading it fires nothing: `refresh` does). */
  status(): ReachabilityStatus {
    const w = this.#weigh();
    return this.#status(w, this.#kindOf(w));
  }

  #status(w: Weighed, kind: ReachabilityKind): ReachabilityStatus {
    const counts = new Map<string, number>();
    for (const address of this.#observed.values()) counts.set(address, (counts.get(address) ?? 0) + 1);
    return {
      kind,
      observed: [...counts.entries()].sort((x, y) => y[1] - x[1]).map(([a]) => a),
      dialbacksOk: w.ok,
      dialbacksFailed: w.failed,
      relayAddresses: [...this.#relays],
      mappedAddress: this.#mapped,
    };
  }

  /**
   * The rule (README, "Reachability"): only each observer's newest result
   * counts, and only while younger than `evidenceMaxAgeMs`. Successes are
   * witnessed by this node, failures are a peer's word, so successes come
   * first: `minConfirmations` successes make the node reached, whatever the
   * failures; with fewer, `minConfirmations` failures make it not reached;
   * with neither, no verdict.
   */
  #weigh(): Weighed {
    const now = this.#now();
    const need = this.#minConfirmations;
    const ok: number[] = [];
    const failed: number[] = [];
    for (const e of this.#dialbacks.values()) {
      if (now - e.at >= this.#maxAgeMs) continue;
      (e.ok ? ok : failed).push(e.at);
    }
    ok.sort((x, y) => y - x);
    failed.sort((x, y) => y - x);
    const reachable = ok.length >= need ? true : failed.length >= need ? false : undefined;
    const until = reachable === undefined ? -Infinity : (reachable ? ok : failed)[need - 1]! + this.#maxAgeMs;
    return { reachable, ok: ok.length, failed: failed.length, until };
  }

  #kindOf(w: Weighed): ReachabilityKind {
    return w.reachable === undefined ? "unknown"
      : w.reachable ? (this.#mapped !== undefined ? "port-mapped" : "public")
      : this.#relays.size > 0 ? "relayed-only"
      : "behind-nat";
  }

  #update(): void {
    const w = this.#weigh();
    const kind = this.#kindOf(w);
    if (kind === this.#kind) return;
    const previous = this.#kind;
    this.#kind = kind;
    this.events.emit("change", this.#status(w, kind), previous);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_OBSERVERS) map.delete(map.keys().next().value as string);
}
