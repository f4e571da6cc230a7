import { BoundedMap } from "./bounded-map.js";

/**
 * How long a broadcast tree node waits, after hearing of a message it
 * lacks, before it grafts the announcer (Plumtree's timeout 1), per tree
 * parent.
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
 *
 * The lag is learnt per parent (the neighbour the tree copy came from), as
 * TCP keeps one timer per connection: one slow or overloaded parent must
 * not make this node wait up to `maxMs` for the origins whose parent is
 * another, healthy neighbour. A parent with no sample yet gets `minMs`. At
 * most `maxParents` parents are remembered (the least recently sampled is
 * forgotten first), and a neighbour's estimate goes with its link.
 */
export class RepairTimeout {
  readonly minMs: number;
  readonly maxMs: number;
  readonly #estimates: BoundedMap<string, LagEstimate>;

  constructor(minMs: number, maxMs: number, maxParents = 256) {
    this.minMs = minMs;
    this.maxMs = Math.max(minMs, maxMs);
    this.#estimates = new BoundedMap(maxParents);
  }

  /** The wait now for a message whose tree copy is expected from `parent`. */
  ms(parent: string): number {
    const e = this.#estimates.get(parent);
    if (e === undefined) return this.minMs;
    return Math.min(this.maxMs, Math.max(this.minMs, e.mean + 4 * e.deviation));
  }

  /** A tree copy came from `parent` `lagMs` after the first announcement of its message. */
  sample(parent: string, lagMs: number): void {
    // A lag past the bound says no more than the bound does, and must not hold the estimate up for long.
    const lag = Math.min(Math.max(0, lagMs), 1.5 * this.ms(parent));
    const e = this.#estimates.get(parent);
    if (e === undefined) {
      this.#estimates.set(parent, { mean: lag, deviation: lag / 2 });
      return;
    }
    e.deviation = 0.75 * e.deviation + 0.25 * Math.abs(e.mean - lag);
    e.mean = 0.875 * e.mean + 0.125 * lag;
    this.#estimates.touch(parent);
  }

  /** The link to `parent` closed: what was learnt of it goes with it. */
  forget(parent: string): void {
    this.#estimates.delete(parent);
  }

  /** How many parents have an estimate. */
  get size(): number {
    return this.#estimates.size;
  }
}

interface LagEstimate {
  mean: number;
  deviation: number;
}
