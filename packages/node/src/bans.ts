/**
 * Bans and strikes as the node applies them: a violation strikes the peer id
 * and its host, past the threshold they are banned and disconnected. The
 * counting itself is the `AbuseGuard`'s.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { AbuseGuard, hostKey, type Ban } from "./abuse-guard.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerTable } from "./peer-table.js";

export interface BansOptions {
  readonly guard: AbuseGuard;
  readonly table: PeerTable;
  readonly localPeerId: string;
  /** A ban was made (by the operator or by strikes). */
  banned(ban: Ban): void;
}

export class Bans {
  readonly #o: BansOptions;

  constructor(options: BansOptions) {
    this.#o = options;
  }

  /** Records a violation against the peer id (when proved) and the host (`Connection.remoteHost`); bans and disconnects them past the threshold. */
  strike(peerId: string | undefined, remoteHost: string, error: XppgError): void {
    const keys = [`host:${hostKey(remoteHost)}`];
    if (peerId !== undefined) keys.unshift(`peer:${peerId}`);
    for (const ban of this.#o.guard.strike(keys, `${error.code}: ${error.message}`)) {
      this.#o.banned(ban);
      // A host banned by strikes keeps its live connections: others may share it (a NAT); new ones are refused.
      if (ban.key.startsWith("peer:")) this.disconnect(ban.key.slice(5), ban.reason);
    }
  }

  /** Bans `key` (`peer:<id>` or `host:<address>`) and disconnects whoever it names. */
  ban(key: string, durationMs: number, reason: string): Ban {
    const ban = this.#o.guard.ban(key, durationMs, reason);
    this.#enforce(ban);
    return ban;
  }

  #enforce(ban: Ban): void {
    this.#o.banned(ban);
    if (ban.key.startsWith("peer:")) {
      this.disconnect(ban.key.slice(5), ban.reason);
      return;
    }
    for (const s of [...this.#o.table.sessions]) if (`host:${hostKey(s.connection.remoteHost)}` === ban.key) s.close(bannedError(ban.key, ban));
  }

  /** Closes every connection of `peerId` (a standby too, so none takes over), telling it why; false when none is listed. */
  disconnect(peerId: string, reason: string): boolean {
    const table = this.#o.table;
    const listed = table.peers.has(peerId);
    const error = new PlaygroundError(NODE_ERROR_CODES.DISCONNECTED, ERROR_TEXTS ? `${this.#o.localPeerId} disconnected: ${reason.slice(0, 300)}` : [this.#o.localPeerId, reason.slice(0, 300)]);
    for (const s of [...table.sessions]) if (s.peerId === peerId && !s.isClosed) s.close(error);
    return listed;
  }
}

export function bannedError(who: string, ban: Ban): PlaygroundError {
  const until = ban.until === Infinity ? "for good" : `until ${new Date(ban.until).toISOString()}`;
  return new PlaygroundError(NODE_ERROR_CODES.BANNED, ERROR_TEXTS ? `The ${who} is banned ${until} (${ban.reason}). Use unban() to lift it.` : [who, until, ban.reason], { details: { key: ban.key } });
}

/**
 * The ban-list key of `ban`/`unban`'s argument: `peer:...` as given, a bare
 * peer id as `peer:<id>`, and `host:<address>` keyed as connections are (an
 * IPv6 address by its /64), so `ban("host:2001:db8::7")` refuses that host.
 */
export function banKey(peerIdOrHost: string): string {
  if (peerIdOrHost.startsWith("host:")) return `host:${hostKey(peerIdOrHost.slice(5))}`;
  return peerIdOrHost.startsWith("peer:") ? peerIdOrHost : `peer:${peerIdOrHost}`;
}
