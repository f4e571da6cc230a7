/**
 * The dialer: `join`'s way to a peer. It dials, hands the connection to the
 * gate, and waits for the handshake within one deadline; when two
 * connections to one peer raced, it answers with the one that was kept.
 */

import { isXppgError, type XppgError } from "@xppg/errors";
import type { AbuseGuard } from "./abuse-guard.js";
import { bannedError } from "./bans.js";
import { abortError, raceAbort } from "./call-checks.js";
import type { ConnectionGate } from "./connection-gate.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerInfo, PeerTable } from "./peer-table.js";
import type { TransportSet } from "./transport-set.js";

export interface DialerOptions {
  readonly transports: TransportSet;
  readonly gate: ConnectionGate;
  readonly table: PeerTable;
  readonly guard: AbuseGuard;
}

/** What one join asks for, checked. */
export interface Dial {
  readonly address: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly peerId?: string | undefined;
}

export class Dialer {
  readonly #o: DialerOptions;

  constructor(options: DialerOptions) {
    this.#o = options;
  }

  /** Connects to `address` and completes both handshakes; resolves with the peer, rejects with why not. */
  async join({ address, timeoutMs, signal, peerId }: Dial): Promise<PeerInfo> {
    const { table, guard, gate } = this.#o;
    const transport = this.#o.transports.for(address);
    const started = performance.now();
    if (signal?.aborted) throw abortError("join", signal);
    if (peerId !== undefined) {
      const ban = guard.banned(`peer:${peerId}`);
      if (ban !== undefined) throw bannedError(`peer ${peerId}`, ban);
      // Already connected to that peer: nothing to dial.
      const open = table.open.get(peerId);
      if (open !== undefined) return table.infoOf(open);
    }
    const conn = await transport.dial(address, { timeoutMs, ...(signal ? { signal } : {}) });
    const session = await raceAbort(gate.open(conn, { expectedPeerId: peerId, timeoutMs }), signal, "join", (late) => late.close(), () => void conn.close());
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = (error: XppgError): void => session.close(error);
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new PlaygroundError(NODE_ERROR_CODES.HANDSHAKE_TIMEOUT, `Joining ${address} took longer than ${timeoutMs} ms. Check that an xppg node runs there.`);
          giveUp(error);
          reject(error);
        }, left);
      });
      await raceAbort(Promise.race([session.ready, deadline]), signal, "join", undefined, () => giveUp(abortError("join", signal!)));
    } catch (error) {
      // Two connections raced and the other was kept: the peer is joined all the same.
      const id = session.peerId;
      if (isXppgError(error, NODE_ERROR_CODES.DUPLICATE_CONNECTION) && id !== undefined) {
        // The kept connection may still be finishing its own handshake.
        const kept = table.open.get(id) ?? table.peers.get(id);
        if (kept !== undefined && kept !== session) {
          await kept.ready;
          return table.infoOf(kept);
        }
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return table.infoOf(table.open.get(session.peerId!) ?? session);
  }
}
