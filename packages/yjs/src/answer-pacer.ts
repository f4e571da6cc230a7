import { now } from "@xppg/errors";
import { AnswerBudget, type BudgetTurn } from "./answer-budget.js";

/** What `answer` did: the bytes it encoded, and a promise that settles when the transports have taken them. */
export interface Answered {
  readonly encoded: number;
  readonly taken: Promise<void>;
}

/** A peer with an answer in flight or an interval not yet ended, and the ask that came meanwhile. */
interface PeerAnswers {
  /** The latest ask not yet answered (a copy: the message's bytes are a view into a reused read buffer). */
  waiting: Uint8Array | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Its turn while it waits for the node-wide budget; the latest ask is answered when the turn comes. */
  turn: BudgetTurn | undefined;
}

/**
 * Paces the answers to one document's sync step 1, per peer: each ask costs
 * an encoding of the document and its upload, so a peer may have at most one
 * answer in flight and one per `intervalMs`. Asks that come meanwhile are
 * coalesced: the latest is answered when the interval ends, against the
 * document as it is then, so an honest peer that asks again still gets
 * everything, only later. y-protocols' `readSyncStep1` answers every ask at
 * once; this bounds what a peer asking in a loop can make a node do.
 * Every answer also waits for the node-wide {@link AnswerBudget} (shared by
 * the documents of one Playground); asks that come while it waits are
 * coalesced the same way.
 */
export class AnswerPacer {
  readonly #intervalMs: number;
  readonly #answer: (peerId: string, vector: Uint8Array) => Answered;
  readonly #budget: AnswerBudget;
  readonly #peers = new Map<string, PeerAnswers>();

  /** `answer` encodes and sends one answer; `budget` is shared with the other documents of the node (none by default). */
  constructor(intervalMs: number, answer: (peerId: string, vector: Uint8Array) => Answered, budget = new AnswerBudget(Number.POSITIVE_INFINITY)) {
    this.#intervalMs = intervalMs;
    this.#answer = answer;
    this.#budget = budget;
  }

  /** A peer's ask, with its state vector (already checked): answered now, or coalesced into the next answer. */
  ask(peerId: string, vector: Uint8Array): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined) {
      const fresh: PeerAnswers = { waiting: vector.slice(), timer: undefined, turn: undefined };
      this.#peers.set(peerId, fresh);
      this.#queue(peerId, fresh);
    } else {
      peer.waiting = vector.slice();
    }
  }

  /** A peer left: what it asked is not answered, and its turn in the budget is given up. */
  forget(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined) return;
    clearTimeout(peer.timer);
    if (peer.turn !== undefined) this.#budget.cancel(peer.turn);
    this.#peers.delete(peerId);
  }

  /** Stops every pending answer. */
  clear(): void {
    for (const peerId of [...this.#peers.keys()]) this.forget(peerId);
  }

  #queue(peerId: string, peer: PeerAnswers): void {
    const turn: BudgetTurn = { peerId, start: () => this.#run(peerId, peer) };
    peer.turn = turn;
    this.#budget.request(turn);
  }

  /** Answers the latest ask; returns the bytes encoded. */
  #run(peerId: string, peer: PeerAnswers): number {
    peer.turn = undefined;
    const vector = peer.waiting!;
    peer.waiting = undefined;
    // A monotonic clock: a wall clock set back (NTP, a resumed machine) would stretch the wait by as much.
    const started = now();
    const settled = (): void => {
      if (this.#peers.get(peerId) !== peer) return; // forgotten meanwhile
      peer.timer = setTimeout(() => this.#next(peerId, peer), Math.max(0, this.#intervalMs - (now() - started)));
      // A pending answer must not keep a process alive (in browsers timers have no unref).
      peer.timer.unref?.();
    };
    const { encoded, taken } = this.#answer(peerId, vector);
    taken.then(settled, settled);
    return encoded;
  }

  #next(peerId: string, peer: PeerAnswers): void {
    peer.timer = undefined;
    if (peer.waiting === undefined) {
      // Idle: an entry lives only while a peer asks, so peers reached through others leave none behind.
      this.#peers.delete(peerId);
      return;
    }
    this.#queue(peerId, peer);
  }
}
