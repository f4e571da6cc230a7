/**
 * The browser's `#owned-row-checks` (Node's is `../owned-row-checks.ts`): a
 * page checks signatures on WebCrypto, which answers later, so every owned
 * row of an update is checked ahead, the peer's reading held meanwhile (its
 * next messages wait, in order); the replica then finds each one already
 * checked (the same signature over the same bytes: the replica copies the
 * signature it parses) and applies the update in one go, all or nothing, as
 * in Node. A row not checked ahead is refused.
 */

import { signingBytes } from "@xppg/state";
import type { OwnedRowChecks as NodeOwnedRowChecks } from "../owned-row-checks.js";
import { applyOnceChecked, checkedAhead, signatureKey, signedRows } from "../owned-row-checks.js";
import type { PeerSession } from "../peer-session.js";

/** Owned-row checks in a page: all ahead, on WebCrypto. */
// The members the node's rooms use, so a call added there fails to compile here until the page has it too.
export class OwnedRowChecks implements Pick<NodeOwnedRowChecks, "verifier" | "applyChecked"> {
  readonly #verify: (writer: string, data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>;
  /** While an update is applied: its signatures found valid ahead (their bytes as a string), with the bytes they were checked over. */
  #checked: ReadonlyMap<string, Uint8Array> | undefined;

  /** `verify` answers later in a page (`#host`'s `checkSignature`). Every owned row is checked ahead: the replica checks even a row older than a tombstone it holds (`cannotChange`), so the page takes no version into account (Node's second argument). */
  constructor(verify: (writer: string, data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>, _versionOf?: unknown) {
    this.#verify = verify;
  }

  /** The replica's `verify`: true only for a signature checked ahead over these very bytes. */
  readonly verifier = (_writer: string, data: Uint8Array, signature: Uint8Array): boolean => checkedAhead(this.#checked, data, signature);

  /** Runs `apply` once the owned rows of `entries` are checked, the session's reading held meanwhile; an error `apply` throws closes the session. */
  applyChecked(session: PeerSession, entries: unknown, apply: () => void, stopped: () => boolean): void {
    const rows = Array.isArray(entries) ? signedRows(entries, () => false) : [];
    if (rows.length === 0) {
      apply();
      return;
    }
    const gone = (): boolean => session.isClosed || stopped();
    const valid = new Map<string, Uint8Array>();
    // In order, one at a time, stopping at the first invalid row (the replica refuses the update anyway), as Node's checks do.
    const checks = (async () => {
      for (const row of rows) {
        if (gone()) return;
        const data = signingBytes(row.key, row.version, row.writer, row.value as Parameters<typeof signingBytes>[3]);
        if ((await this.#verify(row.writer, data, row.signature)) !== true) return;
        valid.set(signatureKey(row.signature), data);
      }
    })().catch(() => {
      // Malformed (signingBytes threw) or a check that failed: the replica refuses the update itself.
    });
    applyOnceChecked(session, checks.then(() => valid), gone, (checked) => (this.#checked = checked), apply);
  }
}
