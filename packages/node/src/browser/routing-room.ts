/**
 * The browser's `#routing-room` (Node's is `../routing-room.ts`): routed
 * unicast, loaded on first use. A page that only talks to its neighbours
 * (as most do: a page joins one Node peer) never downloads the routing code;
 * the first routed packet from a neighbour, or the first message to a node
 * that is not one, loads it (`import()`), and from then on every call goes
 * straight to Node's room.
 *
 * Nothing changes for the peers: packets that arrive while the code loads
 * are kept in order (copied out of their frames, at most 1024 packets and
 * 8 MiB; more are dropped and counted in `stats.droppedUnicasts`) and handed
 * over once it is there; a packet that is not bytes is refused at once, as in
 * Node, and one that breaks the protocol otherwise drops its neighbour with
 * the same typed reason, only a moment later; sends made meanwhile go out in
 * order. After `close()` a packet is ignored.
 */

import { ERROR_TEXTS, isXppgError, now as nowMs } from "@xppg/errors";
import { internalError } from "../errors.js";
import type { PeerSession } from "../peer-session.js";
import { ROUTE_CAPABILITY, routeViolation, unreachableError } from "../routing-basics.js";
import type { Tell } from "../routed-loss.js";
import type { RoutingRoom as NodeRoutingRoom, RoutingRoomOptions } from "../routing-room.js";
import { LazyRoom } from "./lazy-room.js";

export { ROUTE_CAPABILITY, unreachableError } from "../routing-basics.js";
export type { RoutingLimits, RoutingRoomOptions } from "../routing-room.js";

/** Routed unicast in a page: Node's room, loaded the first time it is needed. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class RoutingRoom implements Pick<NodeRoutingRoom, keyof NodeRoutingRoom> {
  readonly #o: RoutingRoomOptions;
  /** Holds the packets that come while the code loads (past its limits they are dropped and counted, as a congested node drops them). */
  readonly #lazy: LazyRoom<NodeRoutingRoom, [PeerSession, Uint8Array]>;

  constructor(options: RoutingRoomOptions) {
    this.#o = options;
    this.#lazy = new LazyRoom(
      async () => new (await import("../routing-room.js")).RoutingRoom(options),
      // (A failed load drops what was held: the channels' own timeouts tell their ends.)
      (room, held) => this.#loaded(room, held),
    );
  }

  get channelCount(): number {
    return this.#lazy.room?.channelCount ?? 0;
  }

  reachable(peerId: string): boolean {
    const loaded = this.#lazy.room;
    if (loaded !== undefined) return loaded.reachable(peerId);
    // As Node's room answers it (the route table and the neighbour's capability), without loading the code.
    const hop = this.#o.routes.nextHop(peerId, "", nowMs());
    if (!("via" in hop)) return false;
    const session = this.#o.table.open.get(hop.via);
    return session !== undefined && this.#o.table.supports(session, ROUTE_CAPABILITY);
  }

  send(to: string, kind: string, payload: unknown, tell?: Tell): Promise<void> {
    return this.#lazy.call(
      (room) => room.send(to, kind, payload, tell),
      (error) => unreachableError(to, ERROR_TEXTS ? "this page could not load its routed-unicast code (is the site still reachable?)" : [], error),
    );
  }

  receive(session: PeerSession, payload: unknown): void {
    const loaded = this.#lazy.room;
    if (loaded !== undefined) return loaded.receive(session, payload);
    // Stopped: nothing is loaded for it, nor handed on.
    if (this.#lazy.closed) return;
    // Any other value would be held uncounted: refused now, as Node's room refuses it.
    if (!(payload instanceof Uint8Array)) throw routeViolation(session.peerId!, "a routed packet that is not bytes");
    // A copy: the packet is a view into its whole frame, which it would keep alive (and the count would not see).
    if (!this.#lazy.hold([session, payload.slice()], payload.byteLength)) this.#o.stats.droppedUnicasts++;
  }

  /** Resolves once the loaded room's channels have closed (Node's `close`); at once when none was loaded. */
  close(): Promise<void> {
    return this.#lazy.close() ?? Promise.resolve();
  }

  /** The room is there: the packets that came meanwhile are handed over in order. */
  #loaded(room: NodeRoutingRoom, held: [PeerSession, Uint8Array][]): void {
    for (const [session, payload] of held) {
      try {
        room.receive(session, payload);
      } catch (error) {
        // What the session does with an error thrown while it delivers (peer-session.ts).
        session.close(isXppgError(error) ? error : internalError(ERROR_TEXTS ? "handling a \"xppg/route\" message" : [], error));
      }
    }
  }
}
