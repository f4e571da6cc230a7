/**
 * Bans, strikes and the allow-list: who may connect, and what happens to a
 * peer that keeps breaking the rules. A strike is recorded against the peer
 * id (when known) and the remote host each time a peer is dropped for
 * misbehaving; `banThreshold` strikes within `strikeWindowMs` ban that id or
 * host for `banDurationMs` (the node's limits of those names). Peer ids cost nothing to make, which is why hosts get
 * strikes too; a host shared by many users (a NAT) is the price of that.
 */

import type { XppgError } from "@xppg/errors";
import { FRAMING_ERROR_CODES } from "@xppg/framing";
import { TRANSPORT_ERROR_CODES } from "@xppg/transport";
import { STATE_ERROR_CODES } from "@xppg/state";
import { NODE_ERROR_CODES } from "./errors.js";

/**
 * Error codes that count as a strike: rules broken inside the authenticated
 * stream, so the peer itself said it. Faults below that (a record that
 * fails to decrypt, a transport error, a handshake that times out) are not
 * strikes: an on-path attacker can cause them, and a strike would let it
 * get an innocent peer banned. Nor are state errors about this node's own
 * replica (full, or a throwing merge or listener): an honest peer causes
 * them, see `LOCAL_STATE_ERROR_CODES` in `state-sync.ts`.
 */
const STRIKE_CODES: ReadonlySet<string> = new Set([
  NODE_ERROR_CODES.RATE_LIMITED,
  NODE_ERROR_CODES.PROTOCOL_VIOLATION,
  NODE_ERROR_CODES.BAD_SIGNATURE,
  FRAMING_ERROR_CODES.MALFORMED_ENVELOPE,
  FRAMING_ERROR_CODES.PAYLOAD_TOO_DEEP,
  FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
  // A received state update this replica refuses whatever it holds: the update itself breaks the rules.
  STATE_ERROR_CODES.INVALID_UPDATE,
  STATE_ERROR_CODES.UNSUPPORTED_FORMAT,
  STATE_ERROR_CODES.INVALID_KEY,
  STATE_ERROR_CODES.KEY_TOO_LONG,
  STATE_ERROR_CODES.INVALID_VALUE,
  STATE_ERROR_CODES.VALUE_TOO_LARGE,
  STATE_ERROR_CODES.TOO_MANY_ENTRIES,
  STATE_ERROR_CODES.VERSION_TOO_FAR_AHEAD,
  // A write to a key the sender's writer may not write (another peer's key, a bad signature, canWrite said no).
  STATE_ERROR_CODES.WRITE_NOT_ALLOWED,
]);

/** True for a reason that earns the peer a strike. */
export function isStrike(code: string): boolean {
  return STRIKE_CODES.has(code);
}

/**
 * True when the error a peer was dropped for earns it a strike: a code of
 * {@link isStrike}, or a frame over the limit inside the authenticated
 * stream (issue 16, item 13). `innerFrameLimit` is the frame limit inside
 * the secure channel, or null without encryption (then every oversize frame
 * is the peer's own). Encrypted, an oversize record of the layer below is
 * not counted: it is not authenticated, so someone on the path could have
 * sent it. The two are told apart by the limit they broke (the record limit
 * is 64 KiB, the frame limit `limits.maxFrameSize`).
 */
export function earnsStrike(error: XppgError, innerFrameLimit: number | null): boolean {
  if (STRIKE_CODES.has(error.code)) return true;
  if (error.code !== TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE) return false;
  return innerFrameLimit === null || error.details?.maxFrameSize === innerFrameLimit;
}

/** One entry of the ban list. */
export interface Ban {
  /** `peer:<peerId>` or `host:<address>`. */
  readonly key: string;
  /** When the ban ends (ms since the epoch); `Infinity` for never. */
  readonly until: number;
  readonly reason: string;
}

/** Named as the node's limits, which are given whole. */
export interface AbuseGuardOptions {
  banThreshold: number;
  strikeWindowMs: number;
  banDurationMs: number;
  allowPeers: ReadonlySet<string> | null;
  now?: () => number;
}

export class AbuseGuard {
  readonly #bans = new Map<string, Ban>();
  readonly #strikes = new Map<string, number[]>();
  readonly #options: AbuseGuardOptions;
  readonly #now: () => number;

  constructor(options: AbuseGuardOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The ban in force for `key`, if any (expired ones are forgotten). */
  banned(key: string): Ban | undefined {
    const ban = this.#bans.get(key);
    if (ban === undefined) return undefined;
    if (ban.until <= this.#now()) {
      this.#bans.delete(key);
      return undefined;
    }
    return ban;
  }

  /** False when an allow-list is set and does not name `peerId`. */
  allowed(peerId: string): boolean {
    return this.#options.allowPeers === null || this.#options.allowPeers.has(peerId);
  }

  ban(key: string, durationMs: number, reason: string): Ban {
    // Expired bans are dropped here too, so the list stays bounded by the bans in force.
    if (this.#bans.size >= 1024) this.list();
    const ban: Ban = { key, until: durationMs === Infinity ? Infinity : this.#now() + durationMs, reason };
    this.#bans.set(key, ban);
    this.#strikes.delete(key);
    return ban;
  }

  unban(key: string): boolean {
    this.#strikes.delete(key);
    return this.#bans.delete(key);
  }

  list(): Ban[] {
    const now = this.#now();
    for (const [key, ban] of this.#bans) if (ban.until <= now) this.#bans.delete(key);
    return [...this.#bans.values()];
  }

  /**
   * Records a strike against each key; returns the bans this caused.
   * Bounded: at most 10 000 keys are tracked, the oldest dropped first.
   */
  strike(keys: string[], reason: string): Ban[] {
    const now = this.#now();
    const bans: Ban[] = [];
    for (const key of keys) {
      const recent = (this.#strikes.get(key) ?? []).filter((t) => now - t < this.#options.strikeWindowMs);
      recent.push(now);
      this.#strikes.delete(key);
      if (recent.length >= this.#options.banThreshold) {
        bans.push(this.ban(key, this.#options.banDurationMs, `${recent.length} violations in ${Math.round(this.#options.strikeWindowMs / 1000)} s; last: ${reason}`));
      } else {
        this.#strikes.set(key, recent);
        if (this.#strikes.size > 10_000) this.#strikes.delete(this.#strikes.keys().next().value!);
      }
    }
    return bans;
  }
}

/**
 * The ban and share key of a remote host as a connection reports it
 * (`Connection.remoteHost`: an IPv4 address, or an IPv6 one, with or without
 * brackets). An IPv6 host is cut to its /64 network: one machine usually
 * holds a whole /64, so banning single addresses in it would ban nothing. An
 * IPv4 peer on a dual-stack listener (`::ffff:1.2.3.4`) is its IPv4 address,
 * not the /64 every IPv4 peer shares.
 */
export function hostKey(remoteHost: string): string {
  const host = remoteHost.startsWith("[") && remoteHost.endsWith("]") ? remoteHost.slice(1, -1) : remoteHost;
  if (!host.includes(":")) return host;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host);
  if (mapped !== null) return mapped[1]!;
  const groups = expandIpv6(host);
  return groups === null ? `[${host}]` : `[${groups.slice(0, 4).join(":")}::/64]`;
}

/** The eight groups of an IPv6 address (no zone, no embedded IPv4 handling beyond passing it through), or null. */
function expandIpv6(text: string): string[] | null {
  const [head, tail, extra] = text.split("::");
  if (extra !== undefined) return null;
  const left = head === "" ? [] : head!.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...new Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  return groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}
