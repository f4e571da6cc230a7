/**
 * A routed channel lost while only requests' sends waited on it (no user's
 * `send`): the loss is told by one of those requests rejecting with it,
 * unless every one of them had settled already (aborted, timed out), when
 * the routing room reports it as an `error` event (`routed-loss.ts`). Shared
 * by the routing room and the request room, both loaded on first use in a page.
 */

interface Claim {
  /** Requests whose answer is still to come. */
  left: number;
  report(): void;
}

/** By the channel's error, the one every waiting send rejected with. */
const claims = new WeakMap<object, Claim>();

/** The routing room: `requests` sends rejected with `error`; `report` unless one of them reaches the user. */
export function claimLoss(error: object, requests: number, report: () => void): void {
  claims.set(error, { left: requests, report });
}

/** The request room: a request's send rejected with `error`; `told`, the request rejected with it (it had not settled). */
export function requestSendFailed(error: unknown, told: boolean): void {
  const claim = typeof error === "object" && error !== null ? claims.get(error) : undefined;
  if (claim === undefined) return;
  if (told) claims.delete(error!);
  else if (--claim.left === 0) {
    claims.delete(error!);
    claim.report();
  }
}
