/**
 * The routing room's forwarding half (`routing-room.ts`; INTERNALS.md,
 * "Routed unicast", "Forwarding" and "Back-pressure, hop by hop"): a packet
 * for another node goes on to the neighbour the route table names, with its
 * hop limit one lower, at most `routedPerSecond` packets a second from each
 * neighbour, holding the link it came on while the next hop is congested;
 * what cannot go on is dropped and counted, and its origin told by a reset
 * (at most `resetsPerSecond`). The room's own packets take the same ways
 * out (`nextHop`, `back`, `hand`). Imported only by the room: a page loads
 * it with the room's chunk.
 */

import { now as nowMs } from "@xppg/errors";
import { ENVELOPE_VERSION } from "@xppg/framing";
import { isPeerId } from "@xppg/secure";
import { ForwardHolds } from "./forward-holds.js";
import type { RouteTable } from "./mesh/route-table.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import type { PlaygroundStats } from "./playground-types.js";
import { KIND_ROUTE } from "./protocol.js";
import { buildPacket, PACKET, packetHeader, ROUTE_CAPABILITY, ROUTE_HOP_LIMIT, setHopLimit, type RoutedPacket } from "./route-wire.js";
import { TokenBucket } from "./token-bucket.js";

const EMPTY = new Uint8Array(0);

export interface RouteForwarderOptions {
  /** This node's peer id. */
  readonly me: string;
  readonly table: PeerTable;
  readonly routes: RouteTable;
  readonly stats: PlaygroundStats;
  nextMessageId(): number;
  /** The node's read holds (`RoutingRoomOptions.holds`); without them nothing is held back. */
  readonly holds?: { set(session: PeerSession, held: boolean): void } | undefined;
  /** Packets a second each neighbour may hand this node to pass on (twice that in a burst). */
  readonly routedPerSecond: number;
  /** Resets a second this node sends for packets it cannot deliver or pass on. */
  readonly resetsPerSecond: number;
}

export class RouteForwarder {
  readonly #o: RouteForwarderOptions;
  readonly #buckets = new WeakMap<PeerSession, TokenBucket>();
  readonly #resets: TokenBucket;
  readonly #holds: ForwardHolds | undefined;

  constructor(options: RouteForwarderOptions) {
    this.#o = options;
    const reading = options.holds;
    this.#holds = reading === undefined ? undefined : new ForwardHolds((session, held) => reading.set(session, held));
    this.#resets = new TokenBucket(options.resetsPerSecond, options.resetsPerSecond);
  }

  /** Passes on a packet for another node that came from `session` (`bytes`, its hop limit lowered in place), or drops and counts it. */
  forward(session: PeerSession, packet: RoutedPacket, bytes: Uint8Array): void {
    const stats = this.#o.stats;
    let bucket = this.#buckets.get(session);
    if (bucket === undefined) this.#buckets.set(session, (bucket = new TokenBucket(this.#o.routedPerSecond, 2 * this.#o.routedPerSecond)));
    // A hop limit past the most an origin may give counts as that most.
    const hopLimit = Math.min(packet.hopLimit, ROUTE_HOP_LIMIT);
    if (!bucket.take() || hopLimit === 0 || packet.origin === this.#o.me) {
      stats.droppedUnicasts++;
      return;
    }
    const next = this.nextHop(packet.destination, session.peerId!);
    if (next === undefined) {
      stats.droppedUnicasts++;
      // Tell the origin at once (unauthenticated, like a closed port: the path could drop the packet anyway).
      if (packet.type !== PACKET.RESET) this.resetBack(packet, session);
      return;
    }
    const holds = this.#holds;
    // A next hop over its mark for longer than a hold may last reads a trickle: drop, as a router does.
    if (holds !== undefined && holds.overdue(next)) {
      stats.droppedUnicasts++;
      return;
    }
    setHopLimit(bytes, hopLimit - 1);
    stats.forwardedUnicasts++;
    const sent = this.hand(next, bytes);
    // Hop by hop back-pressure: while the next neighbour holds more than its high-water mark, this
    // node stops reading the link the packets come on, so the queue never grows past that mark here
    // (nor does the next hop get dropped as slow because the sender is fast), and the sender waits;
    // for ROUTED_HOLD_MS at most (`forward-holds.ts`).
    if (next.congestedSince >= 0 && holds !== undefined) {
      stats.heldUnicasts++;
      holds.holdUntil(session, sent);
    } else sent.catch(() => {});
  }

  /** The neighbour session a packet for `destination` goes to, having come from `arrivedFrom` ("" for this node's own). */
  nextHop(destination: string, arrivedFrom: string): PeerSession | undefined {
    const hop = this.#o.routes.nextHop(destination, arrivedFrom, nowMs());
    if (!("via" in hop)) return undefined;
    return this.#routing(this.#o.table.open.get(hop.via));
  }

  /**
   * The neighbour a channel another node opened came through: its way back
   * while this node has no route to the opener yet (its presence may still
   * be on its way). Kept with the channel, never in the route table, so a
   * forged open cannot change where anything else goes.
   */
  back(neighbour: string): PeerSession | undefined {
    return neighbour === "" ? undefined : this.#routing(this.#o.table.open.get(neighbour));
  }

  /** Hands a routed packet to the neighbour `next` (its outbox copies it before this returns). */
  hand(next: PeerSession, packet: Uint8Array): Promise<void> {
    return next.sendEnvelope({ version: ENVELOPE_VERSION, kind: KIND_ROUTE, source: this.#o.me, destination: next.peerId!, id: this.#o.nextMessageId(), hopLimit: 0, payload: packet });
  }

  /** A reset for the origin of `packet`, as if from its destination, through `arrivedOn` or else the route back; bounded in rate. */
  resetBack(packet: RoutedPacket, arrivedOn: PeerSession | undefined): void {
    if (packet.type === PACKET.RESET || !this.#resets.take()) return;
    const next = arrivedOn ?? this.nextHop(packet.origin, "");
    if (next === undefined || !isPeerId(packet.origin)) return;
    const reset = buildPacket(packetHeader(packet.destination, packet.origin, packet.channel, !packet.fromResponder), PACKET.RESET, EMPTY);
    this.hand(next, reset).catch(() => {});
  }

  /** The node stops: every hold is released. */
  close(): void {
    this.#holds?.close();
  }

  /** `session` when it settled `route/1`. */
  #routing(session: PeerSession | undefined): PeerSession | undefined {
    return session !== undefined && this.#o.table.supports(session, ROUTE_CAPABILITY) ? session : undefined;
  }
}
