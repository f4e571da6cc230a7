/**
 * Writes to a replica's own keys whose signature comes later (a signer that
 * returns a promise: WebCrypto's, in a page). Each is made once signed, in
 * the order they were written; a key's next write meanwhile takes a higher
 * version than the one waiting. None is made after `close()`.
 */
export class LaterSignatures {
  #chain: Promise<void> = Promise.resolve();
  readonly #versions = new Map<string, number>();
  #closed = false;

  /** The highest version given to `key` by a write still waiting for its signature (0: none). */
  versionOf(key: string): number {
    return this.#versions.get(key) ?? 0;
  }

  /** Drops the writes still waiting: none is made after this. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Runs `made(signature)` once `signature` comes, after the writes before
   * it. A signer's failure, or one of `made` (a listener's), has no caller
   * left to throw to: it is reported as an uncaught error.
   */
  add(key: string, version: number, signature: Promise<Uint8Array>, made: (signature: Uint8Array) => void): void {
    this.#versions.set(key, version);
    // Handled at once (the chain below takes its failure later): a signature that fails while earlier ones still wait is no unhandled rejection meanwhile.
    signature.catch(() => undefined);
    const done = (): void => {
      if (this.#versions.get(key) === version) this.#versions.delete(key);
    };
    this.#chain = this.#chain
      .then(() => signature)
      .then(
        (sig) => {
          done();
          if (!this.#closed) made(sig);
        },
        (error: unknown) => {
          done();
          throw error;
        },
      )
      .catch((error: unknown) => {
        queueMicrotask(() => {
          throw error;
        });
      });
  }
}
