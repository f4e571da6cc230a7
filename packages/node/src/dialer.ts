/**
 * The dialer: `join`'s way to a peer. It dials, hands the connection to the
 * gate, and waits for the handshake within one deadline; when two
 * connections to one peer raced, it answers with the one that was kept.
 */

import { ERROR_TEXTS, isXppgError, now as nowMs, type XppgError } from "@xppg/errors";
import type { AbuseGuard } from "./abuse-guard.js";
import { bannedError } from "./bans.js";
import { abortError, raceAbort } from "./call-checks.js";
import { closeUntaken, type ConnectionGate } from "./connection-gate.js";
import { MISUSE_CHECKS } from "#host";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerInfo, PeerTable } from "./peer-table.js";
import type { TransportSet } from "./transport-set.js";

export interface DialerOptions {
  readonly transports: TransportSet;
  readonly gate: ConnectionGate;
  readonly table: PeerTable;
  readonly guard: AbuseGuard;
  /** Where a connection whose `close` broke its contract is reported (Node's only). */
  readonly report?: (error: XppgError, peerId: undefined) => void;
}

/** What one join asks for, checked. */
export interface Dial {
  readonly address: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly peerId?: string | undefined;
}

/**
 * The peer id in a relayed address, `relay://host:port/p/<id>`, with the id rule of `parseRelayAddress` (relay-address.ts),
 * which a page's download does not carry: only the key a join waits on and checks the ban with; the relay transport parses the address in full.
 */
const RELAYED_PEER = /^relay:\/\/[^/]+\/p\/([A-Za-z0-9_-]{1,100})$/;

export class Dialer {
  readonly #o: DialerOptions;
  /** Joins under way to a known peer id: a second join to that peer waits for the first rather than dial again. */
  readonly #joining = new Map<string, Promise<PeerInfo>>();
  /**
   * For each dial under way, the peers whose admitted connection a join aborted by its own signal since that dial
   * started: the marks go with the dial, so none is kept between joins.
   */
  readonly #dialing = new Set<Set<string>>();

  constructor(options: DialerOptions) {
    this.#o = options;
  }

  /** Connects to `address` and completes both handshakes; resolves with the peer, rejects with why not. */
  async join(dial: Dial): Promise<PeerInfo> {
    const { table, guard } = this.#o;
    const { address, signal } = dial;
    this.#o.transports.for(address);
    if (signal?.aborted) throw abortError("join", signal);
    // Whose address it is: the one given, or the one a relayed address names. A relay may hand the circuit to
    // another node (reservations are first come, first served), so a relayed address's id is checked like a given one.
    const whose = dial.peerId ?? RELAYED_PEER.exec(address)?.[1];
    if (whose === undefined) return this.#dial(dial);
    const ban = guard.banned(`peer:${whose}`);
    if (ban !== undefined) throw bannedError(`peer ${whose}`, ban);
    // One deadline from this join's start, whether it waits for another join or dials.
    const deadline = nowMs() + dial.timeoutMs;
    for (;;) {
      // Already connected to that peer: nothing to dial.
      const open = table.open.get(whose);
      if (open !== undefined) return table.infoOf(open);
      // A join to that peer is under way (a re-join, another join by hand): its answer is this one's if it reached that peer.
      const earlier = this.#joining.get(whose);
      if (earlier === undefined) break;
      // Its failure is not this join's (it may have dialled another address, or been aborted by its own signal): then look again.
      const joined = await raceAbort(within(earlier.catch(() => undefined), deadline - nowMs(), () => joinTimeout(address, dial.timeoutMs)), signal, "join");
      if (joined?.peerId === whose) return joined;
    }
    const joining = this.#dial({ ...dial, peerId: whose, timeoutMs: Math.max(1, Math.round(deadline - nowMs())) });
    this.#joining.set(whose, joining);
    try {
      return await joining;
    } finally {
      // A later join may have taken the entry over meanwhile.
      if (this.#joining.get(whose) === joining) this.#joining.delete(whose);
    }
  }

  /** Marks of joins aborted after their handshake that the dials under way hold (none once no dial is under way). */
  get abortMarks(): number {
    let n = 0;
    for (const marks of this.#dialing) n += marks.size;
    return n;
  }

  async #dial(dial: Dial, again = true): Promise<PeerInfo> {
    const aborted = new Set<string>();
    this.#dialing.add(aborted);
    try {
      return await this.#attempt(dial, aborted, again);
    } finally {
      this.#dialing.delete(aborted);
    }
  }

  async #attempt({ address, timeoutMs, signal, peerId }: Dial, aborted: ReadonlySet<string>, retry: boolean): Promise<PeerInfo> {
    const { table, gate } = this.#o;
    const transport = this.#o.transports.for(address);
    const started = nowMs();
    const conn = await transport.dial(address, { timeoutMs, ...(signal ? { signal } : {}) });
    const session = await raceAbort(gate.open(conn, { expectedPeerId: peerId, timeoutMs }), signal, "join", (late) => late.close(), () => (MISUSE_CHECKS ? closeUntaken(conn, { report: this.#o.report! }) : void conn.close()));
    const left = Math.max(1, timeoutMs - (nowMs() - started));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = (error: XppgError): void => {
      const id = session.peerId ?? session.expectedPeerId;
      if (error.code === NODE_ERROR_CODES.ABORTED && id !== undefined) for (const marks of this.#dialing) marks.add(id);
      session.close(error);
    };
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = joinTimeout(address, timeoutMs);
          giveUp(error);
          reject(error);
        }, left);
      });
      // A second connection to a peer this node is connected to waits for the peer's choice between the two.
      await raceAbort(Promise.race([session.ready.then(() => table.decided(session)), deadline]), signal, "join", undefined, () => giveUp(abortError("join", signal!)));
    } catch (error) {
      // Two connections raced and the other was kept: the peer is joined all the same.
      const id = session.peerId;
      if (isXppgError(error, NODE_ERROR_CODES.DUPLICATE_CONNECTION) && id !== undefined) {
        // The kept connection may still be finishing its own handshake.
        const kept = table.open.get(id) ?? table.peers.get(id);
        if (kept !== undefined && kept !== session && (await kept.ready.then(() => true, () => false))) return table.infoOf(kept);
        // The connection the peer kept is gone here. Only when this node's own join aborted it (not a disconnect, a ban or the peer's
        // goodbye: those end the peer on purpose), dial once more in the time left; one dial per abort.
        const again = retry && aborted.has(id);
        for (const marks of this.#dialing) marks.delete(id);
        const rest = Math.round(timeoutMs - (nowMs() - started));
        clearTimeout(timer);
        if (again && rest > 0 && signal?.aborted !== true && this.#o.guard.banned(`peer:${id}`) === undefined) return this.#dial({ address, timeoutMs: rest, signal, peerId }, false);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return table.infoOf(table.open.get(session.peerId!) ?? session);
  }
}

function joinTimeout(address: string, timeoutMs: number): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.HANDSHAKE_TIMEOUT, ERROR_TEXTS ? `Joining ${address} took longer than ${timeoutMs} ms. Check that an xppg node runs there.` : [address, timeoutMs]);
}

/** `promise`, or `late()`'s error once `ms` have passed first. */
function within<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), Math.max(0, ms))));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
