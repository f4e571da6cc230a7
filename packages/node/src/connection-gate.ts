/**
 * The connection gate: every connection, inbound or dialled, passes here.
 * It refuses banned hosts and sheds load past the pending-handshake limit
 * (in all, and per remote host: `handshake-slots.ts`),
 * wraps the connection in the secure channel (unless encryption is off),
 * and starts the xppg handshake under one deadline for both handshakes.
 */

import { ERROR_TEXTS, isXppgError, now as nowMs, type XppgError } from "@xppg/errors";
import { secureConnection, type Identity } from "@xppg/secure";
import type { Connection } from "@xppg/transport";
import { closeGuarded } from "@xppg/transport/adapter";
import { MISUSE_CHECKS } from "#host";
import { hostKey, type AbuseGuard } from "./abuse-guard.js";
import { TurnChecks } from "./bundle-reader.js";
import { asHandlerError } from "./dispatcher.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { BUNDLE_LENGTH_BYTES, PeerSession, type SessionHost, type SessionLimits } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import { QueueBudget } from "./queue-budget.js";
import { HandshakeSlots } from "./handshake-slots.js";
import type { ResolvedLimits } from "./resolved-options.js";
import { TokenBucket } from "./token-bucket.js";

export interface GateOptions {
  readonly identity: Identity;
  readonly encrypted: boolean;
  readonly limits: Readonly<ResolvedLimits>;
  /** The largest envelope. */
  readonly maxEnvelopeSize: number;
  readonly table: PeerTable;
  readonly guard: AbuseGuard;
  readonly sessionHost: SessionHost;
  /** True while the node runs: connections arriving otherwise are closed. */
  running(): boolean;
  /** Counts a connection refused for a ban. */
  refused(): void;
  /** Sockets the listeners hold before handing them over (`Listener.pendingConnections`): they count against `maxPendingHandshakes` too. */
  heldByListeners(): number;
  report(error: XppgError, peerId: string | undefined): void;
}

/** Where a dialled connection came from: `join`'s arguments. */
export interface DialIntent {
  /** The peer id `join` expects. */
  readonly expectedPeerId?: string | undefined;
  /** `join`'s own bound, when shorter than the handshake timeout. */
  readonly timeoutMs?: number | undefined;
}

export class ConnectionGate {
  readonly #o: GateOptions;
  /** Raw connections whose secure handshake is in flight (not yet sessions). */
  readonly #securing = new Set<Connection>();
  /** Inbound connections in a handshake (secure or xppg), in all and per host. */
  readonly #slots: HandshakeSlots;
  readonly #sessionLimits: Omit<SessionLimits, "handshakeStartedAt" | "handshakeTimeoutMs">;

