/**
 * How a routed channel's loss is reported once (`routing-room.ts`; INTERNALS.md,
 * "Routed unicast"): the sends still waiting on a channel when it is lost,
 * and the `error` events within `routedErrorsPerMinute`. Imported only by the
 * routing room, so a page loads it with the room's own chunk.
 */

import type { XppgError } from "@xppg/errors";
import { TokenBucket } from "./token-bucket.js";

/**
 * Whether a send's rejection with a lost channel's error reaches the user,
 * and so tells of the loss: called once, as the channel ends. A request
 * passes its own (it rejects the request, false when the request had
 * settled already: its reply, its abort signal, its timeout).
 */
export type Tell = (error: XppgError) => boolean;
/** A user's `send`: its rejection goes back to the user. */
export const TELLS: Tell = () => true;
/** A reply the node sends for a request: its rejection reaches no one. */
export const SILENT: Tell = () => false;

/** A send on a channel that did not resolve at once: settled by its own outcome, or by the channel's end. */
export interface Waiter {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  readonly tell: Tell;
  /** It failed as its channel closed, with this: the channel's end decides what it rejects with. */
  failed: { error: unknown } | undefined;
  /** It has a send below to settle it (`follow`): not only waiting for the channel to open. */
  below: boolean;
}

/** The last promise of a secure channel's `send` seen resolved: a send answered with it again was taken at once, and waits for nothing. */
let taken: Promise<void> | undefined;

/**
 * The sends waiting on one channel, from the moment they are made until
 * they settle or the channel ends, whatever layer below they wait at (the
 * handshake, the secure channel's queue, a neighbour's link): bounded by
 * what those layers hold (`maxQueuedBytesPerPeer`, and a link that takes
 * nothing is dropped after `writeStallTimeoutMs`).
 */
export class ChannelSends {
  readonly #waiting = new Set<Waiter>();
  readonly #closing: () => boolean;
  #lost: XppgError | undefined;
  #ended = false;
  /** The node stops: what a send failing from then on rejects with (XPPG_ERR_STOPPED, the failure as its cause). */
  #stopped: ((cause: unknown) => XppgError) | undefined;

  /** `closing`: the channel is still the room's and its secure channel closed (its end follows), or it is closing gracefully (its end decided at its bound or by a reset). */
  constructor(closing: () => boolean) {
    this.#closing = closing;
  }

  /** Sends not yet settled (made, not yet resolved or rejected). */
  get pending(): number {
    return this.#waiting.size;
  }

  /** The promise that goes back for `sent`, a send the secure channel has: itself when it was taken at once. */
  track(sent: Promise<void>, tell: Tell): Promise<void> {
    if (sent === taken) return sent;
    const waiter = this.wait(tell);
    this.follow(waiter, sent);
    return waiter.promise;
  }

  /** A send that waits from now (for the channel to open, say): `follow` settles it once it has a promise below. */
  wait(tell: Tell): Waiter {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const waiter: Waiter = { promise, resolve, reject, tell, failed: undefined, below: false };
    this.#waiting.add(waiter);
    return waiter;
  }

  /**
   * Settles `waiter` as `sent` settles: it resolves when `sent` does. When
   * `sent` fails because the channel closed, the channel's end settles it
   * (with the channel's error when it was lost); so it does while `sent`
   * still waits below (a neighbour's link that takes nothing), so that the
   * loss is known to be told, or not, when the channel ends.
   */
  follow(waiter: Waiter, sent: Promise<void>): void {
    waiter.below = true;
    sent.then(
      () => {
        taken = sent;
        this.#waiting.delete(waiter);
        waiter.resolve();
      },
      (error: unknown) => {
        const stopped = this.#stopped;
        if (stopped !== undefined) {
          this.#waiting.delete(waiter);
          waiter.reject(stopped(error));
        } else if (!this.#ended && (this.#lost !== undefined || this.#closing())) waiter.failed = { error };
        else {
          this.#waiting.delete(waiter);
          waiter.reject(error);
        }
      },
    );
  }

  /**
   * The channel is lost with `error` (set now: a send failing from here on
   * waits for the end). A microtask later (the reactions already queued to
   * sends settled below run first), every send still waiting rejects with
   * `error`; when none of those rejections reaches the user (no `send`, no
   * request still waiting for its reply), `untold` is called.
   */
  lose(error: XppgError, untold: () => void): void {
    this.#lost = error;
    queueMicrotask(() => {
      this.#ended = true;
      let told = false;
      for (const waiter of this.#waiting) {
        // Each is told (a request rejects now), not only until one reaches the user.
        if (waiter.tell(error)) told = true;
        waiter.reject(error);
      }
      this.#waiting.clear();
      if (!told) untold();
    });
  }

  /**
   * The node stops, before the channel's clean close and the sessions'
   * (which flush what they were handed): a send waiting for the channel to
   * open rejects with `stopped` now; one the secure channel has settles as
   * its record does: it resolves once taken (it goes out with the stop's
   * flush), and a failure from here on (a hand-over lost with the closing
   * sessions) rejects with `stopped`, the failure as its cause. So a send
   * that rejects was not delivered.
   */
  stop(stopped: (cause: unknown) => XppgError): void {
    this.#stopped = stopped;
    for (const waiter of this.#waiting) {
      if (waiter.below) continue;
      this.#waiting.delete(waiter);
      waiter.reject(stopped(undefined));
    }
  }

  /** The channel ended with no loss (idle, evicted, its handshake failed, the node stops): a send that failed with the close rejects with its own error; the others settle as their sends do. */
  close(): void {
    this.#ended = true;
    for (const waiter of this.#waiting) {
      if (waiter.failed === undefined) continue;
      this.#waiting.delete(waiter);
      waiter.reject(waiter.failed.error);
    }
  }
}

/** Peers whose `error` event budget is remembered (the least recently reported goes first). */
const MAX_ERROR_BUDGETS = 1024;

/** The `error` events for lost channels: at most `perMinute` a minute naming one peer, so a node that breaks channel after channel cannot flood the listeners. */
export class LossReports {
  readonly #perMinute: number;
  readonly #emit: ((error: XppgError, peer: string) => void) | undefined;
  /** Each peer's budget, least recently reported first. */
  readonly #budgets = new Map<string, TokenBucket>();

  constructor(perMinute: number, emit: ((error: XppgError, peer: string) => void) | undefined) {
    this.#perMinute = perMinute;
    this.#emit = emit;
  }

  report(error: XppgError, peer: string): void {
    const perMinute = this.#perMinute;
    if (perMinute !== Infinity) {
      const budgets = this.#budgets;
      let bucket = budgets.get(peer);
      budgets.delete(peer);
      // At least one in the burst: a budget below one a minute still lets one event through now and then.
      bucket ??= new TokenBucket(perMinute / 60, Math.max(1, perMinute));
      budgets.set(peer, bucket);
      // Bounded: peer ids cost nothing; a peer whose budget is forgotten gets at most one more burst.
      if (budgets.size > MAX_ERROR_BUDGETS) budgets.delete(budgets.keys().next().value!);
      if (!bucket.take()) return;
    }
    this.#emit?.(error, peer);
  }
}
