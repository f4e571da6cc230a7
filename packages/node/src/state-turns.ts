/** Scheduling helpers of state sync: a node-wide limit on snapshot sends, and turns of the event loop. */

import { nextTurn } from "#next-turn";

/** Resolves on the next turn of the event loop. */
export const nextTurnOfLoop = (): Promise<void> => new Promise((resolve) => nextTurn(resolve));

/**
 * True when `promise` settles within `ms` of this node's running time,
 * false once it has not (a rejection passes through).
 *
 * The time counts in ticks of a quarter of `ms`, one tick for each timer
 * that fires, so a pause of the node's own event loop (a loaded machine, a
 * long task) counts as one tick, not as its length. After such a pause
 * timers run before the I/O that came in meanwhile: a single timer of `ms`
 * would judge the promise before reading what settles it.
 */
export function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  const TICKS = 4;
  return new Promise<boolean>((resolve, reject) => {
    let ticks = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = (): void => {
      if (++ticks >= TICKS) resolve(false);
      else timer = setTimeout(tick, ms / TICKS);
    };
    timer = setTimeout(tick, ms / TICKS);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A counting semaphore: at most `size` holders, the rest wait in order. */
export class Turns {
  #free: number;
  readonly #queue: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }
  give(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

