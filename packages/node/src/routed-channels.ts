/**
 * The routing room's table of end-to-end channels (`routing-room.ts`): by
 * key, by peer (the per-peer bound and the least recently used), the ones
 * holding bytes for a paused reader (the node's bound on them), and the idle
 * sweep's marks. Only bookkeeping: opening, closing and reporting a channel
 * are the room's. Imported only by the room: a page loads it with the
 * room's chunk.
 */

import type { SecureConnection } from "@xppg/secure";
import type { RoutedConnection } from "./routed-connection.js";
import type { ChannelSends } from "./routed-loss.js";

/** One end of an end-to-end channel. */
export interface Channel {
  readonly key: string;
  readonly peer: string;
  readonly initiator: boolean;
  readonly conn: RoutedConnection;
  /** Resolves with the secure channel once its handshake is done. */
  readonly ready: Promise<SecureConnection>;
  secure: SecureConnection | undefined;
  /** The node's use count when it was last used (reading the clock per message would cost more): for "least recently used". */
  lastUsed: number;
  /** `lastUsed` as the idle sweep last saw it, and since when it has not changed. */
  swept: number;
  idleSince: number;
  /** Sends on it not yet settled: the channel's end (the room's `#drop`) settles them, at whatever layer below they wait. */
  readonly sends: ChannelSends;
  /** This end sent its authenticated end of stream (its graceful close): the channel is a closing one, no longer handed out. */
  ended: boolean;
  /** The other end's authenticated end of stream came. With `ended`, the close was clean: no reset goes out. */
  peerEnded: boolean;
  /**
   * What the other end's end of stream counted: the low 23 bits of the number of this end's records it had received
   * (`SecureConnectionOptions.countedEnd`); undefined before it, and for an end of stream with no count (an older
   * node's). A reset after it is no loss only when it counted every record this end sent (see the room's `#resetLoss`).
   */
  peerCounted: number | undefined;
  /** The records this end had sent (`recordsSent`) when the other end's end of stream came: for one with no count, the room's `#resetLoss` weighs what went after it. */
  sentAtPeerEnd: number;
  /** The closing's bound (`routedOpenTimeoutMs`, twice that once both ends of stream are in): then forgotten, with a reset unless the close was clean. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A channel's key: its other end, its id, and whether this node opened it (packets on it then come from its responder). */
export function channelKey(peer: string, id: number, fromResponder: boolean): string {
  return `${fromResponder ? "r" : "i"}${id}:${peer}`;
}

export class ChannelTable {
  readonly #channels = new Map<string, Channel>();
  readonly #byPeer = new Map<string, Channel[]>();
  /** Channels that held bytes for a paused reader at their last packet: only these are summed (see `overBound`). */
  readonly #holding = new Set<Channel>();
  /**
   * Channels this end closed gracefully (`ended`), by key: not counted nor
   * handed out, still read until the other end's end of stream, then kept
   * until their bound so that a reset for them is still a loss.
   */
  readonly #closing = new Map<string, Channel>();
  /** Closing channels per peer: bounded as the open ones are (`maxChannelsPerPeer`). */
  readonly #closingByPeer = new Map<string, number>();

  get size(): number {
    return this.#channels.size;
  }

  get(key: string): Channel | undefined {
    return this.#channels.get(key);
  }

