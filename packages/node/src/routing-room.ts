/**
 * The routing room (capability `route/1`): unicast to a node of the mesh
 * that is not a neighbour. INTERNALS.md ("Routed unicast") describes it.
 *
 * - Forwarding: an `xppg/route` packet for another node goes on to the
 *   neighbour the route table names (`route-forwarder.ts`).
 * - End to end: the two ends run the secure channel (Noise XX, the same as
 *   on a direct link, each proving its peer id) over a routed connection
 *   (`routed-connection.ts`). The nodes on the path see only ciphertext; a
 *   byte they change, a packet they replay, drop or reorder makes the
 *   channel fail to decrypt, and the receiving end closes it.
 * - Channels are bounded in all, per peer and while opening; an idle one is
 *   closed (`routed-channels.ts`, `routing-limits.ts`); messages inside them
 *   are envelopes as on a link (`channel-envelopes.ts`). A send with no route fails at once with `XPPG_ERR_UNREACHABLE`;
 *   a channel whose other end does not answer fails within `routedOpenTimeoutMs`;
 *   one whose route is gone closes with that code at its next packet.
 */

import { ERROR_TEXTS, now as nowMs, type XppgError } from "@xppg/errors";
import type { Envelope, EnvelopeCodec } from "@xppg/framing";
import { isPeerId, secureConnection, unconfirmedRecords, type Identity, type SecureConnection } from "@xppg/secure";
import { ChannelEnvelopes } from "./channel-envelopes.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { RouteTable } from "./mesh/route-table.js";
import { QUEUED } from "./outbox.js";
import type { PeerSession } from "./peer-session.js";
import { unknownPeerError, type PeerTable } from "./peer-table.js";
import type { PlaygroundStats } from "./playground-types.js";
import { KIND_RESPONSE, KIND_ROUTE } from "./protocol.js";
import { resetLoss } from "./reset-loss.js";
import { RouteForwarder } from "./route-forwarder.js";
import { ChannelTable, channelKey, type Channel } from "./routed-channels.js";
import { RoutedConnection } from "./routed-connection.js";
import { ChannelSends, LossReports, SILENT, TELLS, type Tell } from "./routed-loss.js";
import { buildPacket, PACKET, packetHeader, parsePacket, ROUTE_CAPABILITY, type RoutedPacket } from "./route-wire.js";
import { routeViolation as violation, unreachableError } from "./routing-basics.js";
import { DEFAULT_ROUTING_LIMITS, inboxOverfullError, type RoutingLimits } from "./routing-limits.js";

export { ROUTE_CAPABILITY, unreachableError } from "./routing-basics.js";
export { DEFAULT_ROUTING_LIMITS, type RoutingLimits } from "./routing-limits.js";

export interface RoutingRoomOptions {
  readonly identity: Identity;
  readonly table: PeerTable;
  readonly stats: PlaygroundStats;
  readonly codec: EnvelopeCodec;
  /** The routes the mesh learns from presences. */
  readonly routes: RouteTable;
  nextMessageId(): number;
  /** Where a message that came end to end from `envelope.source` (checked) goes; it throws a typed error for one that breaks the protocol: its channel is closed. */
  readonly router: { deliverRouted(envelope: Envelope): void };
  /**
   * The node's read holds: `set` takes (`held` true) or releases one hold
   * on a neighbour's reading. A packet passed on to a neighbour that reads
   * slower than packets come holds the reading of the link it came on until
   * it is taken, as a pipe does (`read-holds.ts`), for `ROUTED_HOLD_MS` at
   * most (`forward-holds.ts`). Without it, nothing is held back.
   */
  readonly holds?: { set(session: PeerSession, held: boolean): void };
  /** A channel this node closed for the other end's misbehaviour (the node's `error` event, naming the peer). */
  report?(error: XppgError, peerId: string): void;
  readonly limits?: Partial<RoutingLimits>;
}

const EMPTY = new Uint8Array(0);

