/**
 * The node's transports and listeners: which transport listens on or dials
 * an address, and the listeners opened by `start`.
 */

import type { Connection, Listener, Transport } from "@xppg/transport";
import { raceAbort } from "./call-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { ERROR_TEXTS } from "@xppg/errors";

export class TransportSet {
  #transports: readonly Transport[] = [];
  #listeners: Listener[] = [];
  #onConnection: ((conn: Connection) => void) | undefined;
  /** How many times close() ran: a listen() in progress stops once it changes. */
  #closes = 0;

  /** The bound port of the first listener. */
  get port(): number | undefined {
    return this.#listeners[0]?.port;
  }

  get addresses(): string[] {
    return this.#listeners.map((l) => l.address);
  }

  /** Sockets the listeners hold between accept and hand-over (a WebSocket's unfinished upgrades). */
  get pendingConnections(): number {
    let n = 0;
    for (const l of this.#listeners) n += l.pendingConnections;
    return n;
  }

  /**
   * Listens on every address; on failure (or abort) closes what it opened and
   * rejects. `maxPendingConnections` caps what each listener holds before
   * hand-over (the node passes its `maxPendingHandshakes`).
   */
  async listen(
    transports: readonly Transport[],
    addresses: readonly string[],
    onConnection: (conn: Connection) => void,
    signal: AbortSignal | undefined,
    maxPendingConnections?: number,
  ): Promise<void> {
    this.#transports = transports;
    this.#onConnection = onConnection;
    const closes = this.#closes;
    try {
      for (const address of addresses) {
        const transport = this.for(address, "listen");
        const listener = await raceAbort(transport.listen(address, onConnection, maxPendingConnections === undefined ? undefined : { maxPendingConnections }), signal, "start", closeLateListener);
        // close() came meanwhile (the node's stop): this listener is closed and the addresses left are not opened.
        if (this.#closes !== closes) return void (await Promise.resolve().then(() => listener.close()).catch(() => {}));
        // Pushed once it is open, to the list as it is then (a close() replaces the list).
        this.#listeners.push(listener);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** For dialling, the first transport that can dial the address; for listening, the one named by its scheme. */
  for(address: string, use: "dial" | "listen" = "dial"): Transport {
    const scheme = address.slice(0, Math.max(0, address.indexOf("://")));
    const t = this.#transports.find((tr) => (use === "dial" ? tr.canDial(address) : tr.name === scheme));
    if (t === undefined) {
      throw new PlaygroundError(
        NODE_ERROR_CODES.NO_TRANSPORT,
        ERROR_TEXTS ? `No transport of this node can use "${address}" (it has: ${this.#transports.map((tr) => tr.name).join(", ") || "none"}). Add one with the transports option.` : [address, this.#transports.map((tr) => tr.name).join(", ") || "none"],
      );
    }
    return t;
  }

  /** True when a transport of this node can dial the address. */
  canDial(address: string): boolean {
    return this.#transports.some((tr) => tr.canDial(address));
  }

  /** Opens one more listener after `start` (a relay reservation); it counts in `addresses` until `remove`d. */
  async add(address: string): Promise<Listener> {
    const onConnection = this.#onConnection;
    if (onConnection === undefined) throw new PlaygroundError(NODE_ERROR_CODES.NOT_STARTED, ERROR_TEXTS ? "The node listens on nothing yet: call `await pg.start()` first." : []);
    const listener = await this.for(address, "listen").listen(address, onConnection);
    this.#listeners.push(listener);
    return listener;
  }

  /** Forgets a listener opened with `add` (its owner closes it). */
  remove(listener: Listener): void {
    this.#listeners = this.#listeners.filter((l) => l !== listener);
  }

  /** Closes every listener. */
  async close(): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    this.#closes++;
    await Promise.all(listeners.map((l) => l.close().catch(() => {})));
  }
}

/**
 * A listener that opened after `start` gave up on it (aborted): closed, and a
 * close that throws or rejects (a transport breaking its contract) is dropped
 * rather than left an uncaught exception or an unhandled rejection, as
 * `TransportSet.close` drops it.
 */
function closeLateListener(late: Listener): void {
  void Promise.resolve()
    .then(() => late.close())
    .catch(() => {});
}
