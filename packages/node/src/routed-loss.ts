/**
 * How a routed channel's loss is reported once (`routing-room.ts`; INTERNALS.md,
 * "Routed unicast"): the sends still waiting on a channel when it is lost,
 * and the `error` events within `routedErrorsPerMinute`. Imported only by the
 * routing room, so a page loads it with the room's own chunk.
 */

import type { XppgError } from "@xppg/errors";
import { claimLoss } from "./request-loss.js";
import { TokenBucket } from "./token-bucket.js";

/** What a send's rejection does for the loss's report: a user's `send` tells of it; a request's may (its request room says, `request-loss.ts`); a reply the node sends tells no one. */
export const SEND = 0;
export const REQUEST = 1;
export const REPLY = 2;
export type SendRole = typeof SEND | typeof REQUEST | typeof REPLY;

/** A send on a channel that did not resolve at once: settled by its own outcome, or by the channel's end. */
export interface Waiter {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  readonly role: SendRole;
  /** It failed as its channel closed, with this: the channel's end decides what it rejects with. */
  failed: { error: unknown } | undefined;
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

  /** `closing`: the channel is still the room's, and its secure channel closed (its end follows). */
  constructor(closing: () => boolean) {
    this.#closing = closing;
  }

  /** The promise that goes back for `sent`, a send the secure channel has: itself when it was taken at once. */
  track(sent: Promise<void>, role: SendRole): Promise<void> {
    if (sent === taken) return sent;
    const waiter = this.wait(role);
    this.follow(waiter, sent);
    return waiter.promise;
  }

  /** A send that waits from now (for the channel to open, say): `follow` settles it once it has a promise below. */
  wait(role: SendRole): Waiter {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const waiter: Waiter = { promise, resolve, reject, role, failed: undefined };
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
    sent.then(
      () => {
        taken = sent;
        this.#waiting.delete(waiter);
        waiter.resolve();
      },
      (error: unknown) => {
        if (!this.#ended && (this.#lost !== undefined || this.#closing())) waiter.failed = { error };
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
   * `error`; when none of them was a user's `send`, `untold` is called with
   * the number of requests among them (their request room says whether the
   * rejection reached the user).
   */
  lose(error: XppgError, untold: (requests: number) => void): void {
    this.#lost = error;
    queueMicrotask(() => {
      this.#ended = true;
      let told = false;
      let requests = 0;
      for (const waiter of this.#waiting) {
        if (waiter.role === SEND) told = true;
        else if (waiter.role === REQUEST) requests++;
        waiter.reject(error);
      }
      this.#waiting.clear();
      if (!told) untold(requests);
    });
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

  /** A loss no waiting send told of: reported now, or (`requests` > 0) once those requests' room says none of their rejections reached the user. `live`: the node still runs. */
  untold(error: XppgError, peer: string, requests: number, live: () => boolean): void {
    const report = (): void => {
      if (live()) this.report(error, peer);
    };
    if (requests === 0) report();
    else claimLoss(error, requests, report);
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