export class RoutingRoom {
  readonly #o: RoutingRoomOptions;
  readonly #limits: RoutingLimits;
  readonly #me: string;
  readonly #channels = new ChannelTable();
  /** Packets for other nodes, resets, and the ways out: `route-forwarder.ts`. */
  readonly #paths: RouteForwarder;
  /** The messages inside the channels: `channel-envelopes.ts`. */
  readonly #envelopes: ChannelEnvelopes;
  #opening = 0;
  #uses = 0;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Channels with a reset read and not yet weighed (a microtask on, see `#arrived`). */
  readonly #resetsDue = new Set<Channel>();
  /** Graceful closes that ended in a reset (see `closingOf`). */
  #closesReset = 0;
  /** The `error` events of lost channels, within `routedErrorsPerMinute` per peer. */
  readonly #losses: LossReports;

  constructor(options: RoutingRoomOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_ROUTING_LIMITS, ...options.limits };
    this.#me = options.identity.peerId;
    const { table, routes, stats, holds } = options;
    const { routedPerSecond, resetsPerSecond } = this.#limits;
    this.#paths = new RouteForwarder({ me: this.#me, table, routes, stats, nextMessageId: () => options.nextMessageId(), holds, routedPerSecond, resetsPerSecond });
    this.#envelopes = new ChannelEnvelopes({ me: this.#me, codec: options.codec, nextMessageId: () => options.nextMessageId(), router: options.router });
    this.#losses = new LossReports(this.#limits.routedErrorsPerMinute, options.report);
  }

  /** End-to-end channels open or opening. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Channels `room` closed gracefully and still keeps (`count`), and how
   * many of its graceful closes ended in a reset instead (`reset`: no answer
   * within the bound, or evicted unanswered). Internal, for tests (static:
   * the page's lazy room need not mirror it): a close clean at both ends
   * shows as neither once its bound is past.
   * @internal
   */
  static closingOf(room: RoutingRoom): { count: number; reset: number } {
    return { count: room.#channels.closingCount, reset: room.#closesReset };
  }

  /** True when a message to `peerId` has a way now: a neighbour with `route/1` through which a route leads. */
  reachable(peerId: string): boolean {
    return this.#paths.nextHop(peerId, "") !== undefined;
  }

  /**
   * Sends one message end to end to a node that is not a neighbour.
   * Rejects with `XPPG_ERR_UNREACHABLE` when there is no route, or the
   * channel to it could not be opened in time; with the channel's own error
   * (its code, naming the peer) when the channel closes with one while the
   * send waits, wherever it waits (the handshake, the secure channel's
   * queue, a congested neighbour's link). That rejection goes back to the
   * user (a `send`, a `request` still waiting for its reply) and is the
   * loss's report: no `error` event comes for it. A reply the node sends for
   * a request (`xppg/response`) goes back to no one, nor does the send of a
   * request that settled already (its reply came, aborted, timed out): their
   * loss is reported as the event. `tell`: a request's, which rejects it
   * with the channel's error and says whether that reached the user.
   */
  send(to: string, kind: string, payload: unknown, tell?: Tell): Promise<void> {
    let channel = this.#channels.usable(to);
    if (channel === undefined) {
      // Checked only here: decoding a peer id costs more than sending a small message.
      if (!isPeerId(to)) return Promise.reject(unknownPeerError(to));
      const opened = this.#open(to);
      if (opened instanceof PlaygroundError) return Promise.reject(opened);
      channel = opened;
    }
    const told = tell ?? (kind === KIND_RESPONSE ? SILENT : TELLS);
    const sends = channel.sends;
    if (channel.secure !== undefined) return sends.track(this.#write(channel, channel.secure, kind, payload), told);
    // Sends made while the channel opens go out in order once it is open; they wait from now. Encoded now: the
    // payload's bytes may be a borrowing handler's (`{ borrow: true }`), whose memory holds later messages by then.
    const opening = channel;
    let frame: Uint8Array | undefined;
    let failure: unknown;
    try {
      frame = this.#envelopes.encode(opening.peer, kind, payload);
    } catch (error) {
      failure = error;
    }
    const waiter = sends.wait(told);
    opening.ready.then(
      (secure) => {
        let sent: Promise<void>;
        try {
          if (frame === undefined) throw failure;
          opening.lastUsed = ++this.#uses;
          sent = secure.send(frame);
        } catch (error) {
          sent = Promise.reject(error);
        }
        sends.follow(waiter, sent);
      },
      (error: unknown) => sends.follow(waiter, Promise.reject(error)),
    );
    return waiter.promise;
  }

  /** An `xppg/route` packet from a neighbour: for this node, or to pass on. Throws a typed error for a malformed one (the neighbour is dropped). */
  receive(session: PeerSession, payload: unknown): void {
    const from = session.peerId!;
    if (!this.#o.table.supports(session, ROUTE_CAPABILITY)) throw violation(from, `"${KIND_ROUTE}" without the ${ROUTE_CAPABILITY} capability`);
    if (!(payload instanceof Uint8Array)) throw violation(from, "a routed packet that is not bytes");
    const packet = parsePacket(payload);
    if (typeof packet === "string") throw violation(from, packet);
    if (packet.destination === this.#me) return this.#arrived(packet, from);
    this.#paths.forward(session, packet, payload);
  }

  /**
   * At the node's stop, before its sessions close: each channel ends with a
   * clean close, whose records (the queued sends', then the end of stream)
   * go to the neighbours' sessions, which flush them as they close. A send
   * whose record was taken resolves; one whose hand-over then fails, or
   * that waited for its channel to open, rejects with XPPG_ERR_STOPPED (no
   * peer's loss), and was not delivered. Resolves once every channel has
   * closed: its last records handed to the sessions (a page's secure
   * channel seals them later, when WebCrypto answers), so the node closes
   * its sessions after that.
   */
  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#paths.close();
    const closing: Promise<unknown>[] = [];
    for (const channel of [...this.#channels.all(), ...this.#channels.allClosing()]) {
      channel.sends.stop(stoppedError);
      this.#drop(channel, undefined);
      closing.push(channel.secure?.closed ?? channel.conn.closed);
    }
    return Promise.all(closing).then(() => {});
  }

  /** A packet for this node. */
  #arrived(packet: RoutedPacket, from: string): void {
    // A packet from the channel's responder is for the side that opened it.
    const key = channelKey(packet.origin, packet.channel, packet.fromResponder);
    // A closing channel (this end's graceful close) is still read until the other end's end of stream.
    const channel = this.#channels.find(key);
    if (packet.type === PACKET.RESET) {
      // Weighed a microtask on: an end of stream read just before it (a node from before counted ends sends its end
      // and then a reset, in one bundle) is told by its record layer a microtask after the record (`onRemoteEnd`).
      // One weighing per channel: more resets for it in the same bundle (a neighbour's flood) cost a lookup each.
      if (channel !== undefined && !this.#resetsDue.has(channel)) {
        this.#resetsDue.add(channel);
        queueMicrotask(() => {
          this.#resetsDue.delete(channel);
          this.#drop(channel, resetLoss(channel));
        });
      }
      return;
    }
    if (channel !== undefined) {
      if (packet.type === PACKET.OPEN) return;
      channel.lastUsed = ++this.#uses;
      // A routed channel cannot make its sender wait: what comes while its reading is paused is held, up to a bound.
      if (channel.conn.heldBytes + packet.body.length > this.#limits.routedInboxBytes) return this.#overfull(channel, false);
      channel.conn.deliver(packet.body);
      // Held (its reading paused): counted against the node's bound, for all channels together.
      if (channel.conn.heldBytes > 0) this.#holdingCheck(channel);
      return;
    }
    if (packet.type === PACKET.DATA || packet.fromResponder || !this.#admits(packet.origin)) {
      this.#o.stats.droppedUnicasts++;
      this.#paths.resetBack(packet, undefined);
      return;
    }
    const opened = this.#channel(packet.origin, packet.channel, false, from);
    if (opened === undefined) return;
    opened.conn.deliver(packet.body);
  }

  /** Room for another channel with `peer` that it opens. */
  #admits(peer: string): boolean {
    const l = this.#limits;
    return !this.#closed && isPeerId(peer) && this.#channels.size < l.maxChannels && this.#opening < l.maxOpening && this.#channels.countOf(peer) < l.maxChannelsPerPeer;
  }

  /** Opens a channel to `to`; the error `XPPG_ERR_UNREACHABLE` when there is no route. */
  #open(to: string): Channel | PlaygroundError {
    if (this.#closed) return stoppedError(undefined);
    if (!this.reachable(to)) return unreachableError(to, ERROR_TEXTS ? "no neighbour has a route to it" : []);
    const l = this.#limits;
    // Full: the least recently used channel makes room.
    const mine = this.#channels.oldest(to, l.maxChannelsPerPeer);
    if (mine !== undefined) this.#finish(mine);
    const any = this.#channels.oldest(undefined, l.maxChannels);
    if (any !== undefined) this.#finish(any);
    return this.#channel(to, globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!, true) ?? unreachableError(to, ERROR_TEXTS ? "a channel with that id is open" : []);
  }

  /** A new channel's two halves: the routed connection and the secure channel over it. */
  #channel(peer: string, id: number, initiator: boolean, arrivedFrom = ""): Channel | undefined {
    // Packets on a channel this node opened come from its responder.
    const key = channelKey(peer, id, initiator);
    // A closing channel keeps its key until its bound: packets on it are still its own.
    if (this.#channels.find(key) !== undefined) return undefined;
    const header = packetHeader(this.#me, peer, id, !initiator);
    const conn = new RoutedConnection({
      localPeerId: this.#me,
      remotePeerId: peer,
      outbound: initiator,
      header,
      highWaterMark: 1 << 20,
      path: {
        send: (packet) => {
          const next = this.#paths.nextHop(peer, "") ?? this.#paths.back(arrivedFrom);
          if (next !== undefined) {
            const sent = this.#paths.hand(next, packet);
            // Taken at once (the one resolved promise, which never rejects): given back as it is, so the secure
            // channel sees a record taken at once and needs no callback for it (record-link.ts).
            if (sent === QUEUED) return sent;
            return sent.catch((cause: unknown) => {
              // The node stops (its sessions close before this room): no loss of the peer; the send rejects as stopped.
              if (this.#closed) throw stoppedError(cause);
              // The neighbour was lost (dropped as slow, gone) with the record: so is the channel, as a loss of its
              // peer, decided now (before the record layer and the sends waiting on it hear of it).
              const error = unreachableError(peer, ERROR_TEXTS ? "the neighbour towards it was lost" : [], cause);
              this.#drop(channel, error);
              throw error;
            });
          }
          // The record is lost, and with it the channel (the other end counts records): closed now, so the
          // sends after it reject instead of resolving into nothing. After the record layer is done with it.
          const error = unreachableError(peer, ERROR_TEXTS ? "the route to it is gone" : []);
          queueMicrotask(() => this.#drop(channel, error));
          return Promise.reject(error);
        },
        reset: () => {
          // The node stops: no reset goes out. Where the link moves, the other end gets the clean close's authenticated
          // end of stream; where it is stalled, nothing: its next send there is reset by the hop next to this node (a loss
          // naming this node), or the channel goes at its idle sweep. A graceful close both ends ended needs none.
          if (this.#closed || (channel.ended && channel.peerEnded)) return;
          if (channel.ended) this.#closesReset++;
          const next = this.#paths.nextHop(peer, "") ?? this.#paths.back(arrivedFrom);
          if (next !== undefined) this.#paths.hand(next, buildPacket(header, PACKET.RESET, EMPTY)).catch(() => {});
        },
      },
    });
    if (!initiator) this.#opening++;
    const ready = secureConnection(conn, {
      identity: this.#o.identity,
      handshakeTimeoutMs: this.#limits.routedOpenTimeoutMs,
      maxFrameSize: this.#o.codec.maxSize,
      ...(initiator ? { expectedPeerId: peer } : {}),
      // Each end of stream counts the other end's records received: a reset after one is a loss only when it left
      // some of this end's uncounted (`resetLoss`). An older node reads the count as a frame never finished.
      countedEnd: true,
      onRemoteEnd: (counted) => this.#peerEnded(channel, counted),
    }).then(
      (secure) => {
        if (!initiator) this.#opening--;
        // The opener proves who it is in the handshake: it must be the origin its packets name.
        if (secure.remotePeerId !== peer || this.#channels.get(key) !== channel) {
          void secure.close();
          // Its slot is freed now, not at the idle sweep: made-up origins must not fill the channel table.
          if (this.#channels.get(key) === channel) this.#drop(channel, undefined);
          throw unreachableError(peer, ERROR_TEXTS ? "its end proved another identity" : []);
        }
        channel.secure = secure;
        secure.read({ frame: (frame) => this.#inner(channel, frame), close: (info) => this.#secureClosed(channel, info.error) });
        // Its end of stream came with the handshake's last records.
        if (channel.peerEnded) this.#finish(channel);
        return secure;
      },
      (error: unknown) => {
        if (!initiator) this.#opening--;
        this.#drop(channel, undefined);
        throw unreachableError(peer, ERROR_TEXTS ? `no end-to-end channel to it opened (no answer within ${this.#limits.routedOpenTimeoutMs} ms, or a node on the path reset it)` : [this.#limits.routedOpenTimeoutMs], error);
      },
    );
    ready.catch(() => {});
    // Closing: still this room's, and its secure channel closed (its end follows), or closing gracefully (its end is decided at its bound, or by a reset).
    const sends = new ChannelSends(() => (this.#channels.get(key) === channel && channel.secure?.isClosed === true) || this.#channels.isClosing(channel));
    const channel: Channel = { key, peer, initiator, conn, ready, secure: undefined, lastUsed: ++this.#uses, swept: 0, idleSince: nowMs(), sends, ended: false, peerEnded: false, peerCounted: undefined, sentAtPeerEnd: 0, timer: undefined };
    this.#channels.add(channel);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#closeIdle(), Math.min(30_000, this.#limits.idleTimeoutMs));
      // Never keeps a process alive; a browser's timer is a number, with no `unref`.
      this.#sweep.unref?.();
    }
    return channel;
  }

  #write(channel: Channel, secure: SecureConnection, kind: string, payload: unknown): Promise<void> {
    channel.lastUsed = ++this.#uses;
    return this.#envelopes.write(channel.peer, secure, kind, payload);
  }

  /** A frame from the other end, authenticated by the channel. */
  #inner(channel: Channel, frame: Uint8Array): void {
    channel.lastUsed = ++this.#uses;
    const error = this.#envelopes.read(channel.peer, frame);
    if (error !== undefined) void channel.secure?.close(error);
  }

  /**
   * Forgets a channel and closes it: every end of a channel comes here, as
   * decided by its caller (`resetLoss` for a reset, `#secureClosed`, the
   * closing bound of `#keep`, `#peerEnded` for a lying count). One closed with an error (its route gone, a reset, a record
   * that failed to decrypt, a bad message from the other end, too much held
   * for a paused reader) is reported once. A microtask later (a send whose
   * promise below has resolved by now resolves first), every send still
   * waiting on it, at whatever layer (the handshake, the secure channel's
   * queue, a neighbour's link below), rejects with that error; when one of
   * them goes back to the user (`tells`), that is the report. Else it is an
   * `error` event naming the peer, within `routedErrorsPerMinute`: a message
   * whose send resolved may have been lost with it, and no send may come to
   * tell. Only a channel whose handshake was done is reported by the event:
   * until then its other end is a name anyone on the path may write in a
   * packet (a forwarder could make up an origin per OPEN and RESET it), and
   * its sends reject anyway. An idle channel, one evicted for room, one
   * whose handshake failed or the node's stop are no error: its sends
   * settle as they would.
   */
  #drop(channel: Channel, error: XppgError | undefined): void {
    if (!this.#channels.remove(channel)) return;
    clearTimeout(channel.timer);
    if (error !== undefined) {
      // Lost first: a send failing with the reset waits for the end.
      channel.sends.lose(error, () => {
        if (!this.#closed && channel.secure !== undefined) this.#losses.report(error, channel.peer);
      });
      channel.conn.reset(error);
      return;
    }
    channel.sends.close();
    if (channel.secure !== undefined) void channel.secure.close();
    else void channel.conn.close();
  }

  /**
   * `channel` now holds bytes for its paused reader: while all channels
   * holding some hold more than `routedInboxTotalBytes`, the one holding the
   * most is closed (as the largest outgoing queue is past `maxQueuedBytes`).
   * Only channels that held bytes at their last packet are summed.
   */
  #holdingCheck(channel: Channel): void {
    this.#channels.holds(channel);
    for (let most; (most = this.#channels.overBound(this.#limits.routedInboxTotalBytes)) !== undefined; ) this.#overfull(most, true);
  }

  /** The channel's paused reading would hold more than `routedInboxBytes` (or it holds the most when all together pass `routedInboxTotalBytes`): closed (the other end told by a reset), counted and reported. */
  #overfull(channel: Channel, node: boolean): void {
    this.#o.stats.overfullRoutedChannels++;
    const error = inboxOverfullError(channel.peer, node, this.#limits);
    // Closed first with the reason (a reset tells the other end), then forgotten: what it held is dropped.
    this.#channels.released(channel);
    void channel.conn.close(error);
    // Reports it too.
    this.#drop(channel, error);
  }

  /**
   * This end closes an open channel gracefully (idle, evicted for room, or
   * answering the other end's close), as TCP's FIN exchange: it leaves the
   * table (not handed out, not counted), its secure channel sends what it
   * holds then its authenticated end of stream, and reads on: what the other
   * end sent before it saw this end's close is delivered. Once both ends of
   * stream are in, the channel is closed with no reset and no loss; kept
   * for twice its bound (`routedOpenTimeoutMs`, see `#keep`), so that a
   * reset for it (a hop's, one sent back for data the other end dropped) is
   * still a loss, reported once, unless this end sent nothing but its end
   * of stream after the other end's came. An end of stream that gets no
   * answer within the bound (an older node, a hop that dropped it): the
   * channel is reset, as before. One still opening is closed as before.
   */
  #finish(channel: Channel): void {
    const secure = channel.secure;
    if (secure === undefined || this.#closed) return this.#drop(channel, undefined);
    if (!this.#channels.closeOf(channel)) return;
    // Answering the other end's: its end of stream came, this end's goes after what it holds, and the channel closes.
    if (channel.peerEnded) void secure.close();
    else secure.closeWrite();
    this.#keep(channel, channel.peerEnded ? 2 : 1);
    // Bounded in number too, per peer and in all (see `closingOver`): forgotten, with a reset unless its close was clean.
    const l = this.#limits;
    for (let over; (over = this.#channels.closingOver(channel.peer, l.maxChannelsPerPeer, l.maxChannels)) !== undefined; ) this.#drop(over, undefined);
  }

  /**
   * Keeps a closing channel for `bounds` times `routedOpenTimeoutMs` from
   * now, then forgets it (with a reset unless both ends of stream are in).
   * Once both are in, twice the bound: the other end, if this end's answer
   * was lost on the path, resets the channel at its own bound, which began
   * before this end's (its end of stream's way here); kept past it, that
   * reset still finds the channel and is told as the loss it may be.
   */
  #keep(channel: Channel, bounds: number): void {
    clearTimeout(channel.timer);
    channel.timer = setTimeout(() => this.#drop(channel, undefined), bounds * this.#limits.routedOpenTimeoutMs);
    channel.timer.unref?.();
  }

  /**
   * The other end's authenticated end of stream came (it sends nothing
   * more), with its count of this end's records (`counted`): this end
   * answers with its own (`#finish`), or, having sent it, closes the
   * channel cleanly. A count above the records this end sent is a lie: the
   * channel is closed with `XPPG_ERR_PROTOCOL_VIOLATION`, reported once.
   */
  #peerEnded(channel: Channel, counted: number | undefined): void {
    const sent = channel.secure?.recordsSent ?? 0;
    if (counted !== undefined && unconfirmedRecords(sent, counted) === undefined) {
      return this.#drop(channel, violation(channel.peer, ERROR_TEXTS ? `an end of stream on its routed channel counting ${counted} of this node's records received, of ${sent} sent` : ""));
    }
    channel.peerEnded = true;
    channel.peerCounted = counted;
    channel.sentAtPeerEnd = sent;
    if (channel.ended) {
      void channel.secure?.close();
      if (this.#channels.isClosing(channel)) this.#keep(channel, 2);
    }
    else if (channel.secure !== undefined) this.#finish(channel);
  }

  /** The channel's secure channel closed: a closing one whose ends of stream were both in stays until its bound; any other end is decided now. */
  #secureClosed(channel: Channel, error: XppgError | undefined): void {
    if (error === undefined && channel.peerEnded && this.#channels.isClosing(channel)) return;
    this.#drop(channel, error);
  }

  #closeIdle(): void {
    for (const channel of this.#channels.idle(nowMs(), this.#limits.idleTimeoutMs)) this.#finish(channel);
    if (this.#channels.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }
}

/** A send refused, or lost on its way out, because this node stopped. */
function stoppedError(cause: unknown): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? "This node was stopped; nothing more can be sent." : [], cause === undefined ? undefined : { cause });
}
