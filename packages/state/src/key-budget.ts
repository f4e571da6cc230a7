import { STATE_ERROR_CODES, StateError } from "./errors.js";
import { ERROR_TEXTS } from "@xppg/errors";

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

/** What one update changes for one owner: keys that hold a value, and their bytes. */
export interface OwnerChange {
  keys: number;
  bytes: number;
}

/** The limits the budget enforces (from the state's options). */
export interface BudgetLimits {
  readonly maxKeys: number;
  readonly reservedLocalKeys: number;
  readonly maxKeysPerPeer: number;
  readonly maxTotalSize: number;
  readonly reservedLocalSize: number;
  readonly maxTotalSizePerPeer: number;
}

/**
 * Counts the keys that hold a value and their bytes, in all and per owner,
 * so that one sender cannot fill `maxKeys` or `maxTotalSize` for every
 * other (`maxKeysPerPeer`, `maxTotalSizePerPeer`) and this replica's own
 * writes always find room (`reservedLocalKeys`, `reservedLocalSize`).
 */
export class KeyBudget {
  #live = 0;
  #bytes = 0;
  readonly #perOwner = new Map<Owner, OwnerChange>();

  /** Keys that hold a value. */
  get live(): number {
    return this.#live;
  }

  /** Approximate bytes of the keys that hold a value. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keys and bytes charged to `owner`. */
  of(owner: Owner): Readonly<OwnerChange> {
    return this.#perOwner.get(owner) ?? { keys: 0, bytes: 0 };
  }

  /** Charges `keys` keys of `bytes` bytes to `owner` (negative numbers release them). */
  add(owner: Owner, keys: number, bytes: number): void {
    this.#live += keys;
    this.#bytes += bytes;
    const held = this.#perOwner.get(owner) ?? { keys: 0, bytes: 0 };
    const next = { keys: held.keys + keys, bytes: held.bytes + bytes };
    if (next.keys <= 0) this.#perOwner.delete(owner);
    else this.#perOwner.set(owner, next);
  }

  /**
   * Throws unless a received update making `changes` (per owner; `owner` is
   * its sender) stays within the peers' part of the limits and the sender's
   * share. Only growth is checked: shrinking is always allowed.
   */
  checkReceived(limits: BudgetLimits, owner: string, changes: ReadonlyMap<Owner, OwnerChange>): void {
    let keys = 0;
    let bytes = 0;
    for (const change of changes.values()) {
      keys += change.keys;
      bytes += change.bytes;
    }
    const mine = changes.get(owner) ?? { keys: 0, bytes: 0 };
    const held = this.of(owner);
    const peerKeys = limits.maxKeys - limits.reservedLocalKeys;
    if (keys > 0 && this.#live + keys > peerKeys) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_MANY_KEYS,
        ERROR_TEXTS ? `Received state update would hold ${this.#live + keys} keys, over the ${peerKeys} that peers may fill (maxKeys ${limits.maxKeys} less ` +
          `reservedLocalKeys ${limits.reservedLocalKeys}). Nothing was changed; use fewer keys, or raise maxKeys on every replica.` : [this.#live + keys, peerKeys, limits.maxKeys, limits.reservedLocalKeys],
        { details: { keys: this.#live, adding: keys, maxKeys: limits.maxKeys, reservedLocalKeys: limits.reservedLocalKeys } },
      );
    }
    if (mine.keys > 0 && held.keys + mine.keys > limits.maxKeysPerPeer) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_MANY_KEYS_FROM_PEER,
        ERROR_TEXTS ? `Received state update from ${name(owner)} would make it hold ${held.keys + mine.keys} keys here, over maxKeysPerPeer ` +
          `(${limits.maxKeysPerPeer}). Nothing was changed; one peer may fill only its share: raise maxKeysPerPeer on every replica if one peer should hold more.` : [name(owner), held.keys + mine.keys, limits.maxKeysPerPeer],
        { details: { peer: owner, keys: held.keys, adding: mine.keys, maxKeysPerPeer: limits.maxKeysPerPeer } },
      );
    }
    const peerBytes = limits.maxTotalSize - limits.reservedLocalSize;
    if (bytes > 0 && this.#bytes + bytes > peerBytes) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_LARGE,
        ERROR_TEXTS ? `Received state update would hold about ${this.#bytes + bytes} bytes, over the ${peerBytes} that peers may fill (maxTotalSize ` +
          `${limits.maxTotalSize} less reservedLocalSize ${limits.reservedLocalSize}). Nothing was changed; store less, or raise maxTotalSize on every replica.` : [this.#bytes + bytes, peerBytes, limits.maxTotalSize, limits.reservedLocalSize],
        { details: { size: this.#bytes, adding: bytes, maxTotalSize: limits.maxTotalSize, reservedLocalSize: limits.reservedLocalSize } },
      );
    }
    if (mine.bytes > 0 && held.bytes + mine.bytes > limits.maxTotalSizePerPeer) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_LARGE_FROM_PEER,
        ERROR_TEXTS ? `Received state update from ${name(owner)} would make the keys it added hold about ${held.bytes + mine.bytes} bytes here, over ` +
          `maxTotalSizePerPeer (${limits.maxTotalSizePerPeer}). Nothing was changed; raise maxTotalSizePerPeer on every replica if one peer should hold more.` : [name(owner), held.bytes + mine.bytes, limits.maxTotalSizePerPeer],
        { details: { peer: owner, size: held.bytes, adding: mine.bytes, maxTotalSizePerPeer: limits.maxTotalSizePerPeer } },
      );
    }
  }

  /** Throws unless a local write adding `keys` keys and `bytes` bytes stays within `maxKeys` and `maxTotalSize`. */
  checkLocal(limits: BudgetLimits, key: string, keys: number, bytes: number): void {
    if (keys > 0 && this.#live + keys > limits.maxKeys) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_MANY_KEYS,
        ERROR_TEXTS ? `SharedState.set("${key}") would hold ${this.#live + keys} keys, over maxKeys (${limits.maxKeys}). Nothing was changed; ` +
          "use fewer keys, or raise maxKeys on every replica." : [key, this.#live + keys, limits.maxKeys],
        { details: { keys: this.#live, adding: keys, maxKeys: limits.maxKeys } },
      );
    }
    if (bytes > 0 && this.#bytes + bytes > limits.maxTotalSize) {
      throw new StateError(
        STATE_ERROR_CODES.TOO_LARGE,
        ERROR_TEXTS ? `SharedState.set("${key}") would hold about ${this.#bytes + bytes} bytes, over maxTotalSize (${limits.maxTotalSize}). Nothing was changed; ` +
          "store less, or raise maxTotalSize on every replica." : [key, this.#bytes + bytes, limits.maxTotalSize],
        { details: { size: this.#bytes, adding: bytes, maxTotalSize: limits.maxTotalSize } },
      );
    }
  }
}

function name(owner: string): string {
  return owner === "" ? "an anonymous sender" : owner;
}
