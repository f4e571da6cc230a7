/**
 * The options and the counters of a relay (`relay-service.ts`, which
 * exports them too): every limit, with its default.
 */

import type { XppgError } from "@xppg/errors";
import type { Transport } from "@xppg/transport";

/** Limits and settings of a {@link RelayService}. */
export interface RelayServiceOptions {
  /**
   * Another transport to listen on; its circuits are forwarded frame by frame.
   * Without it the relay listens on TCP itself and splices circuits' sockets.
   */
  transport?: Transport;
  /** Reservations held at once. @default 64 */
  maxReservations?: number;
  /** Reservations held at once from one IP address (one host cannot take every slot). @default 8 */
  maxReservationsPerIp?: number;
  /** Circuits open at once. @default 32 */
  maxCircuits?: number;
  /** Circuits open at once to or from one IP address. @default 8 */
  maxCircuitsPerIp?: number;
  /** Bytes one circuit may carry (both directions together); then it is closed. @default 64 MiB */
  maxCircuitBytes?: number;
  /**
   * Bytes a second one circuit may carry in each direction (a token bucket
   * holding one second's worth); past it the relay stops reading that side
   * until the rate allows more. `Infinity` turns it off.
   * @default 4 MiB
   */
  maxCircuitBytesPerSecond?: number;
  /** How long one circuit may stay open, in ms. @default 30 minutes */
  maxCircuitDurationMs?: number;
  /** Time for a new connection's first message, and for a reserved peer to accept a circuit. @default 5000 */
  setupTimeoutMs?: number;
  /** How long a reservation lasts unless renewed (the client renews at half-time). @default 1 hour */
  reservationTtlMs?: number;
  /** Connections that have not sent their first message yet (the rest are dropped at once). @default 256 */
  maxPendingConnections?: number;
  /** The same, from one IP address. @default 32 */
  maxPendingConnectionsPerIp?: number;
  /** Dial-backs per IP address per minute (a peer asks "can you reach me?"). @default 4 */
  dialbacksPerIpPerMinute?: number;
  /** Time a dial-back may take. @default 1500 */
  dialbackTimeoutMs?: number;
  /**
   * Where a broken contract of `transport` goes: a connection of it (an
   * accepted one, or a dial-back's) whose `close` throws or rejects, as
   * `XPPG_ERR_TRANSPORT_CONTRACT` with what it threw as its `cause`. The
   * relay has called its close and carries on; nothing is thrown nor left an
   * unhandled rejection (a handler that throws is ignored). A node that serves a relay
   * (`reach.serveRelay`) reports these as its `error` event.
   * @default ignored
   */
  onError?: (error: XppgError) => void;
}

/** What a {@link RelayService} counts. */
export interface RelayStats {
  reservations: number;
  circuits: number;
  circuitsOpened: number;
  /** Bytes carried over all circuits, both directions. */
  bytesRelayed: number;
  refused: number;
  dialbacks: number;
  /** Reservations renewed (a reservation lasts `reservationTtlMs` unless renewed). */
  renewals: number;
  /** Times a circuit's side was paused for going over `maxCircuitBytesPerSecond`. */
  throttled: number;
  /** Circuit accepts naming no waiting circuit, or from another address than the reserved peer's (also counted in `refused`). */
  badTokens: number;
  /** Connections dropped unread: over `maxPendingConnections` or `maxPendingConnectionsPerIp`. */
  dropped: number;
}
