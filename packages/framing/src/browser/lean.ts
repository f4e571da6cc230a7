/**
 * A page's `#lean` (Node's is `../lean.ts`): no compact direct envelope. A
 * page does not offer `lean/1`, so none is sent to it and it writes none;
 * `LEAN` false lets the bundler leave every use out.
 */

import type { EncodeCache } from "../string-cache.js";

/** True where the compact layout is written and read. */
export const LEAN = false;

/** Never called in a page (`LEAN` is false). */
export function leanKindPrefix(_kind: string, _strings: EncodeCache): Uint8Array | null {
  return null;
}

/** Never called in a page (`LEAN` is false). */
export function readLeanKind(_bytes: Uint8Array, _start: number, _end: number): string {
  return "";
}

/** Never called in a page (its connections lend no room): checks nothing and answers 0, which here is no "kind too long"; a caller checks `LEAN` first. */
export function encodeLeanBytesInto(_out: Uint8Array, _offset: number, _kind: string, _id: number, _payload: Uint8Array, _maxSize: number): number {
  return 0;
}

/** Never called in a page (its connections lend no room): as {@link encodeLeanBytesInto}. */
export function encodeLeanBytesWithView(_out: Uint8Array, _view: DataView, _offset: number, _kind: string, _id: number, _payload: Uint8Array, _maxSize: number): number {
  return 0;
}
