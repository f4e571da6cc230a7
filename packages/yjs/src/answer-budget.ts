import { now } from "@xppg/errors";

/** Least bytes an answer is charged: a tiny answer still costs a message (framing, encryption, a write). */
export const ANSWER_MIN_CHARGE = 1024;

/** A timer's longest delay. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** An answer waiting for the budget: `start` encodes and sends it, and returns the bytes it encoded. */
export interface BudgetTurn {
  readonly peerId: string;
  readonly start: () => number;
}

/**
 * The bytes of sync step 2 answers one node may encode per second, shared by
 * all the providers (documents) of one Playground. Per-peer pacing bounds
 * what one peer costs; a node with k documents and n peers could still be
 * made to encode k x n answers per interval, and Sybil peers multiply n. The
 * cost of an answer grows with its bytes (an encoding walks every struct it
 * writes), so the budget counts bytes: a token bucket of `bytesPerSecond`
 * that holds at most one second's worth. An answer starts while the bucket
 * holds anything and is charged what it encoded after (the size is known only
 * then), so over any `t` seconds the node encodes at most `(1 + t) x
 * bytesPerSecond` plus one answer.
 *
 * Answers over the budget wait, one queue per peer, and are served round
 * robin over peers: a peer asking for many documents in a loop waits its turn
 * behind every other peer with an answer waiting, not ahead of them.
 */
export class AnswerBudget {
  #bytesPerSecond: number;
  #tokens: number;
  #at: number;
  /** Peers with answers waiting, in serving order: a turn takes the first peer's oldest answer and moves that peer to the end. */
  readonly #waiting = new Map<string, BudgetTurn[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `bytesPerSecond`: a positive integer, or `Infinity` for no bound. */
  constructor(bytesPerSecond: number) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#tokens = bytesPerSecond;
    // A monotonic clock: a wall clock set back (NTP, a resumed machine) would stop the refill for as long.
    this.#at = now();
  }

  /** Bytes a second (`Infinity`: no bound). */
  get bytesPerSecond(): number {
    return this.#bytesPerSecond;
  }

  /** Changes the rate: what was earned so far at the old one is kept, up to a second's worth of the new one. */
  setBytesPerSecond(bytesPerSecond: number): void {
    this.#refill();
    this.#bytesPerSecond = bytesPerSecond;
    this.#tokens = Math.min(this.#tokens, bytesPerSecond);
    this.#stop();
    this.#schedule();
  }

  /** Starts `turn` now if nothing waits and the budget allows, else queues it behind the other peers' turns. */
  request(turn: BudgetTurn): void {
    if (this.#waiting.size === 0 && this.#refill() > 0) {
      this.#charge(turn.start());
      return;
    }
    const queue = this.#waiting.get(turn.peerId);
    if (queue === undefined) this.#waiting.set(turn.peerId, [turn]);
    else queue.push(turn);
    this.#schedule();
  }

  /** Drops a waiting turn (its peer left, or its provider was destroyed); a turn already started is not affected. */
  cancel(turn: BudgetTurn): void {
    const queue = this.#waiting.get(turn.peerId);
    if (queue === undefined) return;
    const at = queue.indexOf(turn);
    if (at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.#waiting.delete(turn.peerId);
    if (this.#waiting.size === 0) this.#stop();
  }

  /** Answers waiting now (for tests and figures). */
  get waiting(): number {
    let count = 0;
    for (const queue of this.#waiting.values()) count += queue.length;
    return count;
  }

  /** Drops every waiting turn and the timer. */
  clear(): void {
    this.#waiting.clear();
    this.#stop();
  }

  #refill(): number {
    if (this.#bytesPerSecond === Number.POSITIVE_INFINITY) return this.#bytesPerSecond;
    const at = now();
    this.#tokens = Math.min(this.#bytesPerSecond, this.#tokens + ((at - this.#at) * this.#bytesPerSecond) / 1000);
    this.#at = at;
    return this.#tokens;
  }

  #charge(bytes: number): void {
    if (this.#bytesPerSecond !== Number.POSITIVE_INFINITY) this.#tokens -= Math.max(bytes, ANSWER_MIN_CHARGE);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiting.size === 0) return;
    const tokens = this.#refill();
    // Until the bucket holds something again: the debt at bytesPerSecond, at least a millisecond, and at most a
    // timer's longest delay (a longer one fires after 1 ms, with a warning, and would spin until the debt is paid).
    const delay = tokens > 0 ? 0 : Math.min(MAX_TIMER_DELAY_MS, Math.max(1, Math.ceil((-tokens * 1000) / this.#bytesPerSecond)));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, delay);
    // Waiting answers must not keep a process alive (in browsers timers have no unref).
    this.#timer.unref?.();
  }

  #drain(): void {
    try {
      while (this.#waiting.size > 0 && this.#refill() > 0) {
        const [peerId, queue] = this.#waiting.entries().next().value as [string, BudgetTurn[]];
        const turn = queue.shift()!;
        // The peer goes to the end: every other peer with a turn waiting is served before its next one.
        this.#waiting.delete(peerId);
        if (queue.length > 0) this.#waiting.set(peerId, queue);
        this.#charge(turn.start());
      }
    } finally {
      // A turn that threw (an app's onError throwing) must not leave the others waiting without a timer.
      this.#schedule();
    }
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A Playground's budget, how many providers use it, and whether one of them chose its rate. */
interface Shared {
  readonly budget: AnswerBudget;
  users: number;
  chosen: boolean;
}

/** One budget per Playground, keyed by the Playground object so it goes with it. */
const shared = new WeakMap<object, Shared>();

/**
 * The budget shared by the providers of `pg`. `bytesPerSecond` undefined (the
 * option left out) joins the budget as it is, or makes one at `byDefault`. A
 * rate passed sets the rate of a budget that no provider chose yet (made by
 * default); undefined when another provider chose another rate (all providers
 * that pass one must agree). Each call that returns a budget must be matched
 * by one `releaseBudget`.
 */
export function acquireBudget(pg: object, bytesPerSecond: number | undefined, byDefault: number): AnswerBudget | undefined {
  let entry = shared.get(pg);
  if (entry === undefined) {
    entry = { budget: new AnswerBudget(bytesPerSecond ?? byDefault), users: 0, chosen: bytesPerSecond !== undefined };
    shared.set(pg, entry);
  } else if (bytesPerSecond !== undefined && bytesPerSecond !== entry.budget.bytesPerSecond) {
    if (entry.chosen) return undefined;
    entry.budget.setBytesPerSecond(bytesPerSecond);
  }
  if (bytesPerSecond !== undefined) entry.chosen = true;
  entry.users += 1;
  return entry.budget;
}

/** A provider of `pg` stopped using its budget; the last one drops it, so a later provider may set another rate. */
export function releaseBudget(pg: object, budget: AnswerBudget): void {
  const entry = shared.get(pg);
  if (entry === undefined || entry.budget !== budget) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  shared.delete(pg);
  budget.clear();
}

/** The budget of `pg`'s providers, if any holds one (for tests and figures). */
export function budgetOf(pg: object): AnswerBudget | undefined {
  return shared.get(pg)?.budget;
}
