/** A page has no `Buffer`, so no native byte comparison: `compare-values.ts` compares byte by byte (the `#native-compare` import; Node's is `../native-compare.ts`). */
export const nativeCompare: ((a: Uint8Array, b: Uint8Array) => number) | undefined = undefined;
