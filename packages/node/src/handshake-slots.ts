/**
 * The pending-handshake slots of one node, with a bounded share per remote
 * host (issue 16, item 5): connections still in their handshake cost a
 * secure handshake and a timer each, so the node holds at most `max` of
 * them, and at most `perHost` from one host (one IPv4 address, one IPv6
 * /64; see `hostKey`), so one host keeping hundreds of connects in flight
 * cannot lock honest new peers out.
 */

/** One taken slot; `release` is idempotent. */
export interface HandshakeSlot {
  release(): void;
}

/** Why a slot was refused: the node is full, or this host holds its share. */
export type SlotRefusal = "node" | "host";

export class HandshakeSlots {
  readonly max: number;
  readonly perHost: number;
  #total = 0;
  readonly #byHost = new Map<string, number>();

  constructor(max: number, perHost: number) {
    this.max = max;
    this.perHost = perHost;
  }

  /** Slots taken, in all. */
  get taken(): number {
    return this.#total;
  }

  /** Slots taken by `host`. */
  takenBy(host: string): number {
    return this.#byHost.get(host) ?? 0;
  }

  /**
   * Takes a slot for a connection from `host`, or says why not. `heldElsewhere`
   * counts sockets accepted but not yet handed over (a WebSocket listener's
   * unfinished upgrades), so that every socket counts from accept.
   */
  take(host: string, heldElsewhere = 0): HandshakeSlot | SlotRefusal {
    const mine = this.#byHost.get(host) ?? 0;
    if (mine >= this.perHost) return "host";
    if (this.#total + heldElsewhere >= this.max) return "node";
    this.#total++;
    this.#byHost.set(host, mine + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.#total--;
        const left = (this.#byHost.get(host) ?? 1) - 1;
        if (left <= 0) this.#byHost.delete(host);
        else this.#byHost.set(host, left);
      },
    };
  }
}
