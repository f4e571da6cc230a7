/** Scheduling helpers of state sync: a node-wide limit on snapshot sends, and turns of the event loop. */

import { nextTurn } from "./next-turn.js";

/** Resolves on the next turn of the event loop. */
export const nextTurnOfLoop = (): Promise<void> => new Promise((resolve) => nextTurn(resolve));

/** True when `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
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

