/**
 * The browser's `#connection-manager` (Node's is `../connection-manager.ts`):
 * the manager, its planner and its dial budget, loaded when there is work
 * for them. A page mostly keeps the links it joined: the peers it learns of
 * (its neighbours' hellos, presences) are connected already or listen on
 * TCP, which a page cannot dial. So Node's manager is loaded (`import()`)
 * only when a peer the page can dial is known and not connected (a mesh
 * member listening on WebSocket, a lost neighbour), or when more links are
 * open than `connections.highWater`; it is then told what the stand-in saw:
 * the links open (when each opened), the peers in the address book but for
 * those that left the mesh, and the links lost meanwhile (so a peer that
 * closed on purpose waits out the longest backoff). A peer lost for good (a
 * ban, another app) leaves the address book at once, as in Node, loaded or
 * not. A failed download is reported once and tried again every check
 * interval; a manager that fails to start (a bug) is reported once, as
 * `XPPG_ERR_INTERNAL`, and not tried again.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import type { ConnectionManager as NodeConnectionManager, ConnectionManagerOptions, ConnectionStatus } from "../connection-manager.js";
import { NODE_ERROR_CODES, PlaygroundError, internalError } from "../errors.js";
import { neverAgain } from "../lost-peer.js";
import { BoundedMap } from "../mesh/bounded-map.js";
import { REAL_TIMERS, type MeshTimers } from "../mesh/timers.js";
import type { PeerSession } from "../peer-session.js";

export type { ConnectionManagerOptions, ConnectionStatus } from "../connection-manager.js";

/** Loads Node's manager (an `import()`). */
export type LoadConnectionManager = () => Promise<Pick<typeof import("../connection-manager.js"), "ConnectionManager" | "takeOver">>;

/** Peers remembered as lost or as gone from the mesh until the manager loads (the address book's default capacity). */
const MAX_REMEMBERED = 1024;

/** The connection manager in a page: Node's, loaded the first time it has something to do. */
// Every public member of Node's manager, so a call added there fails to compile here until the page has it too.
export class ConnectionManager implements Pick<NodeConnectionManager, keyof NodeConnectionManager> {
  readonly #o: ConnectionManagerOptions;
  readonly #import: LoadConnectionManager;
  readonly #timers: MeshTimers;
  #manager: NodeConnectionManager | undefined;
  #loading = false;
  #stopped = false;
  /** A failed load was reported (only the first is). */
  #reported = false;
  /** Node's manager could not be made (a bug, reported): not loaded again. */
  #broken = false;
  /** The next try after a failed load. */
  #retry: unknown;
  /** When each open link opened (this clock), handed over so that Node's manager trims the youngest. */
  readonly #openedAt = new Map<string, number>();
  /** Links lost while there was no manager yet, by peer (the latest), handed over once it is there. */
  readonly #lost = new BoundedMap<string, [PeerSession, XppgError | undefined]>(MAX_REMEMBERED);
  /** Peers that left the mesh while there was no manager: not handed over as dialable. */
  readonly #forgotten = new BoundedMap<string, true>(MAX_REMEMBERED);

  /** `load` is Node's manager's `import()` (another one only to test a failing load). */
  constructor(options: ConnectionManagerOptions, load: LoadConnectionManager = () => import("../connection-manager.js")) {
    this.#o = options;
    this.#import = load;
    this.#timers = options.timers ?? REAL_TIMERS;
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
    // As Node's: a connected peer is kept (its link may drop later and be dialled again).
    if (this.#o.table.open.has(peerId)) return;
    this.#forgotten.set(peerId, true);
    this.#lost.delete(peerId);
  }

  opened(session: PeerSession, at = this.#timers.now()): void {
    if (this.#manager !== undefined) return this.#manager.opened(session, at);
    const peerId = session.peerId!;
    this.#lost.delete(peerId);
    this.#openedAt.set(peerId, at);
    if (this.#o.table.open.size > this.#o.settings.highWater) this.#load();
  }

  ended(session: PeerSession, error: XppgError | undefined): void {
    if (this.#manager !== undefined) return this.#manager.ended(session, error);
    const peerId = session.peerId;
    // As Node's: a session that never opened, or one replaced by another connection, changes nothing.
    if (peerId === undefined || !session.everOpened || this.#o.table.peers.has(peerId)) return;
    this.#openedAt.delete(peerId);
    if (neverAgain(error)) {
      // Forgotten now, as Node's manager would: no later hand-over learns it again.
      this.#lost.delete(peerId);
      this.#o.book.delete(peerId);
      return;
    }
    // Every loss is kept for the hand-over (backoff); only a peer this page can dial needs the manager now.
    this.#lost.set(peerId, [session, error]);
    if (this.#dialable(peerId)) this.#load();
  }

  stop(): void {
    this.#stopped = true;
    this.#lost.clear();
    if (this.#retry !== undefined) this.#timers.clearTimer(this.#retry);
    this.#retry = undefined;
    this.#manager?.stop();
  }

  /** A known peer, not connected, with an address this page can dial, while automatic dials are on. */
  #dialable(peerId: string): boolean {
    if (this.#stopped || this.#o.settings.lowWater === 0 || this.#o.table.open.has(peerId)) return false;
    return this.#o.book.get(peerId)?.addresses.some((a) => this.#o.canDial(a)) === true;
  }

  #load(): void {
    if (this.#loading || this.#stopped || this.#broken || this.#manager !== undefined || this.#retry !== undefined) return;
    this.#loading = true;
    // The download alone is retried; what runs once it is here is not (see #start).
    void this.#import().then(
      (code) => {
        this.#loading = false;
        if (!this.#stopped) this.#start(code);
      },
      (error: unknown) => {
        this.#loading = false;
        if (this.#stopped) return;
        const every = this.#o.settings.checkIntervalMs;
        if (!this.#reported) {
          this.#reported = true;
          this.#o.report?.(new PlaygroundError(NODE_ERROR_CODES.CODE_NOT_LOADED, ERROR_TEXTS ? `This page could not download its connection manager (is the site reachable?); it tries again every ${every} ms.` : [every], { cause: error }), undefined);
        }
        this.#retry = this.#timers.setTimer(every, () => {
          this.#retry = undefined;
          this.#load();
        });
      },
    );
  }

  /**
   * Makes Node's manager and hands it what the page saw. A throw here is a
   * bug, not a failed download: reported once, never tried again (a manager
   * made runs on without the rest of what the page saw).
   */
  #start(code: Awaited<ReturnType<LoadConnectionManager>>): void {
    try {
      const manager = (this.#manager = new code.ConnectionManager(this.#o));
      code.takeOver(manager, this.#o, this.#openedAt, this.#forgotten, this.#lost.entries());
    } catch (error) {
      this.#broken = this.#manager === undefined;
      this.#o.report?.(internalError(ERROR_TEXTS ? this.#broken ? "starting this page's connection manager" : "handing this page's links to its connection manager" : [], error), undefined);
    } finally {
      this.#openedAt.clear();
      this.#lost.clear();
      this.#forgotten.clear();
    }
  }
}
