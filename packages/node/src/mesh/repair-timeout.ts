/**
 * How long a broadcast tree node waits, after hearing of a message it
 * lacks, before it grafts the announcer (Plumtree's timeout 1).
 *
 * A fixed wait is wrong under load: when the tree path is slower than the
 * wait (a busy node, a long queue), every node grafts although the tree is
 * whole, the message is then pulled twice, the graft makes a new tree link
 * and the late copy prunes an old one, so the tree churns and costs more
 * than flooding. The wait therefore follows the lag this node observes
 * between an announcement and the tree's copy of the same message, as
 * TCP's retransmission timer follows the round trip (RFC 6298, section 2:
 * smoothed mean plus four mean deviations), within `[minMs, maxMs]`. The
 * samples are the messages whose announcement came before their tree copy
 * (a tree copy that came first gives no sample), including copies that came
 * after this node had grafted for them: the slow cases, which are the ones
 * the wait must cover. `maxMs` bounds how long a real break takes to repair.
 */
export class RepairTimeout {
  readonly minMs: number;
  readonly maxMs: number;
  #mean = -1;
  #deviation = 0;

  constructor(minMs: number, maxMs: number) {
    this.minMs = minMs;
    this.maxMs = Math.max(minMs, maxMs);
  }

  /** The wait now. */
  get ms(): number {
    if (this.#mean < 0) return this.minMs;
    return Math.min(this.maxMs, Math.max(this.minMs, this.#mean + 4 * this.#deviation));
  }

  /** A tree copy came `lagMs` after the first announcement of its message. */
  sample(lagMs: number): void {
    // A lag past the bound says no more than the bound does, and must not hold the estimate up for long.
    const lag = Math.min(Math.max(0, lagMs), 1.5 * this.ms);
    if (this.#mean < 0) {
      this.#mean = lag;
      this.#deviation = lag / 2;
      return;
    }
    this.#deviation = 0.75 * this.#deviation + 0.25 * Math.abs(this.#mean - lag);
    this.#mean = 0.875 * this.#mean + 0.125 * lag;
  }
}
