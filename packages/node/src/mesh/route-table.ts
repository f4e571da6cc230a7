/**
 * Routes for unicast across the mesh, learnt by reverse path: the first
 * copy of a broadcast from an origin arrived through some neighbour, so
 * that neighbour is a way back to the origin (as AODV learns reverse routes
 * from route requests). Every node's periodic presence broadcast keeps a
 * route to it in every other node.
 *
 * A route is replaced only by one learnt from a newer broadcast of the same
 * origin (a higher id; ids only grow), never by a shorter one from an older
 * broadcast. That keeps routing free of loops, as AODV's destination
 * sequence numbers do: a node's route points to the neighbour that handed
 * it that broadcast first, which already holds a route at least as new;
 * along any path the broadcast id never decreases and, for one id, the hops
 * to the origin strictly decrease, so no path comes back to where it began.
 *
 * The table is bounded (least recently used routes are forgotten first),
 * routes expire, and the routes through a neighbour go with its link.
 */

import { BoundedMap } from "./bounded-map.js";

/** One learnt route. */
export interface Route {
  /** The neighbour to hand the message to. */
  readonly via: string;
  /** Links to the destination through `via`. */
  readonly hops: number;
  /** The id of the broadcast it was learnt from. */
  readonly seq: number;
  /** When it was last confirmed. */
  readonly at: number;
}

export interface RouteTableOptions {
  /** This node's id (never a destination). */
  readonly self: string;
  /** Routes kept. @default 4096 */
  readonly capacity?: number;
  /** A route not confirmed for this long is forgotten. @default 120000 */
  readonly ttlMs?: number;
}

/** Why `nextHop` found no way on. */
export const NO_ROUTE = { UNKNOWN: "unknown", LOOP: "loop" } as const;

export class RouteTable {
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #routes: BoundedMap<string, Route>;
  readonly #neighbors = new Set<string>();

  constructor(options: RouteTableOptions) {
    this.#self = options.self;
    this.#ttlMs = options.ttlMs ?? 120_000;
    this.#routes = new BoundedMap(options.capacity ?? 4096);
  }

  /** Routes learnt (direct neighbours not counted). */
  get size(): number {
    return this.#routes.size;
  }

  neighborUp(peer: string): void {
    this.#neighbors.add(peer);
  }

  /** The link closed: the neighbour and every route through it are gone. */
  neighborDown(peer: string): void {
    this.#neighbors.delete(peer);
    for (const [destination, route] of [...this.#routes.entries()]) if (route.via === peer) this.#routes.delete(destination);
  }

  /**
   * The broadcast `seq` from `destination` first arrived through the
   * neighbour `via` after `hops` links. Kept when it is newer than the known
   * route, or the known route expired.
   */
  learn(destination: string, via: string, hops: number, seq: number, now: number): void {
    if (destination === this.#self || !this.#neighbors.has(via) || !(hops >= 1)) return;
    const known = this.#routes.get(destination);
    if (known === undefined || seq > known.seq || now - known.at > this.#ttlMs) {
      this.#routes.set(destination, { via, hops, seq, at: now });
      this.#routes.touch(destination);
    }
  }

  /** The route to a destination, or undefined (a direct neighbour is its own route). */
  lookup(destination: string, now: number): Route | undefined {
    if (this.#neighbors.has(destination)) return { via: destination, hops: 1, seq: Number.MAX_SAFE_INTEGER, at: now };
    const route = this.#routes.get(destination);
    if (route === undefined) return undefined;
    if (now - route.at > this.#ttlMs) {
      this.#routes.delete(destination);
      return undefined;
    }
    return route;
  }

  /**
   * The neighbour to pass a message for `destination` to, having come from
   * `arrivedFrom` ("" when this node sends it): a name, or why there is none.
   * Handing it back where it came from would loop, so that is refused.
   */
  nextHop(destination: string, arrivedFrom: string, now: number): { via: string } | { none: (typeof NO_ROUTE)[keyof typeof NO_ROUTE] } {
    const route = this.lookup(destination, now);
    if (route === undefined) return { none: NO_ROUTE.UNKNOWN };
    if (route.via === arrivedFrom) return { none: NO_ROUTE.LOOP };
    return { via: route.via };
  }

  /** The destinations reachable through others, with their routes. */
  *routes(now: number): IterableIterator<[string, Route]> {
    for (const [destination, route] of this.#routes.entries()) if (now - route.at <= this.#ttlMs) yield [destination, route];
  }
}
