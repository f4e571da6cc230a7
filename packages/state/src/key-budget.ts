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
