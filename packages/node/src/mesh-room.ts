/**
 * The mesh room: broadcasts reach the whole mesh, not only neighbours, over
 * an epidemic broadcast tree (`mesh/plumtree.ts`) run among the peers that
 * settled the `mesh/1` capability. INTERNALS.md ("Mesh") describes the wire.
 *
 * - A broadcast travels as the origin's own signed envelope, byte for
 *   byte; each node forwards it at most once, with its hop limit lowered by
 *   one (the signature covers the envelope with hop limit 0).
 * - A copy this node has already seen is dropped before its signature is
 *   checked (it costs no verification) and prunes the link it came on; a
 *   first copy passes broadcast authentication (rate, replay, signature)
 *   before it is delivered or forwarded, so a forged broadcast stops at the
 *   first hop.
 * - Peers without `mesh/1` get this node's own broadcasts as before, never
 *   ones forwarded from others (they would refuse a source that is not the
 *   peer); their broadcasts enter the mesh here.
 * - Every node broadcasts its presence (`xppg/mesh-presence { listen }`)
 *   when it joins the mesh and every 20 s: the others learn who is in the
 *   mesh, where each listens (signed by that node) and a route back to it.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, type Envelope } from "@xppg/framing";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { fanOut } from "./fan-out.js";
import { Membership, type MeshMember } from "./mesh/membership.js";
import { Plumtree, type Announcement, type TreeMessage } from "./mesh/plumtree.js";
import { relayBytes, withHopLimit } from "./mesh/relay-bytes.js";
import { RouteTable } from "./mesh/route-table.js";
import { REAL_TIMERS, type MeshTimers } from "./mesh/timers.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import type { PlaygroundStats } from "./playground-types.js";
import { isRecord, KIND_MESH_GRAFT, KIND_MESH_IHAVE, KIND_MESH_PRESENCE, KIND_MESH_PRUNE } from "./protocol.js";

/** The capability a peer needs to take part in the mesh. */
export const MESH_CAPABILITY = "mesh/1";
/** Links a broadcast may travel; the hop limit its origin gives it. */
export const MESH_HOP_LIMIT = 32;
/** Most announcements one `xppg/mesh-ihave` may carry. */
const MAX_ANNOUNCEMENTS = 256;
/**
 * Bytes of recent broadcasts the tree keeps whole to answer grafts (issue
 * 16): with the count bound alone (1,024), a burst of 64 KiB broadcasts
 * pinned 64 MiB for as long as the cache lived, and 1 MiB ones could pin a
 * gigabyte. A graft asks for a broadcast announced a moment ago, so the
 * newest few megabytes are what repairs use.
 */
export const MESH_CACHE_MAX_BYTES = 4 * 1024 * 1024;
/** How often a node broadcasts its presence; a member silent for three times this has left. */
export const PRESENCE_INTERVAL_MS = 20_000;
/** Wait after a new mesh link before announcing presence, so a burst of joins costs one broadcast. */
const PRESENCE_SOON_MS = 50;
/**
 * Least time between two presences sent for new links: every node checks
 * every presence's signature, so a node whose links open one after another
 * (the connection manager dialling up to its low water mark) must not cost
 * the mesh a presence per link.
 */
const PRESENCE_MIN_GAP_MS = 2_000;
const MAX_PRESENCE_ADDRESSES = 16;

export interface MeshRoomOptions {
  readonly localPeerId: string;
  readonly table: PeerTable;
  readonly stats: PlaygroundStats;
  /** Checks a first copy (rate, replay, signature); true to deliver and forward it. */
  authenticate(session: PeerSession, envelope: Envelope): boolean | Promise<boolean>;
  /** Encodes (and signs, unless encryption is off) this node's own broadcast once for every peer. */
  encodeOwn(envelope: Envelope): Uint8Array | Promise<Uint8Array>;
  /** Hands a broadcast to the application's handlers. */
  deliver(envelope: Envelope): void;
  /** How long a broadcast waits for a peer that is not reading (`limits.maxBroadcastWaitMs`). */
  readonly maxBroadcastWaitMs: number;
  /** This node's listen addresses, for its presence. */
  listen(): readonly string[];
  /** The id of a new broadcast of this node (it carries the time, and grows). */
  nextBroadcastId(): number;
  /** A node of the mesh was heard of for the first time, or has gone silent. */
  joined(member: MeshMember): void;
  left(member: MeshMember): void;
  readonly timers?: MeshTimers;
}

