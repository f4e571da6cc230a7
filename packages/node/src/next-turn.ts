/**
 * Turns of the event loop, in Node and in browsers. Node has `setImmediate`;
 * a page does not, and its `setTimeout(fn, 0)` is clamped to 4 ms once
 * nested, which would slow every sliced read and state send to a crawl. A
 * `MessageChannel` message is the browser's own next-turn task.
 */

import { channelTurns, toHex, type Task } from "./turns.js";

/** Runs `fn` on a later turn of the event loop (`setImmediate` in Node, a `MessageChannel` task in browsers). */
// Node's own setImmediate, unwrapped: the bundle reader calls it per turn.
export const nextTurn: (fn: Task) => void = typeof setImmediate === "function" ? setImmediate : channelTurns();

// In Node, node:crypto (already loaded by every node): the first use of
// `globalThis.crypto` loads WebCrypto's modules, about 0.7 ms of a fresh
// process's start (issue 15). A page has no `process` and takes `crypto.getRandomValues`.
const nodeCrypto = typeof process === "object" && typeof process.getBuiltinModule === "function" ? process.getBuiltinModule("node:crypto") : undefined;

/** Fills `array` with random values: node:crypto's `randomFillSync` in Node, `crypto.getRandomValues` in a page (which, unlike `randomUUID`, pages served over plain http have too). */
export function randomFill<T extends Uint8Array | Uint32Array>(array: T): T {
  return nodeCrypto !== undefined ? nodeCrypto.randomFillSync(array) : globalThis.crypto.getRandomValues(array);
}

/** `byteCount` random bytes as hex. */
export function randomHex(byteCount: number): string {
  return toHex(randomFill(new Uint8Array(byteCount)));
}

/** Runs `fn` at the end of the current tick (`process.nextTick`): after the caller's synchronous work, before I/O. */
export const endOfTick: (fn: () => void) => void =
  typeof process !== "undefined" && typeof process.nextTick === "function" ? (fn) => process.nextTick(fn) : (fn) => queueMicrotask(fn);
