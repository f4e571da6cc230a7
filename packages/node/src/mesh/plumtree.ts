/**
 * An epidemic broadcast tree, after Leitão, Pereira and Rodrigues,
 * "Epidemic Broadcast Trees" (SRDS 2007), known as Plumtree.
 *
 * Each node splits its neighbours into eager and lazy peers. A new message
 * is pushed whole to the eager peers and announced (IHAVE, its id only,
 * batched) to the lazy ones. A node that receives a message twice prunes the
 * second sender to lazy, so the eager links settle into a spanning tree and
 * a message costs about one transmission per node it reaches. A node that
 * hears of a message it lacks and does not get it within `missingTimeoutMs`
 * grafts the announcer: the announcer sends the message and the link
 * becomes eager, which repairs the tree where a link or a node broke.
 *
 * The module does no I/O: the caller gives it `send` and `deliver` and a
 * clock, and feeds it what arrives from each neighbour. It checks nothing
 * the transport layer already checks (who a message comes from, signatures);
 * it enforces the hop limit, delivers each message at most once (a bounded
 * seen-cache by origin and id) and forwards it at most once.
 */

import { BoundedMap, messageKey } from "./bounded-map.js";
import { MessageCache } from "./message-cache.js";
import type { Announcement, MessageRef, PlumtreeOptions, TreeMessage, TreeStats } from "./plumtree-types.js";
import { LazyQueue } from "./lazy-queue.js";
import { RepairTimeout } from "./repair-timeout.js";
import type { MeshTimers } from "./timers.js";

export type { Announcement, MessageRef, PlumtreeOptions, TreeMessage, TreeStats } from "./plumtree-types.js";

interface Seen {
  readonly hops: number;
  /** The neighbour it came from; "" for this node's own. */
  readonly from: string;
  /** The neighbour this node grafted for it before its first copy came, if any, and when it was first announced. */
  readonly graftee?: string;
  readonly announcedAt?: number;
}

interface Missing {
  readonly ref: MessageRef;
  readonly announcers: { peer: string; round: number }[];
  timer: unknown;
  /** When it was first announced. */
  readonly since: number;
  /** The neighbour last grafted for it; "" before any graft. */
  graftee: string;
}

export class Plumtree<P> {
  readonly #o: PlumtreeOptions<P>;
  readonly #t: MeshTimers;
  readonly hopLimit: number;
  readonly #eager = new Set<string>();
  readonly #lazy = new Set<string>();
  readonly #seen: BoundedMap<string, Seen>;
  /** Per origin, the neighbour its latest message came from first: its tree parent for that origin. */
  readonly #parents: BoundedMap<string, string>;
  readonly #kept: MessageCache<P>;
  readonly #missing: BoundedMap<string, Missing>;
  readonly #lazyQueue: LazyQueue;
  readonly #wait: RepairTimeout;
  /** Tree copies in a row that each came after the graft's answer, per tree parent (neighbours only). */
  readonly #lateStreak = new Map<string, number>();
  readonly #graftRetryMs: number;
  readonly #maxAnnouncers: number;
  readonly #optimizeThreshold: number;
  #lastOrigin = "";
  #lastId = -1;
  #lastKey = "";
  readonly stats: TreeStats = { pushed: 0, control: 0, duplicates: 0, hopLimited: 0, grafts: 0, prunes: 0, pulled: 0, announced: 0, late: 0 };

