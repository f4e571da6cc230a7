/** Join and leave notices written by `run()`: a join waits a little for the peer's name; a leave with a reason is one line. */

import type { PeerInfo, Playground } from "@xppg/node";
import { JOIN_NAME_WAIT_MS } from "./constants.js";
import { formatJoined, formatLeft, type LineWriter } from "./terminal.js";

/** The notices of one `run()`. */
export class PeerNotices {
  readonly #writer: LineWriter;
  /** Latest name each peer used, by peer id (the chat's own map). */
  readonly #names: ReadonlyMap<string, string>;
  /** Join notices waiting for the peer's name, by peer id (the chat's own map: its name messages call them). */
  readonly #nameWaiters: Map<string, () => void>;
  /** True while `run()` runs: a notice whose wait ends later is dropped. */
  readonly #running: () => boolean;
  /** Peer ids whose join was written or is waiting for a name. */
  readonly #shown = new Set<string>();
  /** The reason of the leave just written: the same reason reported as a problem is not written again. */
  #leaveReason: unknown;

  constructor(writer: LineWriter, names: ReadonlyMap<string, string>, nameWaiters: Map<string, () => void>, running: () => boolean) {
    this.#writer = writer;
    this.#names = names;
    this.#nameWaiters = nameWaiters;
    this.#running = running;
  }

  /** Follows the joins and leaves of `pg`; returns the functions that stop it. */
  attach(pg: Playground): (() => void)[] {
    return [
      pg.events.on("peer:joined", (peer) => this.#joined(peer)),
      pg.events.on("peer:left", (peer, reason) => {
        this.#nameWaiters.get(peer.peerId)?.();
        this.#writer.write(formatLeft(peer, this.#names.get(peer.peerId), reason));
        this.#leaveReason = reason;
        queueMicrotask(() => (this.#leaveReason = undefined));
      }),
    ];
  }

  /** Announces the peers that joined before it was attached (a `start()` of their own, LAN discovery). */
  catchUp(peers: readonly PeerInfo[]): void {
    for (const peer of peers) if (!this.#shown.has(peer.peerId)) this.#joined(peer);
  }

  /** True for the reason of the leave just written. */
  isLeaveReason(error: unknown): boolean {
    return error === this.#leaveReason;
  }

  #joined(peer: PeerInfo): void {
    this.#shown.add(peer.peerId);
    const name = this.#names.get(peer.peerId);
    if (name !== undefined) return this.#writer.write(formatJoined(peer, name));
    // The peer's name follows its join closely: wait for it a little, so the notice shows a name.
    const timer = setTimeout(() => announce(), JOIN_NAME_WAIT_MS);
    const announce = (): void => {
      clearTimeout(timer);
      this.#nameWaiters.delete(peer.peerId);
      if (this.#running()) this.#writer.write(formatJoined(peer, this.#names.get(peer.peerId)));
    };
    this.#nameWaiters.set(peer.peerId, announce);
  }
}
