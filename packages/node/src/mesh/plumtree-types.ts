/**
 * The messages, options and counters of the broadcast tree (`plumtree.ts`).
 */

import type { MeshTimers } from "./timers.js";

/** One broadcast named by its origin and the origin's id for it. */
export interface MessageRef {
  readonly origin: string;
  readonly id: number;
}

/** An announcement: the announcer holds this message, reached in `round` hops from its origin. */
export interface Announcement extends MessageRef {
  readonly round: number;
}

/** What neighbours tell each other. `round` is the hops the sender's copy travelled (0 at the origin). */
export type TreeMessage<P> =
  | { readonly type: "gossip"; readonly origin: string; readonly id: number; readonly round: number; readonly payload: P }
  | { readonly type: "ihave"; readonly announcements: readonly Announcement[] }
  /** Make this link eager; send `want` if held (none: a tree optimisation only). */
  | { readonly type: "graft"; readonly want: MessageRef | null }
  | { readonly type: "prune" };

/** Limits and timings; every one has a default. */
export interface PlumtreeOptions<P> {
  /** This node's id. */
  readonly self: string;
  readonly timers: MeshTimers;
  /** Sends one message to a neighbour. */
  send(to: string, message: TreeMessage<P>): void;
  /** A broadcast reached this node for the first time, from the neighbour `from`, after `hops` links. */
  deliver(origin: string, id: number, payload: P, from: string, hops: number): void;
  /** Links a message may travel. @default 64 */
  readonly hopLimit?: number;
  /** Broadcasts remembered as seen. @default 16384 */
  readonly seenCapacity?: number;
  /** Recent broadcasts kept whole, to answer grafts. @default 1024 */
  readonly cacheCapacity?: number;
  /** Payload bytes of the recent broadcasts kept, all together; a larger broadcast is not kept. @default Infinity */
  readonly cacheMaxBytes?: number;
  /** A payload's size in bytes, for `cacheMaxBytes`. @default every payload counts 0 */
  readonly sizeOf?: (payload: P) => number;
  /** How long a kept broadcast answers grafts. @default 30000 */
  readonly cacheTtlMs?: number;
  /**
   * Least wait after an announcement before grafting (the paper's timeout
   * 1). The wait follows the lag observed between announcements and the
   * tree's copies (`repair-timeout.ts`), from this up to `maxMissingTimeoutMs`. @default 400
   */
  readonly missingTimeoutMs?: number;
  /**
   * Most wait after an announcement before grafting while the tree parent
   * for the message's origin is still a tree link (the node below a broken
   * link grafts after the least wait). @default 10000
   */
  readonly maxMissingTimeoutMs?: number;
  /** Least wait after a graft before grafting the next announcer (timeout 2; half the current wait when that is longer). @default 200 */
  readonly graftRetryMs?: number;
  /** Announcements wait this long to leave together. @default 100 */
  readonly lazyFlushMs?: number;
  /** Most announcements in one IHAVE. @default 256 */
  readonly maxAnnouncements?: number;
  /** Missing messages tracked at once. @default 4096 */
  readonly maxMissing?: number;
  /** Announcers remembered per missing message. @default 8 */
  readonly maxAnnouncers?: number;
  /**
   * Swap a tree link for a lazy one that is this many hops shorter (the
   * paper's optimisation; 0: never). Off by default: with many senders it
   * keeps the tree moving (1.4 transmissions per delivery instead of 1.0 in
   * the 100-node simulation) for a shorter path. @default 0
   */
  readonly optimizeThreshold?: number;
}

/** What a tree node has done, for `pg.stats` and the simulator. */
export interface TreeStats {
  /** Whole messages sent to neighbours (pushes and graft answers). */
  pushed: number;
  /** IHAVE, GRAFT and PRUNE messages sent. */
  control: number;
  /** Copies received of a message already seen. */
  duplicates: number;
  /** Messages dropped for their hop limit. */
  hopLimited: number;
  grafts: number;
  prunes: number;
  /** Whole messages sent in answer to a graft (counted in `pushed` too). */
  pulled: number;
  /** Message ids announced to lazy peers. */
  announced: number;
  /** Copies received of a message this node had grafted for: the tree path was slow, not broken. */
  late: number;
}
