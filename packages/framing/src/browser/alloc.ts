/**
 * Memory for frames and envelopes in a page (the browser's `#alloc`; Node's
 * is `../alloc.ts`): a page has no `Buffer`, so plain `Uint8Array`s.
 */

/** Memory for an envelope. */
export function allocate(size: number): Uint8Array {
  return new Uint8Array(size);
}

/** Memory for a frame being assembled. */
export const allocateUninitialized = allocate;

/** A page's envelope reads end at a microtask after each frame (`SCOPED_READS` of `../alloc.ts`). */
export const SCOPED_READS = false;
