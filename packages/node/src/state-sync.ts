import { ERROR_TEXTS, isXppgError, now as nowMs, type XppgError } from "@xppg/errors";
import { STATE_ERROR_CODES, measureUpdate, type Replica, type StateUpdate } from "@xppg/state";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { DEFAULTS } from "./options.js";
import { KIND_STATE, KIND_STATE_HELLO, KIND_STATE_REQUEST, isRecord } from "./protocol.js";
import { STATE_ROWS_PER_ENVELOPE } from "./bundle-reader.js";
import type { OwnedRowChecks } from "./owned-row-checks.js";
import type { PeerSession } from "./peer-session.js";
import { nextTurn, randomHex } from "#next-turn";
import { KnownPeers, MAX_EPOCH_LENGTH } from "./state-knowledge.js";
import { Turns, nextTurnOfLoop, settlesWithin } from "./state-turns.js";
import { TokenBucket } from "./token-bucket.js";

/** Limits on how state moves between peers (`limits.*` of the Playground options; see `PlaygroundLimits` for each). */
export interface StateSyncLimits {
  /** @default 12 */
  stateRequestsPerMinute?: number;
  /** @default 8388608 (8 MiB) */
  stateBytesPerSecond?: number;
  /** @default 2 */
  maxConcurrentSnapshots?: number;
}

/** Defaults of {@link StateSyncLimits}. */
export const STATE_SYNC_DEFAULTS = {
  stateRequestsPerMinute: DEFAULTS.stateRequestsPerMinute,
  stateBytesPerSecond: DEFAULTS.stateBytesPerSecond,
  maxConcurrentSnapshots: DEFAULTS.maxConcurrentSnapshots,
} as const;

/** What state sync needs from the node. */
export interface StateSyncHost {
  /** Sends a control message to every open peer. */
  broadcast(kind: string, payload: unknown): void;
  /** Push changes as they happen. */
  auto: boolean;
  /** Largest message; updates are cut to fit. */
  maxFrameSize: number;
  /** Reports a local failure that is not the peer's fault. */
  report(error: XppgError, peerId: string | undefined): void;
  /** Limits; defaults where not given. */
  limits?: StateSyncLimits | undefined;
  /** The default replica's owned-row checks, cut into slices per turn. */
  ownedRows?: Pick<OwnedRowChecks, "applyChecked"> | undefined;
}

/**
 * Replica errors about this node's own replica, not the peer's update: it is
 * full (`maxKeys`, `maxTotalSize` or the sender's share of them; an honest peer
 * with a large state meets that), or its change listener or merge function
 * threw. Reported, and the peer stays; no strike.
 */
export const LOCAL_STATE_ERROR_CODES: ReadonlySet<string> = new Set([
  STATE_ERROR_CODES.TOO_MANY_KEYS,
  STATE_ERROR_CODES.TOO_MANY_KEYS_FROM_PEER,
  STATE_ERROR_CODES.TOO_LARGE,
  STATE_ERROR_CODES.TOO_LARGE_FROM_PEER,
  STATE_ERROR_CODES.LISTENER_FAILED,
  STATE_ERROR_CODES.MERGE_FAILED,
]);

