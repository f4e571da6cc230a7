import type { CloseInfo } from "../connection.js";
import { connectionClosedError } from "../errors.js";

/**
 * The senders a connection keeps waiting while its send buffer is over the
 * high-water mark: `send` returns {@link SendWaiters.wait} then, the adapter
 * calls {@link SendWaiters.release} when room frees up and
 * {@link SendWaiters.settle} once the connection has closed. For transport
 * adapters; it holds no timers and knows nothing of the buffer itself.
 */
export class SendWaiters {
  #waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  /** True when no sender waits. */
  get empty(): boolean {
    return this.#waiting.length === 0;
  }

  /** A promise that settles at the next {@link SendWaiters.release} or {@link SendWaiters.settle}. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Lets every waiting sender go on. */
  release(): void {
    this.#settleAll(null);
  }

  /** Fails every waiting sender with `error`. */
  fail(error: Error): void {
    this.#settleAll(error);
  }

  /**
   * Settles every waiter for good once the connection closed as `info`
   * says: after a clean local close they go on (what they sent was flushed),
   * after anything else they fail with `XPPG_ERR_CONNECTION_CLOSED`.
   */
  settle(info: CloseInfo, remoteAddress: string): void {
    if (this.empty) return;
    this.#settleAll(info.initiator === "local" && info.error === undefined ? null : connectionClosedError(remoteAddress, info.error));
  }

  #settleAll(error: Error | null): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const w of waiting) {
      if (error === null) w.resolve();
      else w.reject(error);
    }
  }
}
