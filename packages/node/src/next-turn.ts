/**
 * Node's `#next-turn` (a page's build takes `browser/next-turn.ts` instead):
 * turns of the event loop (`setImmediate`, see `turns.ts`), random values
 * from the crypto provider, and end-of-tick flushes on `process.nextTick`.
 */

import { cryptoProvider } from "@xppg/secure";
import type { Connection } from "@xppg/transport";
import { toHex } from "./turns.js";

export { nextTurn } from "./turns.js";

/**
 * True where a peer's slice of a turn may run on past its guaranteed
 * envelopes while the node's turn has time left (`BundleReader`, timed by
 * the packages' clock). A page's build has exact slices and reads no clock.
 */
export const LONG_SLICES = true;

// The crypto provider's random bytes (libsodium's with the `sodium` provider): neither `node:crypto`, whose load
// costs about 3 to 4 ms of CPU in a fresh process that otherwise makes its first connection without it, nor
// `globalThis.crypto`, whose first use loads WebCrypto's modules, about 0.7 ms more (issue 15).

/** Fills `array` with random values from `@xppg/secure`'s crypto provider. */
export function randomFill<T extends Uint8Array | Uint32Array>(array: T): T {
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(cryptoProvider.randomBytes(array.byteLength));
  return array;
}

/** `byteCount` random bytes as hex. */
export function randomHex(byteCount: number): string {
  return toHex(randomFill(new Uint8Array(byteCount)));
}

/**
 * A paused connection stops reading its socket (`BundleReader.endTurnAfter`
 * pauses the peer past `END_TURN_HELD_BYTES`): in Node. A page's WebSocket
 * queues what the network brings whether paused or not, so a page keeps it
 * in the reader for that one turn.
 */
export const PAUSE_STOPS_READS = true;

/** A connection may end a layer's tick at its own (`Connection.atTickEnd`): in Node (a page's connections never do). */
export const TICK_END_AT_CONNECTION = true;

const tickEnd: (fn: () => void) => void =
  typeof process !== "undefined" && typeof process.nextTick === "function" ? (fn) => process.nextTick(fn) : (fn) => queueMicrotask(fn);

/**
 * Runs `fn` at the end of the current tick: after the caller's synchronous
 * work, before I/O. With `owner`, at the end of its connection's tick
 * when one is open (`Connection.atTickEnd`: one callback ends the tick for
 * both), else on `process.nextTick`.
 */
export function endOfTick(fn: () => void, owner?: { readonly connection: Pick<Connection, "atTickEnd"> }): void {
  if (owner?.connection.atTickEnd?.(fn) !== true) tickEnd(fn);
}

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } }).Buffer;

/** Memory for a large bundle that is written whole before it is sent: `Buffer.allocUnsafeSlow` (no zero-filling, outside Node's pool). */
export function allocateLarge(size: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(size);
  const b = NodeBuffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}
