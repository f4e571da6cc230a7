/**
 * The function a registration (a handler, a listener) answers to undo it:
 * it runs `remove`, and runs when `signal` aborts too (at once if it
 * already has); it stops listening to `signal` when it runs. Calling it
 * again calls `remove` again.
 */
export function removedOnAbort(remove: () => void, signal: AbortSignal | undefined): () => void {
  const off = (): void => {
    remove();
    signal?.removeEventListener("abort", off);
  };
  if (signal?.aborted) off();
  else signal?.addEventListener("abort", off, { once: true });
  return off;
}
