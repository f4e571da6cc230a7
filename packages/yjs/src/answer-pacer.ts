import { now } from "@xppg/errors";

/** A peer with an answer in flight or an interval not yet ended, and the ask that came meanwhile. */
interface PeerAnswers {
  /** The latest ask that came while busy (a copy: the message's bytes are a view into a reused read buffer). */
  waiting: Uint8Array | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Paces the answers to one document's sync step 1, per peer: each ask costs
 * an encoding of the document and its upload, so a peer may have at most one
 * answer in flight and one per `intervalMs`. Asks that come meanwhile are
 * coalesced: the latest is answered when the interval ends, against the
 * document as it is then, so an honest peer that asks again still gets
 * everything, only later. y-protocols' `readSyncStep1` answers every ask at
 * once; this bounds what a peer asking in a loop can make a node do.
 */
export class AnswerPacer {
  readonly #intervalMs: number;
  readonly #answer: (peerId: string, vector: Uint8Array) => Promise<void>;
  readonly #peers = new Map<string, PeerAnswers>();

  /** `answer` encodes and sends one answer; it resolves when the transports have taken it. */
  constructor(intervalMs: number, answer: (peerId: string, vector: Uint8Array) => Promise<void>) {
    this.#intervalMs = intervalMs;
    this.#answer = answer;
  }

  /** A peer's ask, with its state vector (already checked): answered now, or coalesced into the next answer. */
  ask(peerId: string, vector: Uint8Array): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined) {
      const fresh: PeerAnswers = { waiting: undefined, timer: undefined };
      this.#peers.set(peerId, fresh);
      this.#run(peerId, fresh, vector);
    } else {
      peer.waiting = vector.slice();
    }
  }

  /** A peer left: what it asked is not answered. */
  forget(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined) return;
    clearTimeout(peer.timer);
    this.#peers.delete(peerId);
  }

  /** Stops every pending answer. */
  clear(): void {
    for (const peerId of [...this.#peers.keys()]) this.forget(peerId);
  }

  #run(peerId: string, peer: PeerAnswers, vector: Uint8Array): void {
    // A monotonic clock: a wall clock set back (NTP, a resumed machine) would stretch the wait by as much.
    const started = now();
    const settled = (): void => {
      if (this.#peers.get(peerId) !== peer) return; // forgotten meanwhile
      peer.timer = setTimeout(() => this.#next(peerId, peer), Math.max(0, this.#intervalMs - (now() - started)));
      // A pending answer must not keep a process alive (in browsers timers have no unref).
      peer.timer.unref?.();
    };
    this.#answer(peerId, vector).then(settled, settled);
  }

  #next(peerId: string, peer: PeerAnswers): void {
    peer.timer = undefined;
    const vector = peer.waiting;
    if (vector === undefined) {
      // Idle: an entry lives only while a peer asks, so peers reached through others leave none behind.
      this.#peers.delete(peerId);
      return;
    }
    peer.waiting = undefined;
    this.#run(peerId, peer, vector);
  }
}
