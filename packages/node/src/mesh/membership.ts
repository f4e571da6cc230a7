/**
 * Who is in the mesh beyond the neighbours: each node's presence broadcast
 * (signed by that node, so no one can announce addresses in another's name)
 * says it is there and where it listens. A member not heard from for
 * `ttlMs` has left. Bounded: past `capacity`, the member heard from least
 * recently is forgotten.
 */

import { toPerformanceTime } from "@xppg/errors";
import { BoundedMap } from "./bounded-map.js";

/** A node of the mesh, as this node knows it. */
export interface MeshMember {
  readonly peerId: string;
  /** Links to it, through the neighbour `via`, as its last presence came. */
  readonly hops: number;
  readonly via: string;
  /** The addresses it says it listens on (signed by it). */
  readonly listenAddresses: readonly string[];
  /**
   * When its last presence arrived: on the packages' clock (`now()` of @xppg/errors) inside the mesh, on
   * `performance.now()`'s as the application reads it (see {@link forApplication}).
   */
  readonly seenAt: number;
}

/**
 * A member as the application sees it (`pg.meshPeers`, the `mesh:*` events):
 * the mesh keeps `seenAt` on the packages' clock (`now()` of @xppg/errors),
 * the application reads it on `performance.now()`'s, as documented. Turned
 * when read: in Node the first turn loads perf_hooks, which a program that
 * never reads `seenAt` does not pay.
 */
export function forApplication(member: MeshMember): MeshMember {
  const at = member.seenAt;
  const shown = {
    ...member,
    get seenAt() {
      return toPerformanceTime(at);
    },
  };
  // Logged (console.log, util.inspect) with the number the getter would otherwise hide; not enumerable, so a
  // spread, JSON or an equality check sees the member's fields only.
  Object.defineProperty(shown, Symbol.for("nodejs.util.inspect.custom"), { value: () => ({ ...shown }) });
  return shown;
}

export class Membership {
  readonly #members: BoundedMap<string, MeshMember>;
  readonly #ttlMs: number;

  constructor(options: { capacity?: number; ttlMs: number }) {
    this.#members = new BoundedMap(options.capacity ?? 4096);
    this.#ttlMs = options.ttlMs;
  }

  /** A presence arrived; returns true when the member is new. */
  heard(member: MeshMember): boolean {
    const isNew = this.#members.set(member.peerId, member);
    this.#members.touch(member.peerId);
    return isNew;
  }

  /** Forgets members not heard from within the time to live; returns them. */
  expire(now: number): MeshMember[] {
    const gone: MeshMember[] = [];
    // Oldest first: stop at the first one still fresh.
    for (const [peerId, member] of this.#members.entries()) {
      if (now - member.seenAt <= this.#ttlMs) break;
      gone.push(member);
      this.#members.delete(peerId);
    }
    return gone;
  }

  list(): MeshMember[] {
    return [...this.#members.entries()].map(([, m]) => m);
  }

  get size(): number {
    return this.#members.size;
  }
}
