import { STATE_ERROR_CODES, StateError } from "./errors.js";

/**
 * Who a key that holds a value is charged to: `null` for this replica's own
 * writes, else the sender that made the key hold a value (the `origin` given
 * to `apply` when it is a string, `""` for an anonymous one).
 */
export type Owner = string | null;

/** The owner `apply(update, origin)` charges new keys to. */
export function ownerOf(origin: unknown): string {
  return typeof origin === "string" ? origin : "";
}

/**
 * Counts the keys that hold a value, in all and per owner, so that one
 * sender cannot fill `maxKeys` for every other (`maxKeysPerPeer`) and this
 * replica's own writes always find room (`reservedLocalKeys`).
 */
export class KeyBudget {
  #live = 0;
  readonly #perOwner = new Map<Owner, number>();

  /** Keys that hold a value. */
  get live(): number {
    return this.#live;
  }

  /** Keys charged to `owner`. */
  countOf(owner: Owner): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  /** Charges `n` keys to `owner` (a negative `n` releases them). */
  add(owner: Owner, n: number): void {
    if (n === 0) return;
    this.#live += n;
    const count = (this.#perOwner.get(owner) ?? 0) + n;
    if (count <= 0) this.#perOwner.delete(owner);
    else this.#perOwner.set(owner, count);
  }
}

/**
 * Throws unless a received update that adds `added` keys charged to `owner`
 * and removes `released` (per owner) stays within the peers' part of
 * `maxKeys` and `owner`'s share.
 */
export function checkRemoteKeys(
  budget: KeyBudget,
  limits: { readonly maxKeys: number; readonly reservedLocalKeys: number; readonly maxKeysPerPeer: number },
  added: number,
  owner: string,
  released: ReadonlyMap<Owner, number>,
): void {
  const { maxKeys, reservedLocalKeys, maxKeysPerPeer } = limits;
  let removed = 0;
  for (const n of released.values()) removed += n;
  const keys = budget.live - removed + added;
  if (keys > maxKeys - reservedLocalKeys) {
    throw new StateError(
      STATE_ERROR_CODES.TOO_MANY_KEYS,
      `Received state update would hold ${keys} keys, over the ${maxKeys - reservedLocalKeys} that peers may fill (maxKeys ${maxKeys} less ` +
        `reservedLocalKeys ${reservedLocalKeys}). Nothing was changed; use fewer keys, or raise maxKeys on every replica.`,
      { details: { keys: budget.live, adding: added, maxKeys, reservedLocalKeys } },
    );
  }
  const mine = budget.countOf(owner) - (released.get(owner) ?? 0) + added;
  if (mine > maxKeysPerPeer) {
    throw new StateError(
      STATE_ERROR_CODES.TOO_MANY_KEYS_FROM_PEER,
      `Received state update from ${owner === "" ? "an anonymous sender" : owner} would make it hold ${mine} keys here, over maxKeysPerPeer ` +
        `(${maxKeysPerPeer}). Nothing was changed; one peer may fill only its share of maxKeys: raise maxKeysPerPeer on every replica if one peer should hold more.`,
      { details: { peer: owner, keys: budget.countOf(owner), adding: added, maxKeysPerPeer } },
    );
  }
}

/** Throws unless holding `sizeChange` more bytes stays within `maxTotalSize`. */
export function checkSize(totalSize: number, sizeChange: number, maxTotalSize: number, where: string): void {
  if (sizeChange > 0 && totalSize + sizeChange > maxTotalSize) {
    throw new StateError(
      STATE_ERROR_CODES.TOO_LARGE,
      `${where} would hold about ${totalSize + sizeChange} bytes, over maxTotalSize (${maxTotalSize}). Nothing was changed; ` +
        "store less, or raise maxTotalSize on every replica.",
      { details: { size: totalSize, adding: sizeChange, maxTotalSize } },
    );
  }
}

/** Throws unless a local write may add one key. */
export function checkLocalKey(budget: KeyBudget, maxKeys: number, key: string): void {
  if (budget.live + 1 > maxKeys) {
    throw new StateError(
      STATE_ERROR_CODES.TOO_MANY_KEYS,
      `SharedState.set("${key}") would hold ${budget.live + 1} keys, over maxKeys (${maxKeys}). Nothing was changed; ` +
        "use fewer keys, or raise maxKeys on every replica.",
      { details: { keys: budget.live, adding: 1, maxKeys } },
    );
  }
}
