/**
 * The browser's `#connection-manager` (Node's is `../connection-manager.ts`):
 * the manager, its planner and its dial budget, loaded when there is work
 * for them. A page mostly keeps the links it joined: the peers it learns of
 * (its neighbours' hellos, presences) are connected already or listen on
 * TCP, which a page cannot dial. So Node's manager is loaded (`import()`)
 * only when a peer the page can dial is known and not connected (a mesh
 * member listening on WebSocket, a lost neighbour), or when more links are
 * open than `connections.highWater`; it is then told what the stand-in saw:
 * the links open (as opened now), the peers in the address book, and the
 * links lost meanwhile (so a peer that closed on purpose waits out the
 * longest backoff, and a banned one is forgotten, as in Node).
 */

import type { XppgError } from "@xppg/errors";
import type { ConnectionManager as NodeConnectionManager, ConnectionManagerOptions, ConnectionStatus } from "../connection-manager.js";
import type { PeerSession } from "../peer-session.js";

export type { ConnectionManagerOptions, ConnectionStatus } from "../connection-manager.js";

/** The connection manager in a page: Node's, loaded the first time it has something to do. */
// Every public member of Node's manager, so a call added there fails to compile here until the page has it too.
export class ConnectionManager implements Pick<NodeConnectionManager, keyof NodeConnectionManager> {
  readonly #o: ConnectionManagerOptions;
  #manager: NodeConnectionManager | undefined;
  #loading = false;
  #stopped = false;
  /** Links lost while there was no manager yet, by peer (the latest), handed over once it is there. */
  #lost = new Map<string, [PeerSession, XppgError | undefined]>();
  /** Peers that left the mesh while the manager loads. */
  #forgotten = new Set<string>();

  constructor(options: ConnectionManagerOptions) {
    this.#o = options;
  }

  get status(): ConnectionStatus {
    if (this.#manager !== undefined) return this.#manager.status;
    const s = this.#o.settings;
    return { lowWater: s.lowWater, highWater: s.highWater, connected: this.#o.table.open.size, known: this.#o.book.size, dials: 0, dialsRefused: 0, trimmed: 0 };
  }

  learnt(peerId: string, changed?: boolean): void {
    if (this.#manager !== undefined) return this.#manager.learnt(peerId, changed);
    this.#forgotten.delete(peerId);
    if (this.#dialable(peerId)) this.#load();
  }

  forget(peerId: string): void {
    if (this.#manager !== undefined) return this.#manager.forget(peerId);
    if (this.#loading) this.#forgotten.add(peerId);
  }

  opened(session: PeerSession): void {
    if (this.#manager !== undefined) return this.#manager.opened(session);
    this.#lost.delete(session.peerId!);
    if (this.#o.table.open.size > this.#o.settings.highWater) this.#load();
  }

  ended(session: PeerSession, error: XppgError | undefined): void {
    if (this.#manager !== undefined) return this.#manager.ended(session, error);
    const peerId = session.peerId;
    // Node's manager, once loaded, hears of the loss: it backs off, or forgets a peer that must never be dialled again (a ban).
    if (peerId === undefined || !session.everOpened || this.#o.table.peers.has(peerId) || !this.#dialable(peerId)) return;
    this.#lost.set(peerId, [session, error]);
    this.#load();
  }

  stop(): void {
    this.#stopped = true;
    this.#lost.clear();
    this.#manager?.stop();
  }

  /** A known peer, not connected, with an address this page can dial, while automatic dials are on. */
  #dialable(peerId: string): boolean {
    if (this.#stopped || this.#o.settings.lowWater === 0 || this.#o.table.open.has(peerId)) return false;
    return this.#o.book.get(peerId)?.addresses.some((a) => this.#o.canDial(a)) === true;
  }

  #load(): void {
    if (this.#loading || this.#stopped) return;
    this.#loading = true;
    import("../connection-manager.js").then(
      ({ ConnectionManager: Manager }) => {
        this.#loading = false;
        if (this.#stopped) return;
        const manager = new Manager(this.#o);
        this.#manager = manager;
        const { table, book } = this.#o;
        for (const session of table.open.values()) manager.opened(session);
        for (const peerId of [...book.peerIds()]) if (!table.open.has(peerId) && !this.#forgotten.has(peerId)) manager.learnt(peerId);
        for (const [session, error] of this.#lost.values()) manager.ended(session, error);
        this.#lost.clear();
        this.#forgotten.clear();
      },
      // The next peer learnt or link lost tries again.
      () => (this.#loading = false),
    );
  }
}
