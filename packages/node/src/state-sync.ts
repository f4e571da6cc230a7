import { isXppgError, type XppgError } from "@xppg/errors";
import { STATE_ERROR_CODES, type Replica } from "@xppg/state";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { KIND, isRecord } from "./protocol.js";
import type { PeerSession } from "./peer-session.js";

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
}

/**
 * Replica errors about this node's own replica, not the peer's update: it is
 * full (`maxKeys`, `maxTotalSize`; an honest peer with a large state meets
 * that), or its change listener or merge function threw. Reported, and the
 * peer stays; no strike.
 */
export const LOCAL_STATE_ERROR_CODES: ReadonlySet<string> = new Set([
  STATE_ERROR_CODES.TOO_MANY_KEYS,
  STATE_ERROR_CODES.TOO_LARGE,
  STATE_ERROR_CODES.LISTENER_FAILED,
  STATE_ERROR_CODES.MERGE_FAILED,
]);

interface Waiter {
  session: PeerSession;
  resolve: () => void;
  reject: (error: PlaygroundError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Room for the envelope around an update piece. */
const ENVELOPE_ROOM = 1024;
const MAX_REQUEST_ID = 2 ** 31;

/**
 * Carries a {@link Replica} between peers without knowing its merge rules:
 * a snapshot to each peer on join and on request, then (by default) deltas
 * of every change, local or learnt, batched per event-loop tick. Changes
 * learnt from one peer are forwarded to the others, so a chain of peers
 * converges; a replica ignores what it already has, which ends the echo.
 *
 * Wire: `xppg/state` `{ update, reply?, last? }`, `xppg/state-request` `{ rid }`.
 */
export class StateSync {
  readonly #state: Replica;
  readonly #host: StateSyncHost;
  readonly #waiters = new Map<number, Waiter>();
  /** Peers being answered, with the request that came in meanwhile (0 for none). */
  readonly #answering = new Map<PeerSession, number>();
  #nextRid = 1;
  #sentSeq: number;
  #flushScheduled = false;
  #off: () => void;

  constructor(state: Replica, host: StateSyncHost) {
    this.#state = state;
    this.#host = host;
    this.#sentSeq = state.seq;
    this.#off = host.auto ? state.on("change", () => this.#schedule()) : () => {};
  }

  #pieces(update: ReturnType<Replica["snapshot"]>): ReturnType<Replica["snapshot"]>[] {
    return this.#state.splitUpdate(update, { maxBytes: Math.max(1024, this.#host.maxFrameSize - ENVELOPE_ROOM) });
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const delta = this.#state.delta(this.#sentSeq);
      this.#sentSeq = delta.seq;
      for (const update of this.#pieces(delta)) this.#host.broadcast(KIND.STATE, { update });
    });
  }

  /** A peer completed its handshake: send it everything. */
  peerJoined(session: PeerSession): void {
    void this.push(session);
  }

  /** Sends the whole state to one peer, a piece at a time (each send awaited: a slow peer slows this down). */
  async push(session: PeerSession, reply?: number): Promise<void> {
    const pieces = this.#pieces(this.#state.snapshot());
    for (let i = 0; i < pieces.length; i++) {
      if (session.isClosed) return;
      await session.sendMessage(KIND.STATE, reply === undefined ? { update: pieces[i] } : { update: pieces[i], reply, last: i === pieces.length - 1 });
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

  /** Asks a peer for its state; resolves once its answer is merged. */
  request(session: PeerSession, timeoutMs: number): Promise<void> {
    const rid = this.#nextRid;
    this.#nextRid = this.#nextRid >= MAX_REQUEST_ID ? 1 : this.#nextRid + 1;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(rid);
        reject(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, `The peer ${session.peerId} did not send its state within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.#waiters.set(rid, { session, resolve, reject, timer });
      void session.sendMessage(KIND.STATE_REQUEST, { rid });
    });
  }

  /** Handles `xppg/state` and `xppg/state-request`; throws a typed error for bad input (the peer is dropped). */
  handle(session: PeerSession, kind: string, payload: unknown): void {
    if (!isRecord(payload)) throw malformed(session, kind, "not an object");
    if (kind === KIND.STATE_REQUEST) {
      const { rid } = payload;
      if (typeof rid !== "number" || !Number.isInteger(rid) || rid < 1 || rid > MAX_REQUEST_ID) throw malformed(session, kind, "bad request id");
      // One snapshot answer in flight per peer; requests meanwhile are folded
      // into one more answer (to the latest): a flood costs two snapshots, not one each.
      if (this.#answering.has(session)) {
        this.#answering.set(session, rid);
        return;
      }
      this.#answer(session, rid);
      return;
    }
    const { update, reply, last } = payload;
    try {
      this.#state.apply(update, session.peerId);
    } catch (error) {
      if (isXppgError(error) && LOCAL_STATE_ERROR_CODES.has(error.code)) {
        this.#host.report(error, session.peerId);
      } else {
        // The peer sent an update this replica refuses: it is dropped with the replica's reason.
        if (isXppgError(error)) throw error;
        throw malformed(session, kind, String(error));
      }
    }
    if (typeof reply === "number" && last === true) {
      const waiter = this.#waiters.get(reply);
      if (waiter !== undefined && waiter.session === session) {
        this.#waiters.delete(reply);
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
    }
  }

  /** A peer left: its pending requests fail. */
  peerLeft(session: PeerSession): void {
    for (const [rid, w] of this.#waiters) {
      if (w.session !== session) continue;
      this.#waiters.delete(rid);
      clearTimeout(w.timer);
      w.reject(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, `The peer ${session.peerId} left before sending its state.`));
    }
  }

  close(): void {
    this.#off();
    for (const w of this.#waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new PlaygroundError(NODE_ERROR_CODES.STOPPED, "The node stopped before the state arrived."));
    }
    this.#waiters.clear();
  }
}

function malformed(session: PeerSession, kind: string, why: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent a malformed "${kind}" message (${why}). It is disconnected.`);
}
