/**
 * How this node can be reached, learnt from others: the address each observer
 * (a relay, a peer) sees it come from, and dial-backs (an observer opening a
 * new connection to this node's listening port: only a node that accepts
 * unsolicited connections gets one). One observer's word is never enough:
 * a verdict needs `minConfirmations` distinct observers that agree. Evidence
 * may age: a dial-back result counts for `evidenceMaxAgeMs` (default: for
 * ever), and an observer's newer result replaces its older one. A success is
 * witnessed by this node, a failure is only a peer's word, and the word of
 * the helper that peer had dial (its `helper`): failures count only from as
 * many distinct helpers as observers, and overturn confirmed successes only
 * when one observer and one helper more than a verdict needs report them,
 * all at or after the newest success.
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
  /** Who really dialled: a failure is this host's word as much as the observer's. */
  readonly helper: string;
}

/** The dial-back evidence that counts at one time, and the verdict it gives. */
interface Weighed {
  /** Reachable (`true`), not (`false`), or no verdict. */
  readonly reachable: boolean | undefined;
  readonly ok: number;
  readonly failed: number;
  /** When the verdict's own evidence stops being enough (its side's `minConfirmations`-th newest result ages out). */
  readonly until: number;
  /** The newest result that counts disagrees with the verdict. */
  readonly contested: boolean;
  /** While reached: the observers whose failures are at or after the newest success, each through a helper no other such failure names. */
  readonly against: readonly string[];
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
   * may pass the ask's time). `helper` is the host that really dialled, when
   * the observer had another host do it (default: the observer itself):
   * failures count only from as many distinct helpers as observers. An
   * observer's result replaces an older one of the same observer, never a
   * newer one.
   */
  dialback(observer: string, ok: boolean, at: number = this.#now(), helper: string = observer): void {
    const known = this.#dialbacks.get(observer);
    if (at >= this.#since && (known === undefined || known.at <= at)) remember(this.#dialbacks, observer, { ok, at, helper });
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
   * none, the newest result disagrees with it, or its evidence ages out by then.
   */
  wantsEvidence(horizonMs: number): boolean {
    const w = this.#weigh();
    return w.reachable === undefined || w.contested || w.until - this.#now() <= horizonMs;
  }

  /**
   * While the verdict is reached: the observers whose failures, at or after
   * the newest success, contest it on their own word (asking them again adds
   * no new witness; ask others, whose witnessed success would settle it).
   * Not those whose failures came through a helper that other contesting
   * failures name too: that helper is the suspect, and such an observer,
   * asked again, has another helper dial.
   */
  contesting(): readonly string[] {
    return this.#weigh().against;
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
   * witnessed by this node, failures are a peer's word, so failures weigh
   * less: with `minConfirmations` successes counting, the node is reached
   * unless `minConfirmations + 1` observers' failures are at or after its
   * newest success (a tie goes to "not reached"); with fewer successes,
   * `minConfirmations` failures make it not reached; with neither, no verdict.
   */
  #weigh(): Weighed {
    const now = this.#now();
    const need = this.#minConfirmations;
    const ok: number[] = [];
    const failed: [at: number, observer: string, helper: string][] = [];
    let newest: Evidence | undefined;
    for (const [observer, e] of this.#dialbacks) {
      if (now - e.at >= this.#maxAgeMs) continue;
      if (e.ok) ok.push(e.at);
      else failed.push([e.at, observer, e.helper]);
      if (newest === undefined || e.at >= newest.at) newest = e;
    }
    ok.sort((x, y) => y - x);
    failed.sort((x, y) => y[0] - x[0]);
    const lastOk = ok[0] ?? -Infinity;
    const okAt = ok[need - 1] ?? -Infinity;
    // Against confirmed successes, one failure more, and none older than the newest success. Failures from as many
    // distinct helpers as observers: one hostile helper that every asked peer happened to pick is one word, not many.
    const failedAt = newestWith(failed, okAt === -Infinity ? need : need + 1);
    const reachable = okAt === -Infinity ? (failedAt > -Infinity ? false : undefined) : failedAt < lastOk;
    const until = reachable === undefined ? -Infinity : (reachable ? okAt : failedAt) + this.#maxAgeMs;
    return {
      reachable,
      ok: ok.length,
      failed: failed.length,
      until,
      contested: newest !== undefined && reachable !== undefined && newest.ok !== reachable,
      against: reachable === true ? alone(failed.filter(([at]) => at >= lastOk)) : [],
    };
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

/**
 * The time of the newest failures that come from `n` distinct observers and
 * `n` distinct helpers (`failed` is newest first, one entry per observer):
 * every one of them is at or after it. `-Infinity` when there are not so many.
 */
function newestWith(failed: readonly [number, string, string][], n: number): number {
  const helpers = new Set<string>();
  for (let i = 0; i < failed.length; i++) {
    helpers.add(failed[i]![2]);
    if (i + 1 >= n && helpers.size >= n) return failed[i]![0];
  }
  return -Infinity;
}

/** The observers among `failed` whose helper no other of them names. */
function alone(failed: readonly [number, string, string][]): string[] {
  const named = new Map<string, number>();
  for (const [, , helper] of failed) named.set(helper, (named.get(helper) ?? 0) + 1);
  return failed.filter(([, , helper]) => named.get(helper) === 1).map(([, observer]) => observer);
}
