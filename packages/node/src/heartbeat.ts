/**
 * The heartbeat: pings a peer this node has not written to for an interval,
 * and drops one that has sent nothing for the timeout.
 */

import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { KIND_PING } from "./protocol.js";
import type { PeerTable } from "./peer-table.js";
import { ERROR_TEXTS } from "@xppg/errors";

export class Heartbeat {
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts ticking over the table's sessions. */
  start(table: PeerTable, intervalMs: number, timeoutMs: number): void {
    this.#timer = setInterval(() => tick(table, intervalMs, timeoutMs), intervalMs);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function tick(table: PeerTable, intervalMs: number, timeoutMs: number): void {
  for (const s of table.sessions) {
    if (!s.isOpen) continue;
    // A paused session (or one whose data waits for a later turn) is silent because this node stopped reading it, not because the peer is gone.
    if (s.receivedSinceTick || s.holding || table.paused.has(s)) {
      s.receivedSinceTick = false;
      s.silentTicks = 0;
    } else if (++s.silentTicks * intervalMs >= timeoutMs) {
      s.close(new PlaygroundError(NODE_ERROR_CODES.PEER_TIMEOUT, ERROR_TEXTS ? `The peer ${s.peerId} sent nothing for ${timeoutMs} ms; it is considered gone.` : [s.peerId, timeoutMs]));
      continue;
    }
    if (!s.sentSinceTick) void s.sendMessage(KIND_PING, null);
    s.sentSinceTick = false;
  }
}