interface Waiter {
  session: PeerSession;
  resolve: () => void;
  reject: (error: XppgError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The first piece of the answer this replica could not hold: the request rejects with it. */
  failed?: XppgError;
}

/** Per-peer accounting: its requests, and the snapshot bytes it may still be sent now. */
interface PeerBudget {
  requests: TokenBucket;
  bytes: number;
  at: number;
}

/** Room for the envelope around an update piece. */
const ENVELOPE_ROOM = 1024;
const MAX_REQUEST_ID = 2 ** 31;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A snapshot send whose peer has not taken a piece in this long (of this node's running time) gives its turn to the others until it does. */
const YIELD_TURN_AFTER_MS = 1000;

/**
 * Carries a {@link Replica} between peers without knowing its merge rules:
 * a snapshot to each peer on join and on request, then (by default) deltas
 * of every change, local or learnt, batched per event-loop tick. Changes
 * learnt from one peer are forwarded to the others, so a chain of peers
 * converges; a replica ignores what it already has, which ends the echo.
 *
 * Snapshots are read and sent a slice (one message) at a time with a turn
 * of the event loop between slices, at most `maxConcurrentSnapshots` at
 * once node-wide, paced per peer by `stateBytesPerSecond`; requests are
 * limited per peer by `stateRequestsPerMinute`. Writes the replica holds
 * back for its clock are released on a timer.
 *
 * On join each side sends `xppg/state-hello` `{ epoch, have? }` (what it
 * holds of the other) and answers the other's with a delta since `have`,
 * or the whole state (see `state-knowledge.ts`).
 *
 * Wire: `xppg/state` `{ update, reply?, last?, upto?, init? }`,
 * `xppg/state-hello` `{ epoch, have?: { epoch, seq } }`, `xppg/state-request` `{ rid }`.
 */
export class StateSync {
  readonly #state: Replica;
  readonly #host: StateSyncHost;
  readonly #limits: Required<StateSyncLimits>;
  readonly #waiters = new Map<number, Waiter>();
  /** Peers being answered, with the request that came in meanwhile (0 for none). */
  readonly #answering = new Map<PeerSession, number>();
  readonly #budgets = new Map<PeerSession, PeerBudget>();
  readonly #turns: Turns;
  #nextRid = 1;
  #sentSeq: number;
  #flushScheduled = false;
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  #releaseAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #off: () => void;
  /** This run's sync epoch: a peer's "I hold your state up to seq S" counts only within one. */
  readonly #epoch = randomHex(16);
  readonly #known = new KnownPeers();

  constructor(state: Replica, host: StateSyncHost) {
    this.#state = state;
    this.#host = host;
    this.#limits = { ...STATE_SYNC_DEFAULTS };
    for (const name of Object.keys(STATE_SYNC_DEFAULTS) as (keyof StateSyncLimits)[]) {
      const value = host.limits?.[name] ?? STATE_SYNC_DEFAULTS[name];
      if (typeof value !== "number" || !(value > 0)) {
        throw new PlaygroundError(NODE_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? `The state option ${name} must be a number above 0, not ${String(value)}.` : [name, String(value)]);
      }
      this.#limits[name] = value;
    }
    this.#limits.maxConcurrentSnapshots = Math.max(1, Math.floor(this.#limits.maxConcurrentSnapshots));
    this.#turns = new Turns(this.#limits.maxConcurrentSnapshots);
    this.#sentSeq = state.seq;
    this.#off = host.auto ? state.on("change", () => this.#schedule()) : () => {};
  }

  #maxPieceBytes(): number {
    return Math.max(1024, this.#host.maxFrameSize - ENVELOPE_ROOM);
  }

  #pieces(update: ReturnType<Replica["snapshot"]>): ReturnType<Replica["snapshot"]>[] {
    return this.#state.splitUpdate(update, { maxBytes: this.#maxPieceBytes() });
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    nextTurn(() => {
      this.#flushScheduled = false;
      const delta = this.#state.delta(this.#sentSeq);
      this.#sentSeq = delta.seq;
      void this.#broadcastPieces(this.#pieces(delta), delta.seq);
    });
  }

  /** Sends the pieces of a delta to every peer, one piece per turn of the event loop (a large learnt snapshot is forwarded too). */
  async #broadcastPieces(pieces: readonly { readonly seq: number }[], upto: number): Promise<void> {
    for (let i = 0; i < pieces.length; i++) {
      if (this.#closed) return;
      if (i > 0) await nextTurnOfLoop();
      // The last piece says: with this, a peer that was in sync holds everything up to `upto`.
      this.#host.broadcast(KIND_STATE, i === pieces.length - 1 ? { update: pieces[i], upto } : { update: pieces[i] });
    }
  }

  /** A peer completed its handshake: tell it what this node holds of its state (sync step 1); it answers with what is missing. */
  peerJoined(session: PeerSession): void {
    const have = this.#known.have(session.peerId);
    void session.sendMessage(KIND_STATE_HELLO, have === undefined ? { epoch: this.#epoch } : { epoch: this.#epoch, have });
  }

  #budget(session: PeerSession): PeerBudget {
    let budget = this.#budgets.get(session);
    if (budget === undefined) {
      const perMinute = this.#limits.stateRequestsPerMinute;
      budget = { requests: new TokenBucket(perMinute / 60, perMinute), bytes: 2 * this.#limits.stateBytesPerSecond, at: nowMs() };
      // A session that already left is not tracked again (peerLeft has run).
      if (!session.isClosed) this.#budgets.set(session, budget);
    }
    return budget;
  }

  /** Waits until `bytes` more may go to this peer (`stateBytesPerSecond`, burst of two seconds' worth). */
  async #pace(session: PeerSession, bytes: number): Promise<void> {
    const budget = this.#budget(session);
    const rate = this.#limits.stateBytesPerSecond;
    for (;;) {
      const now = nowMs();
      budget.bytes = Math.min(2 * rate, budget.bytes + ((now - budget.at) * rate) / 1000);
      budget.at = now;
      // A piece larger than the whole burst still goes once the bucket is full.
      if (budget.bytes >= Math.min(bytes, 2 * rate)) {
        budget.bytes -= bytes;
        return;
      }
      const waitMs = Math.ceil(((Math.min(bytes, 2 * rate) - budget.bytes) * 1000) / rate);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (session.isClosed || this.#closed) return;
    }
  }

  /**
   * Sends the whole state to one peer, a slice at a time: each slice is read
   * from the replica, paced, sent (awaited: a slow peer slows this down),
   * then the event loop turns before the next. Waits for one of the
   * node-wide snapshot turns first.
   */
  async push(session: PeerSession, reply?: number, initial?: { since: number | undefined }): Promise<void> {
    await this.#turns.take();
    try {
      const limits = { maxBytes: this.#maxPieceBytes() };
      // Everything up to this seq is in what follows (a key changed while it is read goes out as a delta too).
      const upto = this.#state.seq;
      const since = initial?.since;
      const pieces =
        since !== undefined ? this.#pieces(this.#state.delta(since, session.peerId)) : (this.#state.snapshotPieces?.(limits) ?? this.#pieces(this.#state.snapshot()));
      const iterator = pieces[Symbol.iterator]();
      let next = iterator.next();
      while (next.done !== true) {
        if (session.isClosed || this.#closed) return;
        const piece = next.value;
        await this.#pace(session, sizeOf(piece, limits.maxBytes));
        if (session.isClosed || this.#closed) return;
        next = iterator.next();
        const last = next.done === true;
        const payload = reply !== undefined ? { update: piece, reply, last } : initial !== undefined && last ? { update: piece, upto, init: true } : { update: piece };
        const sent = session.sendMessage(KIND_STATE, payload);
        if (!(await settlesWithin(sent, YIELD_TURN_AFTER_MS))) {
          // A peer that does not read would keep the turn from everyone else: let the others go first meanwhile.
          this.#turns.give();
          try {
            await sent;
          } finally {
            await this.#turns.take();
          }
        }
        if (next.done !== true) await nextTurnOfLoop();
      }
    } finally {
      this.#turns.give();
    }
  }

  #answer(session: PeerSession, rid: number): void {
    this.#answering.set(session, 0);
    void this.push(session, rid).finally(() => {
      const next = this.#answering.get(session) ?? 0;
      this.#answering.delete(session);
      if (next !== 0 && !session.isClosed) this.#answer(session, next);
    });
  }

  /**
   * Asks a peer for its state; resolves once its answer is merged, rejects
   * with the replica's error when this replica could not hold all of it
   * (full: `XPPG_ERR_STATE_TOO_MANY_KEYS`, `..._TOO_LARGE`, `..._FROM_PEER`).
   */
  request(session: PeerSession, timeoutMs: number): Promise<void> {
    const rid = this.#nextRid;
    this.#nextRid = this.#nextRid >= MAX_REQUEST_ID ? 1 : this.#nextRid + 1;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(rid);
        reject(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, ERROR_TEXTS ? `The peer ${session.peerId} did not send its state within ${timeoutMs} ms.` : [session.peerId, timeoutMs]));
      }, timeoutMs);
      this.#waiters.set(rid, { session, resolve, reject, timer });
      void session.sendMessage(KIND_STATE_REQUEST, { rid });
    });
  }

