/**
 * The connection manager: keeps the node's connections between a low and a
 * high water mark (`connections` option). It runs the connection planner's
 * decisions (`mesh/connection-planner.ts`) through the dialer:
 *
 * - below the low mark it dials peers it learnt (peer exchange, presences),
 *   their peer id pinned, at most two per check;
 * - above the high mark it closes the youngest links it may close (inbound
 *   ones and its own dials, never a `join` of the application), those of
 *   the most crowded host first;
 * - a lost or failed peer is dialled again after an exponential, jittered
 *   backoff; one that closed the link on purpose after the longest;
 * - every dial first takes a token of the dial budget
 *   (`mesh/dial-budget.ts`): a few attempts per address and per host per
 *   window, so addresses advertised in a victim's name cannot make the
 *   mesh flood it.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import type { ResolvedConnections } from "./connection-options.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { AddressBook, KnownPeer } from "./mesh/address-book.js";
import { BoundedMap } from "./mesh/bounded-map.js";
import { ConnectionPlanner } from "./mesh/connection-planner.js";
import { DialBudget } from "./mesh/dial-budget.js";
import { REAL_TIMERS, type MeshTimers } from "./mesh/timers.js";
import { neverAgain } from "./lost-peer.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";

/** Deadline of one automatic dial (dial and both handshakes). */
const DIAL_TIMEOUT_MS = 10_000;
/** Peers whose last failed address is remembered (about the address book's size). */
const MAX_FAILED = 1024;
/** How often at most new addresses of one peer end its redial backoff early (the dial budgets apply besides). */
const RETRY_SOON_MS = 10_000;
/** Ways a peer leaves that mean "not now": dial it back only after the longest backoff. */
const DELIBERATE = new Set<string>([NODE_ERROR_CODES.DISCONNECTED, NODE_ERROR_CODES.PEER_SHUTDOWN, NODE_ERROR_CODES.TOO_MANY_PEERS]);
/** Hosts that name no host to dial (as `canonicalTarget` spells them): a dial to one reaches the dialling host itself. */
const UNSPECIFIED = new Set(["0.0.0.0", "::", "::ffff:0:0"]);
/**
 * Ways that say the address reached someone else (this node, another node): only that address is
 * dropped for that peer, and its next address is tried. A node on the dialler's own LAN at an address
 * the peer listed must not make the dialler forget the peer and its other (relayed) addresses.
 */
const WRONG_ADDRESS = new Set<string>([NODE_ERROR_CODES.SELF_CONNECTION, NODE_ERROR_CODES.PEER_ID_MISMATCH]);
/** Addresses remembered as reaching someone else, per peer (a record lists at most 8). */
const MAX_WRONG_PER_PEER = 16;

export interface ConnectionManagerOptions {
  readonly localPeerId: string;
  readonly settings: ResolvedConnections;
  readonly table: PeerTable;
  readonly book: AddressBook;
  /** The join path, with the peer id pinned. */
  dial(address: string, peerId: string, timeoutMs: number): Promise<unknown>;
  /** True when a transport of this node can dial the address. */
  canDial(address: string): boolean;
  /** True while the node runs. */
  running(): boolean;
  readonly timers?: MeshTimers;
  readonly random?: () => number;
  /** Reports an error no caller waits for (a page that could not load the manager). */
  readonly report?: (error: XppgError, peerId: string | undefined) => void;
}

/** What `pg.connections` shows. */
export interface ConnectionStatus {
  readonly lowWater: number;
  readonly highWater: number;
  /** Connections open now. */
  readonly connected: number;
  /** Peers whose addresses this node knows (a new neighbour from the turn after its link opens, not yet when `join` resolves). */
  readonly known: number;
  /** Automatic dials made, and those the dial budget refused. */
  readonly dials: number;
  readonly dialsRefused: number;
  /** Links closed to get under the high mark. */
  readonly trimmed: number;
}

