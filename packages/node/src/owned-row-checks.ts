/**
 * The signature checks of owned state keys (`@<peerId>/...`), cut into
 * slices per turn of the event loop (issue 16). The replica checks each
 * owned row's Ed25519 signature inside `apply`, all of an update in one go:
 * an update of 1,000 fresh owned rows was about 60 ms in one turn, and the
 * honest peers waited for it. Here an update with more rows to check than
 * one turn's share has them checked ahead, {@link CHECKS_PER_TURN} a turn
 * for the whole node, with the peer's reading held; the replica then finds
 * each one already checked (the same signature bytes over the same bytes:
 * the replica copies each signature it parses, so the match is by bytes)
 * and applies the update in one go as before, all or nothing.
 */

import { keyOwner, signingBytes, type WriteVerifier } from "@xppg/state";
import { CHECKS_PER_TURN, currentTurn } from "./bundle-reader.js";
import type { XppgError } from "@xppg/errors";
import type { PeerSession } from "./peer-session.js";
import { nextTurnOfLoop } from "./state-turns.js";

/** A row that carries a signature to check: `[key, version, [writer, signature], value?]` with `key` owned by `writer`. */
interface SignedRow {
  readonly key: string;
  readonly version: number;
  readonly writer: string;
  readonly signature: Uint8Array;
  readonly value: unknown;
}

/** The rows of a received update (not yet validated: anything malformed is left to the replica) whose signatures it would check (a page checks them all ahead: `browser/owned-row-checks.ts`). */
export function signedRows(entries: readonly unknown[], settled: (key: string, version: number) => boolean): SignedRow[] {
  const rows: SignedRow[] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || (entry.length !== 3 && entry.length !== 4)) continue;
    const [key, version, signed] = entry as unknown[];
    if (typeof key !== "string" || typeof version !== "number" || !Array.isArray(signed) || signed.length !== 2) continue;
    const [writer, signature] = signed as unknown[];
    if (typeof writer !== "string" || !(signature instanceof Uint8Array) || keyOwner(key) !== writer || settled(key, version)) continue;
    rows.push({ key, version, writer, signature, value: entry.length === 4 ? (entry as unknown[])[3] : undefined });
  }
  return rows;
}

/** One node's checks of owned rows: the replica's `verify`, and the checks made ahead in slices. */
export class OwnedRowChecks {
  readonly #verify: WriteVerifier;
  readonly #versionOf: (key: string) => number | undefined;
  /** While an update checked ahead is applied: its signatures found valid (their bytes as a string), with the bytes they were checked over. */
  #checked: Map<string, Uint8Array> | undefined;
  #turn = -1;
  #count = 0;

  /** `versionOf`: the version the replica holds of a key (a row older than it is not checked). */
  constructor(verify: WriteVerifier, versionOf: (key: string) => number | undefined) {
    this.#verify = verify;
    this.#versionOf = versionOf;
  }

  /** The replica's `verify`: a signature checked ahead over these very bytes passes at once; any other is checked now. */
  readonly verifier: WriteVerifier = (writer, data, signature) => checkedAhead(this.#checked, data, signature) || this.#verify(writer, data, signature);

  /**
   * The signed rows of `entries` the replica would check, when there are
   * more than one turn's share (else none: the replica checks them as it
   * applies). A row older than what the replica holds is left out: the
   * replica does not check it either.
   */
  toCheckAhead(entries: readonly unknown[]): SignedRow[] {
    if (entries.length <= CHECKS_PER_TURN) return [];
    const rows = signedRows(entries, (key, version) => (this.#versionOf(key) ?? -1) > version);
    return rows.length > CHECKS_PER_TURN ? rows : [];
  }

  /**
   * Runs `apply` now, or, when `entries` has more owned rows to check than
   * one turn's share, once they are checked ahead, the session's reading
   * held meanwhile (its next messages wait, in order). An error `apply`
   * throws then closes the session with it (it throws typed errors only).
   */
  applyChecked(session: PeerSession, entries: unknown, apply: () => void, stopped: () => boolean): void {
    const ahead = Array.isArray(entries) ? this.toCheckAhead(entries) : [];
    if (ahead.length === 0) {
      apply();
      return;
    }
    const gone = (): boolean => session.isClosed || stopped();
    applyOnceChecked(session, this.checkAhead(ahead, gone), gone, (valid) => (this.#checked = valid), apply);
  }

  /**
   * Checks `rows` ahead, at most {@link CHECKS_PER_TURN} a turn for the node;
   * stops at the first invalid one (the replica refuses the update anyway) or
   * when `stop()` says so. Resolves with the signatures found valid (their
   * bytes as a string), each with the bytes it was checked over.
   */
  async checkAhead(rows: readonly SignedRow[], stop: () => boolean): Promise<Map<string, Uint8Array>> {
    const valid = new Map<string, Uint8Array>();
    for (const row of rows) {
      while (this.#spent()) {
        await nextTurnOfLoop();
        if (stop()) return valid;
      }
      this.#count++;
      let data: Uint8Array;
      try {
        data = signingBytes(row.key, row.version, row.writer, row.value as Parameters<typeof signingBytes>[3]);
      } catch {
        return valid;
      }
      let ok: boolean;
      try {
        ok = this.#verify(row.writer, data, row.signature) === true;
      } catch {
        ok = false;
      }
      if (!ok) return valid;
      valid.set(signatureKey(row.signature), data);
    }
    return valid;
  }

  #spent(): boolean {
    const now = currentTurn();
    if (now !== this.#turn) {
      this.#turn = now;
      this.#count = 0;
    }
    return this.#count >= CHECKS_PER_TURN;
  }
}

const SIGNATURE_BYTES = 64;

/** A signature's bytes as a string (a map key: the replica's copy of a signature is another object). */
export function signatureKey(signature: Uint8Array): string {
  return String.fromCharCode(...signature);
}

/** True when `signature` was found valid ahead (it is in `checked`, as made by the checks) over these very bytes. */
export function checkedAhead(checked: ReadonlyMap<string, Uint8Array> | undefined, data: Uint8Array, signature: Uint8Array): boolean {
  // Only an Ed25519 signature (64 bytes) can have been checked ahead (and a longer one would not spread into arguments).
  if (checked === undefined || checked.size === 0 || signature.length !== SIGNATURE_BYTES) return false;
  const over = checked.get(signatureKey(signature));
  return over !== undefined && sameBytes(over, data);
}

/**
 * Runs `apply` once `checks` gives the signatures found valid, with `use`
 * setting them for the replica's verifier during `apply` only (updates of
 * several peers are checked at once; each is applied with its own checks),
 * the session's reading held meanwhile. An error `apply` throws closes the
 * session (it throws typed errors only).
 */
export function applyOnceChecked(
  session: PeerSession,
  checks: Promise<Map<string, Uint8Array>>,
  gone: () => boolean,
  use: (valid: Map<string, Uint8Array> | undefined) => void,
  apply: () => void,
): void {
  const applied = checks.then((valid) => {
    if (gone()) return;
    use(valid);
    try {
      apply();
    } catch (error) {
      session.close(error as XppgError);
    } finally {
      use(undefined);
    }
  });
  session.holdReadingUntil(applied);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
