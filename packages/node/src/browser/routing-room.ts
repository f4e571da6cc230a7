/**
 * The browser's `#routing-room` (Node's is `../routing-room.ts`): routed
 * unicast, loaded on first use. A page that only talks to its neighbours
 * (as most do: a page joins one Node peer) never downloads the routing code;
 * the first routed packet from a neighbour, or the first message to a node
 * that is not one, loads it (`import()`), and from then on every call goes
 * straight to Node's room.
 *
 * Nothing changes for the peers: packets that arrive while the code loads
 * are kept in order and handed over once it is there; one that breaks the
 * protocol drops its neighbour with the same typed reason, only a moment
 * later; sends made meanwhile go out in order.
 */

import { isXppgError } from "@xppg/errors";
import { internalError } from "../errors.js";
import type { PeerSession } from "../peer-session.js";
import { ROUTE_CAPABILITY, unreachableError } from "../routing-basics.js";
import type { RoutingRoom as NodeRoutingRoom, RoutingRoomOptions } from "../routing-room.js";

export { ROUTE_CAPABILITY, unreachableError } from "../routing-basics.js";
export type { RoutingLimits, RoutingRoomOptions } from "../routing-room.js";

/** Routed unicast in a page: Node's room, loaded the first time it is needed. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class RoutingRoom implements Pick<NodeRoutingRoom, keyof NodeRoutingRoom> {
  readonly #o: RoutingRoomOptions;
  #room: NodeRoutingRoom | undefined;
  #loading: Promise<NodeRoutingRoom> | undefined;
  /** Packets that came while the code loads, in order. */
  #queued: [PeerSession, unknown][] = [];
  /** Sends waiting for the code: later ones wait behind them, so all go out in order. */
  #waiting = 0;
  #closed = false;

  constructor(options: RoutingRoomOptions) {
    this.#o = options;
  }

  get channelCount(): number {
    return this.#room?.channelCount ?? 0;
  }

  reachable(peerId: string): boolean {
    if (this.#room !== undefined) return this.#room.reachable(peerId);
    // As Node's room answers it (the route table and the neighbour's capability), without loading the code.
    const hop = this.#o.routes.nextHop(peerId, "", performance.now());
    if (!("via" in hop)) return false;
    const session = this.#o.table.open.get(hop.via);
    return session !== undefined && this.#o.table.supports(session, ROUTE_CAPABILITY);
  }

  send(to: string, kind: string, payload: unknown): Promise<void> {
    if (this.#room !== undefined && this.#waiting === 0) return this.#room.send(to, kind, payload);
    this.#waiting++;
    return this.#load().then(
      (room) => {
        this.#waiting--;
        return room.send(to, kind, payload);
      },
      (error: unknown) => {
        this.#waiting--;
        throw unreachableError(to, "this page could not load its routed-unicast code (is the site still reachable?)", error);
      },
    );
  }

  receive(session: PeerSession, payload: unknown): void {
    if (this.#room !== undefined) return this.#room.receive(session, payload);
    this.#queued.push([session, payload]);
    // A failed load drops what was queued: the channels' own timeouts tell their ends.
    this.#load().catch(() => {});
  }

  close(): void {
    this.#closed = true;
    this.#queued = [];
    this.#room?.close();
  }

  #load(): Promise<NodeRoutingRoom> {
    this.#loading ??= import("../routing-room.js").then(
      ({ RoutingRoom: Room }) => {
        const room = new Room(this.#o);
        if (this.#closed) room.close();
        this.#room = room;
        const queued = this.#queued;
        this.#queued = [];
        for (const [session, payload] of queued) {
          try {
            room.receive(session, payload);
          } catch (error) {
            // What the session does with an error thrown while it delivers (peer-session.ts).
            session.close(isXppgError(error) ? error : internalError("handling a \"xppg/route\" message", error));
          }
        }
        return room;
      },
      (error: unknown) => {
        // The next use tries again.
        this.#loading = undefined;
        this.#queued = [];
        throw error;
      },
    );
    return this.#loading;
  }
}