export class ConnectionManager {
  readonly #o: ConnectionManagerOptions;
  readonly #planner: ConnectionPlanner;
  readonly #budget: DialBudget;
  readonly #timers: MeshTimers;
  readonly #random: () => number;
  /** Peers this manager dialled (their links may be trimmed). */
  readonly #mine = new Set<string>();
  /** The address whose dial to a peer failed last: the next dial starts after it. */
  readonly #failed = new Map<string, string>();
  /**
   * Addresses of each peer that reached another node or this one, with when they may be dialled for it
   * again: after `redialMaxMs`, as a laptop moves (bounded: {@link MAX_FAILED} peers, {@link MAX_WRONG_PER_PEER} each).
   */
  readonly #wrong = new BoundedMap<string, Map<string, number>>(MAX_FAILED);
  /** When new addresses last ended each peer's backoff early. */
  readonly #retriedAt = new BoundedMap<string, number>(MAX_FAILED);
  #timer: unknown;
  #stopped = false;
  #dials = 0;
  #refused = 0;
  #trimmed = 0;

  constructor(options: ConnectionManagerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#random = options.random ?? Math.random;
    const s = options.settings;
    this.#budget = new DialBudget({ perAddress: s.dialsPerAddress, perHost: s.dialsPerHost, windowMs: s.dialWindowMs });
    this.#planner = new ConnectionPlanner({
      self: options.localPeerId,
      lowWater: s.lowWater,
      highWater: s.highWater,
      baseBackoffMs: s.redialBaseMs,
      maxBackoffMs: s.redialMaxMs,
      random: this.#random,
      trimmable: (peer) => {
        const session = options.table.open.get(peer);
        return session !== undefined && (!session.connection.outbound || this.#mine.has(peer));
      },
      group: (peer) => options.table.open.get(peer)?.connection.remoteHost ?? "",
    });
  }

  get status(): ConnectionStatus {
    const s = this.#o.settings;
    return { lowWater: s.lowWater, highWater: s.highWater, connected: this.#o.table.open.size, known: this.#o.book.size, dials: this.#dials, dialsRefused: this.#refused, trimmed: this.#trimmed };
  }

  /**
   * A peer's addresses were learnt (peer exchange, a presence, the LAN): it
   * may be dialled. `changed`: they replace the ones known (a signed record
   * with other addresses), so a peer waiting out its backoff is tried again
   * at the next check, from its first address (at most once per 10 s per
   * peer; the dial budgets apply as always).
   */
  learnt(peerId: string, changed = false): void {
    if (this.#stopped) return;
    this.#planner.learn(peerId);
    // At most once per 10 s per peer: a peer that keeps changing its addresses cannot make every node re-dial them.
    const now = this.#timers.now();
    if (changed && now - (this.#retriedAt.get(peerId) ?? -Infinity) >= RETRY_SOON_MS) {
      this.#retriedAt.set(peerId, now);
      this.#planner.retrySoon(peerId);
      this.#failed.delete(peerId);
      this.#wrong.delete(peerId);
    }
    this.#schedule();
  }

  /** The peer left the mesh (silent for a minute): forget it, unless connected. */
  forget(peerId: string): void {
    if (this.#o.table.open.has(peerId)) return;
    this.#planner.forget(peerId);
  }

  /** A link opened; `at`: when (on this manager's clock), if not now (a page's stand-in hands over the links it saw open). */
  opened(session: PeerSession, at = this.#timers.now()): void {
    const peerId = session.peerId!;
    if (this.#o.table.open.get(peerId) !== session) return;
    this.#failed.delete(peerId);
    // Reached: where the peer is now may differ from where its addresses led before.
    this.#wrong.delete(peerId);
    this.#planner.connected(peerId, at);
    this.#o.book.touch(peerId);
    this.#schedule();
  }

  ended(session: PeerSession, error: XppgError | undefined): void {
    const peerId = session.peerId;
    // A session that never opened, or one replaced by another connection: nothing changed.
    if (peerId === undefined || !session.everOpened || this.#o.table.peers.has(peerId)) return;
    this.#mine.delete(peerId);
    this.#lost(peerId, error);
    this.#schedule();
  }

  /** Remembers the address whose dial failed last, for at most {@link MAX_FAILED} peers (the oldest forgotten first). */
  #failedDial(peerId: string, address: string): void {
    this.#failed.delete(peerId);
    if (this.#failed.size >= MAX_FAILED) this.#failed.delete(this.#failed.keys().next().value!);
    this.#failed.set(peerId, address);
  }

  /** Remembers that an address of a peer reached someone else, for `redialMaxMs`; bounded per peer (the oldest forgotten first). */
  #wrongAddress(peerId: string, address: string): void {
    let wrong = this.#wrong.get(peerId);
    if (wrong === undefined) this.#wrong.set(peerId, (wrong = new Map()));
    wrong.delete(address);
    if (wrong.size >= MAX_WRONG_PER_PEER) wrong.delete(wrong.keys().next().value!);
    wrong.set(address, this.#timers.now() + this.#o.settings.redialMaxMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#timers.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #lost(peerId: string, error: XppgError | undefined): void {
    if (neverAgain(error)) {
      this.#planner.forget(peerId);
      this.#o.book.delete(peerId);
      return;
    }
    this.#planner.disconnected(peerId, this.#timers.now(), error !== undefined && DELIBERATE.has(error.code));
  }

  /** A check soon (jittered), unless one is due. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const every = this.#o.settings.checkIntervalMs;
    this.#timer = this.#timers.setTimer(every * (0.5 + this.#random()), this.#check);
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (this.#stopped || !this.#o.running()) return;
    const now = this.#timers.now();
    const plan = this.#planner.plan(now);
    for (const peerId of plan.dial) this.#dial(peerId, now);
    for (const peerId of plan.trim) {
      this.#trimmed++;
      this.#o.table.open.get(peerId)?.close(new PlaygroundError(NODE_ERROR_CODES.DISCONNECTED, ERROR_TEXTS ? `The node ${this.#o.localPeerId} has more than ${this.#o.settings.highWater} connections and closed this one; it will connect elsewhere.` : [this.#o.localPeerId, this.#o.settings.highWater]));
    }
    // Keep checking while there is something to do: below the low mark with peers to dial, or above the high mark.
    const open = this.#o.table.open.size;
    if ((open < this.#o.settings.lowWater && this.#o.book.size > 0) || open > this.#o.settings.highWater) this.#schedule();
  };

  #dial(peerId: string, now: number): void {
    const known = this.#o.book.get(peerId);
    const address = known === undefined ? undefined : this.#address(known, now);
    if (address === undefined) {
      if (known === undefined) this.#planner.forget(peerId);
      else this.#planner.disconnected(peerId, now);
      return;
    }
    this.#dials++;
    this.#mine.add(peerId);
    this.#o.book.touch(peerId);
    this.#o.dial(address, peerId, DIAL_TIMEOUT_MS).then(
      () => {
        // Joined (or it was connected already): the session is in the table, and its greeting (the turn after it opened, `greet` in rooms.ts) tells the planner.
        if (!this.#o.table.open.has(peerId)) this.#planner.disconnected(peerId, this.#timers.now());
      },
      (error: unknown) => {
        if (this.#o.table.open.has(peerId)) return;
        this.#failedDial(peerId, address);
        this.#mine.delete(peerId);
        // Another node (or this one) at that address: that address alone is dropped, the peer backs off as usual.
        if (isTyped(error) && WRONG_ADDRESS.has(error.code)) this.#wrongAddress(peerId, address);
        this.#lost(peerId, isTyped(error) ? error : undefined);
        this.#schedule();
      },
    );
  }

  /**
   * The first address of the peer this node can dial and whose budget allows
   * a dial now, starting after the one whose dial failed last: a peer behind
   * a NAT lists its LAN address before its relayed one, and the relayed one
   * must not wait until the LAN address has used up its budget. A wildcard
   * address is never dialled: it reached this node, which then forgot the
   * peer (another peer id at the address) and its relayed address with it.
   */
  #address(known: KnownPeer, now: number): string | undefined {
    const failed = known.addresses.indexOf(this.#failed.get(known.peerId) ?? "");
    const order = failed < 0 ? known.addresses : [...known.addresses.slice(failed + 1), ...known.addresses.slice(0, failed + 1)];
    const wrong = this.#wrong.get(known.peerId);
    for (const address of order) {
      if (!this.#o.canDial(address)) continue;
      const wrongUntil = wrong?.get(address);
      if (wrongUntil !== undefined) {
        if (now < wrongUntil) continue;
        wrong!.delete(address);
      }
      const target = canonicalTarget(address);
      // A wildcard listen address (`tcp://0.0.0.0:7000`, as a hello or record may carry it) would reach this host
      // itself (`isWildcardAddress`, without parsing the address twice).
      if (target !== undefined && UNSPECIFIED.has(target.host)) continue;
      if (target !== undefined && this.#budget.take(target.key, target.host, now)) return address;
      this.#refused++;
    }
    return undefined;
  }
}

/**
 * Tells a manager what a page's stand-in (`browser/connection-manager.ts`)
 * saw before it was loaded: the links open, each at the time it opened
 * (`openedAt`, by peer; now when not there), the peers in the address book
 * but for those that left the mesh (`forgotten`), and the links lost
 * meanwhile (`lost`, by peer). Here rather than in the stand-in, so that a
 * page downloads it only with the manager.
 */
export function takeOver(manager: ConnectionManager, o: Pick<ConnectionManagerOptions, "table" | "book">, openedAt: ReadonlyMap<string, number>, forgotten: { has(peerId: string): boolean }, lost: Iterable<[string, [PeerSession, XppgError | undefined]]>): void {
  for (const session of o.table.open.values()) manager.opened(session, openedAt.get(session.peerId!));
  for (const peerId of [...o.book.peerIds()]) if (!o.table.open.has(peerId) && !forgotten.has(peerId)) manager.learnt(peerId);
  for (const [, [session, error]] of lost) manager.ended(session, error);
}

/**
 * One spelling per dial target, so the dial budget counts `tcp://VICTIM:080`,
 * `tcp://victim:80` and `tcp://127.1:80` / `tcp://127.0.0.1:80` as the same
 * address and host: the host read as a URL host (lowercased, IPv4 and IPv6
 * literals in their standard form), the port as a number. Undefined for an
 * address that is not `scheme://host:port`.
 */
export function canonicalTarget(address: string): { key: string; host: string } | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)/i.exec(address);
  if (m === null) return undefined;
  try {
    const url = new URL(`http://${m[2]!}`);
    const port = url.port === "" ? "80" : url.port;
    if (url.hostname === "") return undefined;
    return { key: `${m[1]!.toLowerCase()}://${url.hostname}:${port}`, host: url.hostname.replace(/^\[|\]$/g, "") };
  } catch {
    return undefined;
  }
}

/**
 * True for an address on a wildcard host (`tcp://0.0.0.0:7337`, `tcp://[::]:7337`,
 * `tcp://[::ffff:0.0.0.0]:7337`, in any spelling), as a node listening on every
 * interface lists it: a dial to one reaches the dialling host itself, so it
 * is never dialled nor advertised.
 */
export function isWildcardAddress(address: string): boolean {
  const target = canonicalTarget(address);
  return target !== undefined && UNSPECIFIED.has(target.host);
}

/** The host part of an address (`tcp://[::1]:7337` → `::1`); the whole address when it has none. */
export function hostOf(address: string): string {
  try {
    const url = new URL(address);
    return url.hostname.replace(/^\[|\]$/g, "") || address;
  } catch {
    return address;
  }
}

function isTyped(error: unknown): error is XppgError {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}
