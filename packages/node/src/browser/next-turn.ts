/**
 * The browser's `#next-turn` (Node's is `../next-turn.ts`): a page has no
 * `setImmediate` and no `node:crypto`, so its turns are `MessageChannel`
 * tasks (made on the first one; `setImmediate` where the runtime has it,
 * see `turns.ts`) and its random values `crypto.getRandomValues` (which,
 * unlike `randomUUID`, pages served over plain http have too).
 */

import { toHex } from "../turns.js";

export { nextTurn } from "../turns.js";

/** A page reads exact slices (see Node's `LONG_SLICES`): false lets the bundler leave the clock out. */
export const LONG_SLICES = false;

/** A page's WebSocket queues what the network brings, paused or not (see Node's `PAUSE_STOPS_READS`): the reader's bound on its one-turn wait is left out. */
export const PAUSE_STOPS_READS = false;

/** A page's connections offer no end of tick of their own (`Connection.atTickEnd`): the outbox's code for it is left out of the page. */
export const TICK_END_AT_CONNECTION = false;

/** Runs `fn` at the end of the current task (a microtask): after the caller's synchronous work. A page's connections offer no end of tick of their own (`Connection.atTickEnd`): the second argument is not read (`queueMicrotask` ignores it). */
export const endOfTick: (fn: () => void, owner?: unknown) => void = queueMicrotask;

/** Fills `array` with random values. */
export function randomFill<T extends Uint8Array | Uint32Array>(array: T): T {
  return globalThis.crypto.getRandomValues(array);
}

/** `byteCount` random bytes as hex. */
export function randomHex(byteCount: number): string {
  return toHex(randomFill(new Uint8Array(byteCount)));
}

/** Memory for a large bundle (a page has no `Buffer`: a plain, zero-filled `Uint8Array`). */
export function allocateLarge(size: number): Uint8Array {
  return new Uint8Array(size);
}