  constructor(options: PlumtreeOptions<P>) {
    this.#o = options;
    this.#t = options.timers;
    this.hopLimit = options.hopLimit ?? 64;
    this.#seen = new BoundedMap(options.seenCapacity ?? 16384);
    this.#parents = new BoundedMap(options.maxMissing ?? 4096);
    this.#kept = new MessageCache<P>({
      timers: this.#t,
      capacity: options.cacheCapacity ?? 1024,
      maxBytes: options.cacheMaxBytes ?? Infinity,
      ttlMs: options.cacheTtlMs ?? 30_000,
      sizeOf: options.sizeOf ?? (() => 0),
    });
    this.#missing = new BoundedMap(options.maxMissing ?? 4096);
    this.#wait = new RepairTimeout(options.missingTimeoutMs ?? 400, options.maxMissingTimeoutMs ?? 10_000);
    this.#graftRetryMs = options.graftRetryMs ?? 200;
    this.#lazyQueue = new LazyQueue({
      timers: this.#t,
      flushMs: options.lazyFlushMs ?? 100,
      maxAnnouncements: options.maxAnnouncements ?? 256,
      isNeighbour: (peer) => this.#eager.has(peer) || this.#lazy.has(peer),
      send: (peer, announcements) => {
        this.stats.announced += announcements.length;
        this.#control(peer, { type: "ihave", announcements });
      },
    });
    this.#maxAnnouncers = options.maxAnnouncers ?? 8;
    this.#optimizeThreshold = options.optimizeThreshold ?? 0;
  }

  /** The neighbours messages are pushed to whole (the tree links). */
  get eagerPeers(): ReadonlySet<string> {
    return this.#eager;
  }

  /** The current wait after an announcement before grafting, for a message whose tree copy is expected from `parent`. */
  repairTimeoutFor(parent: string): number {
    return this.#wait.ms(parent);
  }

  /** The neighbours messages are only announced to. */
  get lazyPeers(): ReadonlySet<string> {
    return this.#lazy;
  }

  /** True when this node has seen the message (and still remembers it). */
  hasSeen(origin: string, id: number): boolean {
    return this.#seen.has(this.#keyOf(origin, id));
  }

  /** True when this node grafted for the message before its first copy came (and still remembers it). */
  grafted(origin: string, id: number): boolean {
    return this.#seen.get(this.#keyOf(origin, id))?.graftee !== undefined;
  }

  /**
   * A link opened: the neighbour starts eager, and hears of the recent
   * messages it may have missed while away. A neighbour already known (its
   * link replaced by another) keeps its place in the tree and hears of them
   * again: what went on the old link may not have arrived.
   */
  neighborUp(peer: string): void {
    if (!this.#eager.has(peer) && !this.#lazy.has(peer)) this.#eager.add(peer);
    for (const kept of this.#kept.fresh()) {
      if (kept.hops < this.hopLimit) this.#lazyQueue.add(peer, { origin: kept.origin, id: kept.id, round: kept.hops }, messageKey(kept.origin, kept.id));
    }
  }

  /** A link closed: forget the neighbour everywhere. */
  neighborDown(peer: string): void {
    this.#lateStreak.delete(peer);
    this.#wait.forget(peer);
    this.#eager.delete(peer);
    this.#lazy.delete(peer);
    this.#lazyQueue.forget(peer);
    for (const [, missing] of this.#missing.entries()) {
      const at = missing.announcers.findIndex((a) => a.peer === peer);
      if (at >= 0) missing.announcers.splice(at, 1);
    }
    this.#parentLeft(peer);
  }

  /** A tree link to `peer` is gone: a message awaited patiently from it is grafted after the least wait. */
  #parentLeft(peer: string): void {
    for (const [key, missing] of this.#missing.entries()) {
      if (missing.graftee !== "" || this.#parents.get(missing.ref.origin) !== peer) continue;
      this.#t.clearTimer(missing.timer);
      missing.timer = this.#t.setTimer(Math.max(0, this.#wait.minMs - (this.#t.now() - missing.since)), () => this.#missingExpired(key));
    }
  }

  /** Broadcasts this node's own message `id` (unique per origin). Returns false if that id was already used. */
  publish(id: number, payload: P): boolean {
    const self = this.#o.self;
    const key = messageKey(self, id);
    if (!this.#seen.set(key, { hops: 0, from: "" })) return false;
    this.#keep(key, self, id, payload, 0);
    this.#forward(self, id, payload, 0, "");
    return true;
  }

  /**
   * A broadcast that reached this node from outside the tree (a peer that
   * does not take part in it, after `hops` links): unless already seen, it
   * is kept and forwarded like one received, and true is returned (the
   * caller delivers it).
   */
  introduce(origin: string, id: number, payload: P, hops: number): boolean {
    if (hops > this.hopLimit || origin === this.#o.self) return false;
    const key = this.#keyOf(origin, id);
    if (!this.#seen.set(key, { hops, from: "" })) return false;
    this.#keep(key, origin, id, payload, hops);
    this.#forward(origin, id, payload, hops, "");
    return true;
  }

  /** Handles one message from a neighbour. */
  receive(from: string, message: TreeMessage<P>): void {
    if (!this.#eager.has(from) && !this.#lazy.has(from)) return; // not (or no longer) a neighbour
    switch (message.type) {
      case "gossip":
        return this.#onGossip(from, message.origin, message.id, message.round, message.payload);
      case "ihave":
        for (const a of message.announcements) this.#onIhave(from, a);
        return;
      case "graft":
        return this.#onGraft(from, message.want);
      case "prune":
        // Already lazy: nothing changes, and the walk of the missing table is not paid again (prunes repeated by a peer).
        if (!this.#eager.delete(from)) return;
        this.#lazy.add(from);
        return this.#parentLeft(from);
    }
  }

  /** Cancels every timer (the node stops). */
  close(): void {
    this.#lazyQueue.close();
    for (const [, missing] of this.#missing.entries()) this.#t.clearTimer(missing.timer);
    this.#missing.clear();
    this.#kept.clear();
  }

  #onGossip(from: string, origin: string, id: number, round: number, payload: P): void {
    const hops = round + 1;
    if (hops > this.hopLimit || origin === this.#o.self) {
      // Past its limit, or our own message coming back: not delivered, not forwarded.
      if (hops > this.hopLimit) this.stats.hopLimited++;
      else this.#duplicate(from);
      return;
    }
    const key = this.#keyOf(origin, id);
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      // The neighbour has it: no need to announce it there.
      this.#lazyQueue.withdraw(from, key);
      if (seen.graftee === undefined) this.#duplicate(from);
      else this.#lateCopy(from, seen);
      return;
    }
    const missing = this.#missing.get(key);
    if (missing === undefined) this.#seen.set(key, { hops, from });
    else {
      this.#seen.set(key, missing.graftee === "" ? { hops, from } : { hops, from, graftee: missing.graftee, announcedAt: missing.since });
      this.#t.clearTimer(missing.timer);
      this.#missing.delete(key);
      // The tree's copy, after an announcement of it: how far the tree lags behind the announcements now.
      if (from !== missing.graftee) this.#wait.sample(from, this.#t.now() - missing.since);
    }
    // The first copy came this way: the link is a tree link.
    this.#parents.set(origin, from);
    this.#lazy.delete(from);
    this.#eager.add(from);
    this.#keep(key, origin, id, payload, hops);
    if (this.#lateStreak.size > 0) this.#lateStreak.delete(from);
    this.#o.deliver(origin, id, payload, from, hops);
    this.#forward(origin, id, payload, hops, from);
  }

  #duplicate(from: string): void {
    this.stats.duplicates++;
    // A second copy: this link is redundant for the tree. Both sides stop
    // pushing on it. The prune goes even when this side already thought the
    // link lazy: the sender still thinks it eager, or it would not have sent.
    this.#eager.delete(from);
    this.#lazy.add(from);
    this.#control(from, PRUNE);
    this.stats.prunes++;
  }

  /** Another copy of a message this node grafted for. */
  #lateCopy(from: string, seen: Seen): void {
    this.stats.late++;
    const graftee = seen.graftee!;
    if (from === graftee || !this.#eager.has(graftee) || !this.#eager.has(from)) return this.#duplicate(from);
    // A parent late again and again (overloaded, or holding copies back on purpose) is not merely slow:
    // after LATE_STREAK_LIMIT in a row its link is cut, as for any duplicate, and its lag is not learnt.
    const streak = (this.#lateStreak.get(from) ?? 0) + 1;
    if (streak >= LATE_STREAK_LIMIT) {
      this.#lateStreak.delete(from);
      return this.#duplicate(from);
    }
    this.#lateStreak.set(from, streak);
    // The tree's copy came after the graft's answer: the tree was slow, not broken. The wait learns the
    // lag, and the graft is undone instead of cutting the tree link that was merely late.
    this.stats.duplicates++;
    this.#wait.sample(from, this.#t.now() - seen.announcedAt!);
    this.#eager.delete(graftee);
    this.#lazy.add(graftee);
    this.#control(graftee, PRUNE);
    this.stats.prunes++;
  }

  #forward(origin: string, id: number, payload: P, hops: number, from: string): void {
    if (hops >= this.hopLimit) return;
    let gossip: TreeMessage<P> | undefined;
    for (const peer of this.#eager) {
      if (peer === from) continue;
      gossip ??= { type: "gossip", origin, id, round: hops, payload };
      this.stats.pushed++;
      this.#o.send(peer, gossip);
    }
    if (this.#lazy.size === 0) return;
    const announcement: Announcement = { origin, id, round: hops };
    const key = this.#keyOf(origin, id);
    for (const peer of this.#lazy) if (peer !== from) this.#lazyQueue.add(peer, announcement, key);
  }

  #onIhave(from: string, a: Announcement): void {
    if (!isAnnouncement(a) || a.round + 1 > this.hopLimit || a.origin === this.#o.self) return;
    const key = this.#keyOf(a.origin, a.id);
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      // The neighbour has it (it says so): an announcement of it waiting for that neighbour is taken back.
      this.#lazyQueue.withdraw(from, key);
      this.#maybeOptimize(from, a, seen);
      return;
    }
    let missing = this.#missing.get(key);
    if (missing === undefined) {
      const entry: Missing = { ref: { origin: a.origin, id: a.id }, announcers: [], timer: undefined, since: this.#t.now(), graftee: "" };
      // While the neighbour that brought the origin's last message is still a tree link, its copy is
      // most likely on its way, only slow: wait as long as that parent has lately lagged. Else the
      // tree is broken above this node: graft after the least wait.
      const parent = this.#parents.get(a.origin);
      const patient = parent !== undefined && parent !== from && this.#eager.has(parent);
      entry.timer = this.#t.setTimer(patient ? this.#wait.ms(parent) : this.#wait.minMs, () => this.#missingExpired(key));
      // A full table forgets its oldest entry: cancel that entry's timer with it.
      if (this.#missing.size >= this.#missing.capacity) {
        const oldest = this.#missing.entries().next().value;
        if (oldest !== undefined) this.#t.clearTimer(oldest[1].timer);
      }
      this.#missing.set(key, entry);
      missing = entry;
    }
    if (missing.announcers.length < this.#maxAnnouncers && !missing.announcers.some((x) => x.peer === from)) {
      missing.announcers.push({ peer: from, round: a.round });
    }
  }

  /** The paper's optimisation: a lazy link much shorter than the tree path takes its place. */
  #maybeOptimize(from: string, a: Announcement, seen: Seen): void {
    const threshold = this.#optimizeThreshold;
    if (threshold <= 0 || seen.from === "" || !this.#eager.has(seen.from) || seen.from === from) return;
    if (seen.hops - (a.round + 1) < threshold) return;
    this.#eager.delete(seen.from);
    this.#lazy.add(seen.from);
    this.#control(seen.from, PRUNE);
    this.stats.prunes++;
    this.#lazy.delete(from);
    this.#eager.add(from);
    this.#control(from, { type: "graft", want: null });
    this.stats.grafts++;
  }

  #missingExpired(key: string): void {
    const missing = this.#missing.get(key);
    if (missing === undefined) return;
    // Prefer an announcer already on the tree (grafted for another missing
    // message a moment ago): asking it again adds no link, and a cut-off
    // subtree then grafts back by one link, not by one link per message.
    let at = missing.announcers.findIndex((a) => this.#eager.has(a.peer));
    if (at < 0) at = 0;
    const next = missing.announcers.splice(at, 1)[0];
    if (next === undefined || this.#seen.has(key)) {
      this.#missing.delete(key);
      return;
    }
    // Graft the first announcer; if it too fails to deliver, the next one after `graftRetryMs` (longer when the mesh is slow).
    missing.timer = this.#t.setTimer(Math.max(this.#graftRetryMs, this.#wait.ms(this.#parents.get(missing.ref.origin) ?? "") / 2), () => this.#missingExpired(key));
    this.#lazy.delete(next.peer);
    this.#eager.add(next.peer);
    missing.graftee = next.peer;
    this.#control(next.peer, { type: "graft", want: missing.ref });
    this.stats.grafts++;
  }

  #onGraft(from: string, want: MessageRef | null): void {
    this.#lazy.delete(from);
    this.#eager.add(from);
    if (want === null || !isRef(want)) return;
    const kept = this.#kept.get(messageKey(want.origin, want.id));
    if (kept === undefined || kept.hops >= this.hopLimit) return;
    this.stats.pushed++;
    this.stats.pulled++;
    this.#o.send(from, { type: "gossip", origin: kept.origin, id: kept.id, round: kept.hops, payload: kept.payload });
  }

  /**
   * The key of one message, kept for the next call: one copy is looked up
   * three or four times in a row (seen? grafted? then received and
   * forwarded), and each new key string costs its building and its hashing.
   */
  #keyOf(origin: string, id: number): string {
    if (id !== this.#lastId || origin !== this.#lastOrigin) {
      this.#lastOrigin = origin;
      this.#lastId = id;
      this.#lastKey = messageKey(origin, id);
    }
    return this.#lastKey;
  }

  #keep(key: string, origin: string, id: number, payload: P, hops: number): void {
    this.#kept.keep(key, { origin, id, payload, hops, at: this.#t.now() });
  }

  #control(peer: string, message: TreeMessage<P>): void {
    this.stats.control++;
    this.#o.send(peer, message);
  }
}

const PRUNE = { type: "prune" } as const;
/** Late tree copies in a row from one parent after which its link is cut instead of the graft undone. */
const LATE_STREAK_LIMIT = 3;

function isRef(value: MessageRef): boolean {
  return typeof value.origin === "string" && Number.isSafeInteger(value.id);
}

function isAnnouncement(value: Announcement): boolean {
  return isRef(value) && Number.isInteger(value.round) && value.round >= 0;
}