  /** Handles `xppg/state`, `xppg/state-hello` and `xppg/state-request`; throws a typed error for bad input (the peer is dropped). */
  handle(session: PeerSession, kind: string, payload: unknown): void {
    if (!isRecord(payload)) throw malformed(session, kind, "not an object");
    if (kind === KIND_STATE_HELLO) {
      this.#hello(session, kind, payload);
      return;
    }
    if (kind === KIND_STATE_REQUEST) {
      const { rid } = payload;
      if (typeof rid !== "number" || !Number.isInteger(rid) || rid < 1 || rid > MAX_REQUEST_ID) throw malformed(session, kind, "bad request id");
      const requests = this.#budget(session).requests;
      if (!requests.take()) {
        // Each answer is the whole state: a peer asking this often is using us to amplify its traffic.
        throw new PlaygroundError(
          NODE_ERROR_CODES.RATE_LIMITED,
          ERROR_TEXTS ? `The peer ${session.peerId} asked for the whole state more than ${this.#limits.stateRequestsPerMinute} times a minute; it is disconnected. ` +
            "Raise limits.stateRequestsPerMinute if a peer should ask that often." : [session.peerId, this.#limits.stateRequestsPerMinute],
          { details: { limit: "stateRequestsPerMinute", rate: requests.rate, burst: requests.burst } },
        );
      }
      // One snapshot answer in flight per peer; requests meanwhile are folded
      // into one more answer (to the latest).
      if (this.#answering.has(session)) {
        this.#answering.set(session, rid);
        return;
      }
      this.#answer(session, rid);
      return;
    }
    const { upto } = payload;
    if (upto !== undefined && !isSeq(upto)) throw malformed(session, kind, "bad upto");
    // Each row costs as much to check and apply whether it is taken or refused: it comes out of the peer's slice of this turn.
    const entries = isRecord(payload.update) ? payload.update["entries"] : undefined;
    if (Array.isArray(entries)) session.chargeTurn(entries.length / STATE_ROWS_PER_ENVELOPE);
    const apply = (): void => this.#apply(session, kind, payload);
    // Many owned rows to check: checked over the next turns, the peer's reading held, then applied as one.
    if (this.#host.ownedRows === undefined) apply();
    else this.#host.ownedRows.applyChecked(session, entries, apply, () => this.#closed);
  }

  /** Applies a checked `xppg/state` message; throws a typed error for an update the replica refuses (the peer is dropped). */
  #apply(session: PeerSession, kind: string, payload: Record<string, unknown>): void {
    const { update, reply, last, upto, init } = payload;
    try {
      this.#state.apply(update, session.peerId);
      if (typeof upto === "number") this.#known.marked(session, upto, init === true);
    } catch (error) {
      if (isXppgError(error) && LOCAL_STATE_ERROR_CODES.has(error.code)) {
        // Not held: what this node holds of the peer is no longer known, so its next sync is whole.
        this.#known.forget(session);
        const waiter = typeof reply === "number" ? this.#waiters.get(reply) : undefined;
        // A piece of an answer to requestState: the request rejects with it (once the answer ends); else it is reported.
        if (waiter !== undefined && waiter.session === session) waiter.failed ??= error;
        else this.#host.report(error, session.peerId);
      } else {
        // The peer sent an update this replica refuses: it is dropped with the replica's reason.
        if (isXppgError(error)) throw error;
        throw malformed(session, kind, String(error));
      }
    }
    this.#armRelease();
    if (typeof reply === "number" && last === true) {
      const waiter = this.#waiters.get(reply);
      if (waiter !== undefined && waiter.session === session) {
        this.#waiters.delete(reply);
        clearTimeout(waiter.timer);
        if (waiter.failed !== undefined) waiter.reject(waiter.failed);
        else waiter.resolve();
      }
    }
  }

  /** Sync step 2: the peer said what it holds of this node's state; send what it lacks (all of it unless it names this run's epoch). */
  #hello(session: PeerSession, kind: string, payload: Record<string, unknown>): void {
    const { epoch, have } = payload;
    if (typeof epoch !== "string" || epoch.length === 0 || epoch.length > MAX_EPOCH_LENGTH) throw malformed(session, kind, "bad epoch");
    // One hello per session: each answer can be the whole state.
    if (this.#known.greeted(session)) throw malformed(session, kind, "a second hello");
    let since: number | undefined;
    if (have !== undefined) {
      if (!isRecord(have) || typeof have.epoch !== "string" || have.epoch.length > MAX_EPOCH_LENGTH || !isSeq(have.seq)) throw malformed(session, kind, "bad have");
      if (have.epoch === this.#epoch && have.seq <= this.#state.seq) since = have.seq;
    }
    this.#known.hello(session, epoch);
    void this.push(session, undefined, { since });
  }

  /** Sets a timer for the writes the replica holds back until its clock catches up (see `@xppg/state`, "Versions"). */
  #armRelease(): void {
    const until = this.#state.pendingUntil;
    if (until === undefined || this.#closed || until >= this.#releaseAt) return;
    if (this.#releaseTimer !== undefined) clearTimeout(this.#releaseTimer);
    this.#releaseAt = until;
    this.#releaseTimer = setTimeout(
      () => {
        this.#releaseTimer = undefined;
        this.#releaseAt = Number.POSITIVE_INFINITY;
        try {
          this.#state.releasePending?.();
        } catch (error) {
          // This replica could not hold them (full, or a local listener threw): not the sender's doing.
          if (isXppgError(error)) this.#host.report(error, undefined);
        }
        this.#armRelease();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, until - Date.now())),
    );
    this.#releaseTimer.unref?.();
  }

  /** A peer left: its pending requests fail. */
  peerLeft(session: PeerSession): void {
    this.#budgets.delete(session);
    for (const [rid, w] of this.#waiters) {
      if (w.session !== session) continue;
      this.#waiters.delete(rid);
      clearTimeout(w.timer);
      w.reject(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, ERROR_TEXTS ? `The peer ${session.peerId} left before sending its state.` : [session.peerId]));
    }
  }

  close(): void {
    this.#closed = true;
    this.#off();
    if (this.#releaseTimer !== undefined) clearTimeout(this.#releaseTimer);
    for (const w of this.#waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? "The node stopped before the state arrived." : []));
    }
    this.#waiters.clear();
  }
}

/** The approximate encoded size of a piece, for pacing: a `@xppg/state` update is measured, another replica's counts as a full piece. */
function sizeOf(piece: { readonly seq: number }, fallback: number): number {
  const entries = (piece as { entries?: unknown }).entries;
  return Array.isArray(entries) ? measureUpdate(piece as StateUpdate) : fallback;
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function malformed(session: PeerSession, kind: string, why: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent a malformed "${kind}" message (${why}). It is disconnected.` : [session.peerId, kind, why]);
}