  constructor(options: GateOptions) {
    this.#o = options;
    const l = options.limits;
    this.#slots = new HandshakeSlots(l.maxPendingHandshakes, l.maxPendingHandshakesPerHost);
    this.#sessionLimits = {
      messagesPerSecond: l.messagesPerSecond,
      messageBurst: l.messageBurst,
      bytesPerSecond: l.bytesPerSecond,
      byteBurst: l.byteBurst,
      checks: new TurnChecks(),
      // One budget for every session's queue: the node-wide bound on bytes waiting for peers.
      queue: { maxQueuedBytes: l.maxQueuedBytesPerPeer, writeStallTimeoutMs: l.writeStallTimeoutMs, budget: new QueueBudget(l.maxQueuedBytes) },
    };
  }

  /** Takes an inbound connection from a listener. */
  accept(conn: Connection): void {
    if (!this.#o.running()) {
      if (MISUSE_CHECKS) closeUntaken(conn, this.#o);
      else void conn.close();
      return;
    }
    const host = hostKey(conn.remoteHost);
    if (this.#o.guard.banned(`host:${host}`) !== undefined) {
      // A banned host gets no handshake at all.
      this.#o.refused();
      if (MISUSE_CHECKS) closeUntaken(conn, this.#o);
      else void conn.close();
      return;
    }
    const slot = this.#slots.take(host, this.#o.heldByListeners());
    if (typeof slot === "string") {
      // Too many half-open connections (from this host, or in all): shed load without spending a handshake on it.
      if (MISUSE_CHECKS) closeUntaken(conn, this.#o);
      else void conn.close();
      const why =
        slot === "host"
          ? `${this.#slots.takenBy(host)} handshakes from ${host} are already pending (limits.maxPendingHandshakesPerHost)`
          : `${this.#slots.taken} handshakes are already pending (limits.maxPendingHandshakes)`;
      this.#o.report(new PlaygroundError(NODE_ERROR_CODES.TOO_MANY_PEERS, ERROR_TEXTS ? `Dropped a connection from ${conn.remoteAddress}: ${why}.` : [conn.remoteAddress]), undefined);
      return;
    }
    void this.open(conn).then(
      // The slot is held until both handshakes complete or fail.
      (session) => session.ready.then(slot.release, slot.release),
      (error: unknown) => {
        slot.release();
        // An inbound handshake that failed: nobody else will hear of it.
        // No strike: before the handshake completes nobody is proved, and an on-path attacker could cause this.
        if (this.#o.running()) this.#o.report(isXppgError(error) ? error : asHandlerError(error, ERROR_TEXTS ? "the secure handshake" : []), undefined);
      },
    );
  }

  /**
   * Secures the connection (unless encryption is off), then starts the xppg
   * handshake on it. Rejects with the secure handshake's error (the
   * connection is closed by then), or `XPPG_ERR_STOPPED` when the node stopped meanwhile.
   */
  async open(conn: Connection, intent: DialIntent = {}): Promise<PeerSession> {
    const handshakeTimeoutMs = Math.min(this.#o.limits.handshakeTimeoutMs, intent.timeoutMs ?? Infinity);
    // One deadline for the secure and the xppg handshake together: a pending slot is held at most this long.
    const handshakeStartedAt = nowMs();
    let channel: Connection = conn;
    let authenticated: string | undefined;
    const expectedPeerId = intent.expectedPeerId;
    if (this.#o.encrypted) {
      this.#securing.add(conn);
      try {
        const secure = await secureConnection(conn, {
          identity: this.#o.identity,
          handshakeTimeoutMs,
          maxFrameSize: this.#o.maxEnvelopeSize + BUNDLE_LENGTH_BYTES,
          ...(expectedPeerId !== undefined ? { expectedPeerId } : {}),
        });
        channel = secure;
        authenticated = secure.remotePeerId;
      } finally {
        this.#securing.delete(conn);
      }
    }
    if (!this.#o.running()) {
      if (MISUSE_CHECKS) closeUntaken(channel, this.#o);
      else void channel.close();
      throw new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? "join() cannot run: this node was stopped. Create a new Playground." : []);
    }
    const session = new PeerSession(
      channel,
      this.#o.sessionHost,
      { ...this.#sessionLimits, handshakeTimeoutMs, handshakeStartedAt },
      { authenticatedPeerId: authenticated, expectedPeerId },
    );
    const l = this.#o.limits;
    if (l.broadcastsPerSecond > 0 && Number.isFinite(l.broadcastsPerSecond)) session.broadcastBucket = new TokenBucket(l.broadcastsPerSecond, l.broadcastBurst);
    this.#o.table.sessions.add(session);
    return session;
  }

  /** Ends the secure handshakes in flight (the node stops): now, not at their timeout. */
  closePending(): void {
    for (const conn of this.#securing) {
      if (MISUSE_CHECKS) closeUntaken(conn, this.#o);
      else void conn.close();
    }
  }

}

/**
 * Closes a connection no session took (Node's: a page closes it plainly and
 * saves the bytes). A transport's `close` that throws or rejects (a broken
 * contract) is reported as `XPPG_ERR_TRANSPORT_CONTRACT`, not thrown into
 * the caller nor left an unhandled rejection.
 */
export function closeUntaken(conn: Connection, o: { report(error: XppgError, peerId: undefined): void }): void {
  void closeGuarded(conn, undefined, (broken) => o.report(broken, undefined));
}
