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

  /** Forgets `channel`; false when it is not the table's (forgotten already, or another has its key). */
  remove(channel: Channel): boolean {
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