export class MeshRoom {
  readonly #o: MeshRoomOptions;
  /** The tree carries each broadcast as its relay bytes (hop limit 0). */
  readonly #tree: Plumtree<Uint8Array>;
  /** The peers taking part, by id. */
  readonly #members = new Map<string, PeerSession>();
  /** While `receive` runs: the decoded envelope the tree may deliver. */
  #receiving: Envelope | undefined;
  /** While `publish` runs: the peers this node's own broadcast goes to whole. */
  #publishing: PeerSession[] | undefined;
  readonly #membership = new Membership({ ttlMs: 3 * PRESENCE_INTERVAL_MS });
  /** Routes back to each member, by the path its presence came. */
  readonly routes: RouteTable;
  readonly #timers: MeshTimers;
  #presenceTimer: unknown;
  /** True while the pending presence is one for a new link (not the periodic one). */
  #presenceSoon = false;
  #lastPresence = -Infinity;
  #closed = false;
  /** The bytes of the gossip being sent, so a copy for several peers is made once. */
  #lastGossip: TreeMessage<Uint8Array> | undefined;
  #lastBytes: Uint8Array | undefined;
  /** True while the tree answers a graft. */
  #answering = false;

  constructor(options: MeshRoomOptions) {
    this.#o = options;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.routes = new RouteTable({ self: options.localPeerId, ttlMs: 3 * PRESENCE_INTERVAL_MS });
    this.#tree = new Plumtree<Uint8Array>({
      self: options.localPeerId,
      timers: this.#timers,
      hopLimit: MESH_HOP_LIMIT,
      cacheMaxBytes: MESH_CACHE_MAX_BYTES,
      sizeOf: (bytes) => bytes.byteLength,
      send: (to, message) => this.#send(to, message),
      deliver: (_origin, _id, _bytes, from, hops) => {
        const envelope = this.#receiving;
        if (envelope === undefined) return;
        if (envelope.kind === KIND_MESH_PRESENCE) this.#onPresence(envelope, from, hops);
        else options.deliver(envelope);
      },
    });
  }

  /** The other nodes of the mesh this node has heard from, nearest first. */
  members(): MeshMember[] {
    return this.#membership.list().sort((a, b) => a.hops - b.hops || (a.peerId < b.peerId ? -1 : 1));
  }

  /** A session opened: a peer with `mesh/1` joins the tree. */
  opened(session: PeerSession): void {
    const peerId = session.peerId!;
    if (!this.#o.table.supports(session, MESH_CAPABILITY) || this.#o.table.open.get(peerId) !== session) return;
    // A connection that replaced another before that one ended is told of the recent broadcasts again
    // (`neighborUp`): what was sent on the old one may not have arrived, and the peer grafts what it lacks.
    this.#members.set(peerId, session);
    this.routes.neighborUp(peerId);
    this.#tree.neighborUp(peerId);
    // A first link: say this node is here (once for a burst of joins), then keep saying it.
    // Only a node that had no mesh link says so at once: a node already in the mesh is known, and its
    // recent presence reaches the new neighbour as an announcement of the recent broadcasts (the periodic one follows).
    if (this.#closed || this.#presenceSoon || this.#members.size > 1) return;
    if (this.#presenceTimer !== undefined) this.#timers.clearTimer(this.#presenceTimer);
    this.#presenceSoon = true;
    this.#presenceTimer = this.#timers.setTimer(Math.max(PRESENCE_SOON_MS, this.#lastPresence + PRESENCE_MIN_GAP_MS - this.#timers.now()), this.#presence);
  }

  /** A session ended. */
  ended(session: PeerSession): void {
    const peerId = session.peerId;
    if (peerId === undefined || this.#members.get(peerId) !== session) return;
    this.#members.delete(peerId);
    this.routes.neighborDown(peerId);
    this.#tree.neighborDown(peerId);
  }

  /** Broadcasts this node's own message (made for this call): to peers outside the mesh directly, into the tree for the others. */
  publish(envelope: Envelope): Promise<void> {
    envelope.hopLimit = MESH_HOP_LIMIT;
    // Encoded (and signed) once for every peer; in a page the signature comes later, the broadcasts in their order.
    const bytes = this.#o.encodeOwn(envelope);
    return bytes instanceof Uint8Array ? this.#publish(envelope, bytes) : bytes.then((signed) => this.#publish(envelope, signed));
  }

  #publish(envelope: Envelope, bytes: Uint8Array): Promise<void> {
    const open = this.#o.table.open;
    // A presence is for the mesh only: a peer without mesh/1 would take the unknown kind for a violation.
    const meshOnly = envelope.kind === KIND_MESH_PRESENCE;
    if (this.#members.size === 0) return meshOnly ? Promise.resolve() : fanOut(open.values(), bytes, this.#o.maxBroadcastWaitMs);
    const targets: PeerSession[] = [];
    if (!meshOnly) for (const [peerId, session] of open) if (!this.#members.has(peerId)) targets.push(session);
    // The tree names the mesh peers to push it to (the eager ones); the others get an announcement.
    this.#publishing = targets;
    try {
      this.#tree.publish(envelope.id, bytes);
    } finally {
      this.#publishing = undefined;
    }
    return fanOut(targets, bytes, this.#o.maxBroadcastWaitMs);
  }

  /**
   * A broadcast from a peer (an application kind, no destination). A copy
   * already seen, one past its hop limit, or one that fails authentication
   * is not delivered.
   */
  receive(session: PeerSession, envelope: Envelope): void {
    const peerId = session.peerId!;
    const member = this.#members.get(peerId) === session;
    if (envelope.kind === KIND_MESH_PRESENCE && !member) return;
    // Outside the mesh a peer sends only its own broadcasts, at hop limit 0.
    const round = member ? Math.max(0, MESH_HOP_LIMIT - envelope.hopLimit) : 0;
    const stats = this.#o.stats;
    if (this.#tree.hasSeen(envelope.source, envelope.id)) {
      // From a mesh peer a second copy is how the tree learns; from any other peer, which sends only its own, a replay.
      if (!member) {
        stats.replayedBroadcasts++;
        return;
      }
      stats.duplicateBroadcasts++;
      if (this.#tree.grafted(envelope.source, envelope.id)) stats.lateBroadcasts++;
      // No bytes needed: the tree only counts it and prunes the link.
      this.#tree.receive(peerId, { type: "gossip", origin: envelope.source, id: envelope.id, round, payload: EMPTY });
      return;
    }
    if (round + 1 > MESH_HOP_LIMIT) {
      stats.droppedBroadcasts++;
      return;
    }
    const authentic = this.#o.authenticate(session, envelope);
    if (authentic === true) this.#accept(session, envelope, member, round);
    else if (authentic !== false) {
      // In a page the signature's check answers later: the peer's next messages wait for it, in order.
      session.holdReadingUntil(
        authentic.then((ok) => {
          if (!ok || session.isClosed) return;
          try {
            this.#accept(session, envelope, member, round);
          } catch (error) {
            // What delivery throws is typed (a broken protocol): the peer is dropped with it, as when it is thrown at once.
            session.close(error as XppgError);
          }
        }),
      );
    }
  }

  /** A first copy that passed authentication: delivered, and passed on through the tree. */
  #accept(session: PeerSession, envelope: Envelope, member: boolean, round: number): void {
    const peerId = session.peerId!;
    // Unsigned (encryption off): delivered, never relayed, since no later hop could check it.
    if (envelope.signature === undefined) {
      this.#o.deliver(envelope);
      return;
    }
    const bytes = relayBytes(envelope);
    this.#receiving = envelope;
    try {
      if (member) this.#tree.receive(peerId, { type: "gossip", origin: envelope.source, id: envelope.id, round, payload: bytes });
      else if (this.#tree.introduce(envelope.source, envelope.id, bytes, 1)) this.#o.deliver(envelope);
    } finally {
      this.#receiving = undefined;
    }
  }

  /** An `xppg/mesh-*` control message; throws a typed error for a malformed one (the peer is dropped). */
  control(session: PeerSession, kind: string, payload: unknown): void {
    const peerId = session.peerId!;
    if (this.#members.get(peerId) !== session) throw violation(session, `"${kind}" without the ${MESH_CAPABILITY} capability`);
    if (kind === KIND_MESH_PRUNE) return this.#tree.receive(peerId, { type: "prune" });
    if (kind === KIND_MESH_GRAFT) {
      if (payload === null) return this.#tree.receive(peerId, { type: "graft", want: null });
      if (!isRecord(payload) || typeof payload.o !== "string" || payload.o.length > 256 || !Number.isSafeInteger(payload.i)) throw violation(session, "a malformed graft");
      // What the tree sends now is the answer to the graft.
      this.#answering = true;
      try {
        return this.#tree.receive(peerId, { type: "graft", want: { origin: payload.o, id: payload.i as number } });
      } finally {
        this.#answering = false;
      }
    }
    if (kind === KIND_MESH_IHAVE) {
      if (!Array.isArray(payload) || payload.length > MAX_ANNOUNCEMENTS) throw violation(session, "a malformed announcement");
      const announcements: Announcement[] = [];
      for (const a of payload as unknown[]) {
        if (!Array.isArray(a) || typeof a[0] !== "string" || a[0].length > 256 || !Number.isSafeInteger(a[1]) || !Number.isInteger(a[2]) || a[2] < 0 || a[2] > 255) {
          throw violation(session, "a malformed announcement");
        }
        announcements.push({ origin: a[0], id: a[1] as number, round: a[2] as number });
      }
      return this.#tree.receive(peerId, { type: "ihave", announcements });
    }
    throw violation(session, `the unknown mesh kind "${kind}"`);
  }

  close(): void {
    this.#closed = true;
    if (this.#presenceTimer !== undefined) this.#timers.clearTimer(this.#presenceTimer);
    this.#tree.close();
  }

  readonly #presence = (): void => {
    this.#presenceTimer = undefined;
    this.#presenceSoon = false;
    this.#lastPresence = this.#timers.now();
    if (this.#closed) return;
    for (const member of this.#membership.expire(this.#timers.now())) this.#o.left(member);
    if (this.#members.size > 0) {
      const envelope: Envelope = {
        version: ENVELOPE_VERSION,
        kind: KIND_MESH_PRESENCE,
        source: this.#o.localPeerId,
        destination: null,
        id: this.#o.nextBroadcastId(),
        hopLimit: 0,
        payload: { listen: this.#o.listen().slice(0, MAX_PRESENCE_ADDRESSES) },
      };
      this.publish(envelope).catch(() => {});
    }
    this.#presenceTimer = this.#timers.setTimer(PRESENCE_INTERVAL_MS, this.#presence);
  };

  /** A presence reached this node first from the neighbour `from`, after `hops` links. Signed by its origin; a malformed one is ignored. */
  #onPresence(envelope: Envelope, from: string, hops: number): void {
    const payload = envelope.payload;
    if (!isRecord(payload) || !Array.isArray(payload.listen) || payload.listen.length > MAX_PRESENCE_ADDRESSES) return;
    const listen = payload.listen as unknown[];
    if (!listen.every((a) => typeof a === "string" && a.length > 0 && a.length <= 256)) return;
    const now = this.#timers.now();
    this.routes.learn(envelope.source, from, hops, envelope.id, now);
    const member: MeshMember = { peerId: envelope.source, hops, via: from, listenAddresses: listen as string[], seenAt: now };
    if (this.#membership.heard(member)) this.#o.joined(member);
  }

  #send(to: string, message: TreeMessage<Uint8Array>): void {
    const session = this.#members.get(to);
    if (session === undefined) return;
    let sent: Promise<void>;
    switch (message.type) {
      case "gossip": {
        // One copy per forward, shared by the peers it goes to.
        if (this.#publishing !== undefined && message.round === 0 && message.origin === this.#o.localPeerId) {
          this.#publishing.push(session);
          return;
        }
        if (this.#lastGossip !== message) {
          this.#lastGossip = message;
          // This node's own broadcast is kept as sent; a relayed one at hop limit 0, set per round.
          const own = message.round === 0 && message.origin === this.#o.localPeerId;
          this.#lastBytes = own ? message.payload : withHopLimit(message.payload, MESH_HOP_LIMIT - message.round);
        }
        if (this.#answering) this.#o.stats.pulledBroadcasts++;
        if (message.origin !== this.#o.localPeerId) this.#o.stats.forwardedBroadcasts++;
        sent = session.sendBytes(this.#lastBytes!);
        break;
      }
      case "ihave":
        this.#o.stats.announcedBroadcasts += message.announcements.length;
        sent = session.sendMessage(
          KIND_MESH_IHAVE,
          message.announcements.map((a) => [a.origin, a.id, a.round]),
        );
        break;
      case "graft":
        this.#o.stats.meshGrafts++;
        sent = session.sendMessage(KIND_MESH_GRAFT, message.want === null ? null : { o: message.want.origin, i: message.want.id });
        break;
      case "prune":
        this.#o.stats.meshPrunes++;
        sent = session.sendMessage(KIND_MESH_PRUNE, null);
        break;
    }
    // A send on a closing link fails; the link's end is reported as the peer leaving.
    sent.catch(() => {});
  }
}

const EMPTY = new Uint8Array(0);

function violation(session: PeerSession, what: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} broke the xppg protocol: it sent ${what}. It is disconnected.` : [session.peerId, what]);
}
