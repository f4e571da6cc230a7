/**
 * How this node can be reached, learnt from others: the address each observer
 * (a relay, a peer) sees it come from, and dial-backs (an observer opening a
 * new connection to this node's listening port: only a node that accepts
 * unsolicited connections gets one). One observer's word is never enough:
 * a verdict needs `minConfirmations` distinct observers that agree.
 */

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
  /** Distinct observers whose dial-back reached this node. */
  readonly dialbacksOk: number;
  /** Distinct observers whose dial-back did not. */
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

/** Tracks observations and dial-backs; {@link Reachability.status} is the verdict. */
export class Reachability {
  /** `change` when the kind changes; a listener that throws is reported to `onListenerError`. */
  readonly events: TypedEvents<ReachabilityEvents>;
  readonly #minConfirmations: number;
  readonly #observed = new Map<string, string>();
  readonly #dialbacks = new Map<string, boolean>();
  readonly #relays = new Set<string>();
  #mapped: string | undefined;
  #kind: ReachabilityKind = "unknown";

  /**
   * @param options.minConfirmations distinct observers needed for a verdict (default 2)
   * @param options.onListenerError where an event listener's throw goes (default: ignored)
   */
  constructor(options: { minConfirmations?: number; onListenerError?: (error: unknown) => void } = {}) {
    this.#minConfirmations = Math.max(1, options.minConfirmations ?? 2);
    this.events = new TypedEvents<ReachabilityEvents>(options.onListenerError ?? (() => {}));
  }

  /** The current verdict. */
  get kind(): ReachabilityKind {
    return this.#kind;
  }

  /** An observer saw this node come from `address` (`ip:port`). */
  observe(observer: string, address: string): void {
    remember(this.#observed, observer, address);
    this.#update();
  }

  /** An observer's dial-back to this node's listening port reached it (`ok`) or not. */
  dialback(observer: string, ok: boolean): void {
    remember(this.#dialbacks, observer, ok);
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
    for (const a of this.#observed.values()) {
      const ip = a.slice(0, a.lastIndexOf(":"));
      counts.set(ip, (counts.get(ip) ?? 0) + 1);
    }
    return [...counts.entries()].filter(([, n]) => n >= this.#minConfirmations).map(([ip]) => ip);
  }

  /** What is known now. */
  status(): ReachabilityStatus {
    const counts = new Map<string, number>();
    for (const a of this.#observed.values()) counts.set(a, (counts.get(a) ?? 0) + 1);
    const values = [...this.#dialbacks.values()];
    return {
      kind: this.#kind,
      observed: [...counts.entries()].sort((x, y) => y[1] - x[1]).map(([a]) => a),
      dialbacksOk: values.filter(Boolean).length,
      dialbacksFailed: values.filter((v) => !v).length,
      relayAddresses: [...this.#relays],
      mappedAddress: this.#mapped,
    };
  }

  #update(): void {
    const s = this.status();
    const need = this.#minConfirmations;
    let kind: ReachabilityKind = "unknown";
    if (s.dialbacksOk >= need) kind = this.#mapped !== undefined ? "port-mapped" : "public";
    else if (s.dialbacksFailed >= need) kind = this.#relays.size > 0 ? "relayed-only" : "behind-nat";
    if (kind === this.#kind) return;
    const previous = this.#kind;
    this.#kind = kind;
    this.events.emit("change", { ...s, kind }, previous);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_OBSERVERS) map.delete(map.keys().next().value as string);
}