  /** A copy: the caller may remove channels while it goes through them. */
  all(): Channel[] {
    return [...this.#channels.values()];
  }

  /** Channels with `peer`, both directions. */
  countOf(peer: string): number {
    return this.#byPeer.get(peer)?.length ?? 0;
  }

  add(channel: Channel): void {
    this.#channels.set(channel.key, channel);
    const list = this.#byPeer.get(channel.peer);
    if (list === undefined) this.#byPeer.set(channel.peer, [channel]);
    else list.push(channel);
  }

  /** An open (or opening) channel by key, else a closing one. */
  find(key: string): Channel | undefined {
    return this.#channels.get(key) ?? this.#closing.get(key);
  }

  /** True while `channel` is a closing one (see {@link ChannelTable.closeOf}). */
  isClosing(channel: Channel): boolean {
    return this.#closing.get(channel.key) === channel;
  }

  /** Moves an open channel to the closing ones (`ended`: this end's graceful close); false when it is not the table's. */
  closeOf(channel: Channel): boolean {
    if (!this.remove(channel)) return false;
    channel.ended = true;
    this.#closing.set(channel.key, channel);
    this.#closingByPeer.set(channel.peer, this.closingCountOf(channel.peer) + 1);
    return true;
  }

  /** Closing channels, all peers. */
  get closingCount(): number {
    return this.#closing.size;
  }

  /** Closing channels with `peer`. */
  closingCountOf(peer: string): number {
    return this.#closingByPeer.get(peer) ?? 0;
  }

  /**
   * The closing channel to forget next, while `peer` has more than `perPeer`
   * (that peer's kept longest) or all together are more than `most`: then
   * the one kept longest whose close was clean (both ends of stream in:
   * forgetting it sends nothing), else the one kept longest of the peer
   * holding the most. So a peer that opens and ends channel after channel
   * (or a hop making up origins) evicts its own closing channels, not the
   * other peers' (each such eviction a reset, a loss at an honest far end).
   */
  closingOver(peer: string, perPeer: number, most: number): Channel | undefined {
    if (this.closingCountOf(peer) > perPeer) {
      for (const c of this.#closing.values()) if (c.peer === peer) return c;
    }
    if (this.#closing.size <= most) return undefined;
    let top: string | undefined;
    let topCount = 0;
    for (const c of this.#closing.values()) {
      if (c.peerEnded) return c;
      const n = this.closingCountOf(c.peer);
      if (n > topCount) [top, topCount] = [c.peer, n];
    }
    for (const c of this.#closing.values()) if (c.peer === top) return c;
    return undefined;
  }

  /** Closing channels (a copy). */
  allClosing(): Channel[] {
    return [...this.#closing.values()];
  }

  /** Forgets `channel`, open or closing; false when it is not the table's (forgotten already, or another has its key). */
  remove(channel: Channel): boolean {
    if (this.#closing.get(channel.key) === channel) {
      this.#holding.delete(channel);
      const left = this.closingCountOf(channel.peer) - 1;
      if (left === 0) this.#closingByPeer.delete(channel.peer);
      else this.#closingByPeer.set(channel.peer, left);
      return this.#closing.delete(channel.key);
    }
    if (this.#channels.get(channel.key) !== channel) return false;
    this.#channels.delete(channel.key);
    this.#holding.delete(channel);
    const list = this.#byPeer.get(channel.peer)!;
    list.splice(list.indexOf(channel), 1);
    if (list.length === 0) this.#byPeer.delete(channel.peer);
    return true;
  }

  /** A channel to `peer` that is open, else one this node is opening. */
  usable(peer: string): Channel | undefined {
    const list = this.#byPeer.get(peer);
    if (list === undefined) return undefined;
    let opening: Channel | undefined;
    for (const channel of list) {
      if (channel.secure !== undefined && !channel.secure.isClosed) return channel;
      if (channel.secure === undefined && channel.initiator) opening ??= channel;
    }
    return opening;
  }

  /** The least recently used channel with `peer` when it has `most` or more, else of all when the table has `most` or more. */
  oldest(peer: string | undefined, most: number): Channel | undefined {
    const channels = peer === undefined ? this.#channels.values() : (this.#byPeer.get(peer) ?? []);
    if ((peer === undefined ? this.#channels.size : this.countOf(peer)) < most) return undefined;
    let found: Channel | undefined;
    for (const c of channels) if (found === undefined || c.lastUsed < found.lastUsed) found = c;
    return found;
  }

  /** `channel` holds bytes for its paused reader now: summed by `overBound` until it holds none. */
  holds(channel: Channel): void {
    this.#holding.add(channel);
  }

  /** `channel` is closed for what it held: no longer summed. */
  released(channel: Channel): void {
    this.#holding.delete(channel);
  }

  /** The channel holding the most, while all channels holding bytes for paused readers hold more than `bound` together; else undefined. */
  overBound(bound: number): Channel | undefined {
    let total = 0;
    let most: Channel | undefined;
    for (const c of this.#holding) {
      const held = c.conn.heldBytes;
      if (held === 0) this.#holding.delete(c);
      total += held;
      if (most === undefined || held > most.conn.heldBytes) most = c;
    }
    return total > bound ? most : undefined;
  }

  /** The idle sweep at `now`: the channels unused for more than `idleMs` (each one's use count unchanged since a sweep that long ago). */
  idle(now: number, idleMs: number): Channel[] {
    const idle: Channel[] = [];
    for (const channel of this.#channels.values()) {
      if (channel.swept !== channel.lastUsed) {
        channel.swept = channel.lastUsed;
        channel.idleSince = now;
      } else if (now - channel.idleSince > idleMs) idle.push(channel);
    }
    return idle;
  }
}
