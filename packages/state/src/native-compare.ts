/**
 * Node's native byte comparison (the `#native-compare` import; a page's is
 * `browser/native-compare.ts`, which has none): the same order as
 * `compare-values.ts`'s loop, bytes first, then length.
 */
export const nativeCompare: ((a: Uint8Array, b: Uint8Array) => number) | undefined = (globalThis as { Buffer?: { compare(a: Uint8Array, b: Uint8Array): number } }).Buffer?.compare;
