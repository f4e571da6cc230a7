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

/** A page's envelope encoder copies with its own loop and `set` (Node's `STRAIGHT_COPIES` of `../alloc.ts`); the helpers below are for the tests' comparison and drop out of its build. */
export const STRAIGHT_COPIES = false;

/** Longest part `putShort` copies by hand (as Node's `../alloc.ts`). */
export const SHORT_COPY_BYTES = 16;

/** `out.set(bytes, at)` (Node's `../alloc.ts` calls it through one reference, for its inline caches; a page saves the bytes). */
export function putBytes(out: Uint8Array, at: number, bytes: Uint8Array): void {
  out.set(bytes, at);
}

/** Copies a short part (at most {@link SHORT_COPY_BYTES}) by hand: cheaper than `TypedArray#set` (Node's `../alloc.ts` unrolls it; a page saves the bytes). */
export function putShort(out: Uint8Array, at: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i]!;
}
