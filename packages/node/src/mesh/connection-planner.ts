/**
 * The connection manager's decisions, without the dialling: which known
 * members to dial to reach the low water mark, which links to close above
 * the high water mark, and when a lost or failed peer may be dialled again.
 *
 * Defaults: a low mark of 4 keeps a sparse mesh connected when a fifth of
 * its nodes fail at once (a random graph of minimum degree 4 rarely splits
 * at that rate), and gives the broadcast tree lazy links to repair from; a
 * high mark of 32 bounds what each node pays for announcements and
 * heartbeats while leaving room for a node many others join first (a
 * bootstrap node). Redials back off exponentially with jitter (0.5x to
 * 1.5x), so the neighbours of a restarted node do not all dial it at once,
 * only a node below its low mark dials at all, and it dials at most
 * `maxDialsPerPlan` peers per round. Above the high mark it closes the
 * youngest links it may close, those of the most crowded group (host)
 * first, so long-lived and diverse links stay.
 */

import { BoundedMap } from "./bounded-map.js";

export interface ConnectionPlannerOptions {
  readonly self: string;
  /** Dial learnt members while fewer links than this are open. @default 4 */
  readonly lowWater?: number;
  /** Close links past this many. @default 32 */
  readonly highWater?: number;
  /** First redial delay after a failure or a loss. @default 1000 */
  readonly baseBackoffMs?: number;
  /** Longest redial delay. @default 60000 */
  readonly maxBackoffMs?: number;
  /** Members remembered. @default 1024 */
  readonly maxKnown?: number;
  /** Dials started per `plan` call. @default 2 */
  readonly maxDialsPerPlan?: number;
  /** A number in [0, 1), for jitter and for picking among candidates (seeded in tests). */
  readonly random: () => number;
  /** Whether a link may be closed to get under the high mark. @default every link */
  readonly trimmable?: (peer: string) => boolean;
  /** The group of a link (its host): links of the most crowded group are closed first. @default one group */
  readonly group?: (peer: string) => string;
}

interface Member {
  /** Open since (undefined when not connected). */
  connectedAt: number | undefined;
  dialing: boolean;
  failures: number;
  notBefore: number;
}

/** What to do now. */
export interface ConnectionPlan {
  readonly dial: string[];
  readonly trim: string[];
}

export class ConnectionPlanner {
  readonly #o: ConnectionPlannerOptions;
  readonly lowWater: number;
  readonly highWater: number;
  readonly #base: number;
  readonly #max: number;
  readonly #known: BoundedMap<string, Member>;

  constructor(options: ConnectionPlannerOptions) {
    this.#o = options;
    this.lowWater = options.lowWater ?? 4;
    this.highWater = Math.max(this.lowWater, options.highWater ?? 32);
    this.#base = options.baseBackoffMs ?? 1000;
    this.#max = options.maxBackoffMs ?? 60_000;
    this.#known = new BoundedMap(options.maxKnown ?? 1024);
  }

  /** A member was heard of (a broadcast from it, a peer exchange). */
  learn(peer: string): void {
    if (peer === this.#o.self || this.#known.has(peer)) return;
    if (this.#known.size >= this.#known.capacity) {
      // Full: forget the oldest member not in use; a connected or dialled one is never pushed out.
      let idle: string | undefined;
      for (const [p, m] of this.#known.entries()) {
        if (m.connectedAt === undefined && !m.dialing) {
          idle = p;
          break;
        }
      }
      if (idle === undefined) return;
      this.#known.delete(idle);
    }
    this.#known.set(peer, { connectedAt: undefined, dialing: false, failures: 0, notBefore: 0 });
  }

  /** True when the member is known. */
  knows(peer: string): boolean {
    return this.#known.has(peer);
  }

  /** Forget a member (it left the mesh for good). */
  forget(peer: string): void {
    const member = this.#known.get(peer);
    if (member !== undefined && member.connectedAt === undefined) this.#known.delete(peer);
  }

  connected(peer: string, now: number): void {
    this.learn(peer);
    const member = this.#known.get(peer);
    if (member === undefined) return;
    member.connectedAt = now;
    member.dialing = false;
    member.failures = 0;
  }

  /** The member has new addresses: a backoff it waits out ends now (its failure count stays, so a next failure backs off as before). */
  retrySoon(peer: string): void {
    const member = this.#known.get(peer);
    if (member !== undefined && member.connectedAt === undefined && !member.dialing) member.notBefore = 0;
  }

  /**
   * A link closed, or a dial failed: the peer may be dialled again after a
   * growing, jittered delay; after the longest one when the peer closed the
   * link on purpose (`deliberate`: it trimmed this node, or stopped).
   */
  disconnected(peer: string, now: number, deliberate = false): void {
    const member = this.#known.get(peer);
    if (member === undefined) return;
    member.connectedAt = undefined;
    member.dialing = false;
    const delay = deliberate ? this.#max : Math.min(this.#max, this.#base * 2 ** Math.min(member.failures, 30));
    member.failures++;
    member.notBefore = now + delay * (0.5 + this.#o.random());
  }

  /** Links open now. */
  get connectedCount(): number {
    let n = 0;
    for (const [, m] of this.#known.entries()) if (m.connectedAt !== undefined) n++;
    return n;
  }

  /** What to dial and what to close now; dials returned are marked as under way. */
  plan(now: number): ConnectionPlan {
    let open = 0;
    let dialing = 0;
    const candidates: string[] = [];
    const links: [string, number][] = [];
    for (const [peer, m] of this.#known.entries()) {
      if (m.connectedAt !== undefined) {
        open++;
        links.push([peer, m.connectedAt]);
      } else if (m.dialing) dialing++;
      else if (m.notBefore <= now) candidates.push(peer);
    }
    const dial: string[] = [];
    const wanted = Math.min(this.lowWater - open - dialing, this.#o.maxDialsPerPlan ?? 2);
    for (let i = 0; i < wanted && candidates.length > 0; i++) {
      const at = Math.floor(this.#o.random() * candidates.length);
      const peer = candidates[at]!;
      candidates[at] = candidates[candidates.length - 1]!;
      candidates.pop();
      this.#known.get(peer)!.dialing = true;
      dial.push(peer);
    }
    const trim: string[] = [];
    if (open > this.highWater) {
      const group = this.#o.group ?? (() => "");
      const crowd = new Map<string, number>();
      for (const [peer] of links) crowd.set(group(peer), (crowd.get(group(peer)) ?? 0) + 1);
      const closable = links.filter(([peer]) => this.#o.trimmable?.(peer) ?? true);
      for (let n = open - this.highWater; n > 0 && closable.length > 0; n--) {
        // The most crowded group first, and within it the youngest link: long-lived, diverse links stay.
        let pick = 0;
        for (let i = 1; i < closable.length; i++) {
          const [p, at] = closable[i]!;
          const [q, bt] = closable[pick]!;
          const d = crowd.get(group(p))! - crowd.get(group(q))!;
          if (d > 0 || (d === 0 && at > bt)) pick = i;
        }
        const [peer] = closable.splice(pick, 1)[0]!;
        crowd.set(group(peer), crowd.get(group(peer))! - 1);
        trim.push(peer);
      }
    }
    return { dial, trim };
  }
}
