/**
 * The browser's `#owned-row-checks` (Node's is `../owned-row-checks.ts`): a
 * page checks an update's owned rows as the replica applies it, without
 * slicing them over turns (a page serves no crowd of peers, and its first
 * download is kept small: issue 13).
 */

import type { WriteVerifier } from "@xppg/state";
import type { OwnedRowChecks as NodeOwnedRowChecks } from "../owned-row-checks.js";

/** Owned-row checks in a page: the replica's own, nothing ahead. */
// The members the node's rooms use, so a call added there fails to compile here until the page has it too.
export class OwnedRowChecks implements Pick<NodeOwnedRowChecks, "verifier" | "applyChecked"> {
  readonly verifier: WriteVerifier;

  constructor(verify: WriteVerifier, _versionOf: (key: string) => number | undefined) {
    this.verifier = verify;
  }

  applyChecked(_session: unknown, _entries: unknown, apply: () => void): void {
    apply();
  }
}
