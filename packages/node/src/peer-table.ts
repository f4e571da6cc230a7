/**
 * The peer table: every session of the node, who is connected, and the
 * admission rules a peer's hello must pass (same app and protocol, proved id,
 * not banned, not itself, room left, one connection per peer).
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { AbuseGuard } from "./abuse-guard.js";
import type { PeerSession } from "./peer-session.js";
import { mismatchReason, settle, type Agreement, type ProtocolOffer } from "./negotiation.js";
import type { Refusal, RemoteHello } from "./protocol.js";
import { standbyClosedError } from "./session-errors.js";
import { OpenSessions } from "./open-sessions.js";
import { KEEPS_LAST_TARGET } from "#host";

/** The capability of a node whose duplicate connections are decided by the side that accepted both (`#duplicateRule`). */
export const DUPLICATES_CAPABILITY = "dup/1";

/** Why a connection ended that ends the peer's other connections too (the peer's word or this node's): no standby takes over. */
const ENDS_THE_PEER = new Set<string>([NODE_ERROR_CODES.PEER_SHUTDOWN, NODE_ERROR_CODES.DISCONNECTED, NODE_ERROR_CODES.BANNED, NODE_ERROR_CODES.NOT_ALLOWED, NODE_ERROR_CODES.STOPPED]);

/** Why a connection to `peerId` loses to another: the reason its goodbye carries. */
function keptElsewhere(peerId: string): string {
  return `already connected to ${peerId}; the other connection is kept`;
}

/** A connected peer. */
export interface PeerInfo {
  /** The peer's id. */
  readonly peerId: string;
  /** The address of the connection (for an inbound one, the peer's outgoing port). */
  readonly address: string;
  /** True when this node dialled the peer. */
  readonly outbound: boolean;
  /** The addresses the peer says it listens on. */
  readonly listenAddresses: readonly string[];
  /** The protocol version both sides settled on: the highest both speak. */
  readonly protocol: number;
  /** The capabilities both sides support (sorted); a feature is used with this peer only if its capability is here. */
  readonly capabilities: readonly string[];
  /** The path messages take (`pg.peers` fills it in): `direct`, `punched` (a relayed link moved to a hole-punched connection) or `relayed`. */
  readonly path?: "direct" | "punched" | "relayed";
}

/** What the table needs to know about this node. */
export interface PeerTableOptions {
  readonly localPeerId: string;
  readonly appName: string;
  readonly maxPeers: number;
  /** What this node's hello offers. */
  readonly offer: ProtocolOffer;
  readonly guard: AbuseGuard;
  /** Most difference between this node's clock and a peer's (its hello's time) that is accepted. */
  readonly maxClockSkewMs: number;
  /** This node's clock (ms since the epoch). @default Date.now */
  readonly now?: () => number;
  /** Counts a connection refused for a ban or the allow-list. */
  refused(): void;
}

export class PeerTable {
  /** Every session, from the secure handshake's end to its close. */
  readonly sessions = new Set<PeerSession>();
  /** Sessions past the handshake, by peer id (reserved at admission, so a racing duplicate is seen). */
  readonly peers = new Map<string, PeerSession>();
  /** Sessions both sides accepted, by peer id: the ones messages go to (in Node, an {@link OpenSessions}: `pg.send`'s way to them). */
  readonly open: Map<string, PeerSession> = KEEPS_LAST_TARGET ? new OpenSessions() : new Map<string, PeerSession>();
  /** Sessions whose reading is paused (disk back-pressure): the heartbeat does not count their silence. */
  readonly paused = new Set<PeerSession>();
  readonly #info = new Map<PeerSession, PeerInfo>();
  /** What each admitted session settled on. */
  readonly #agreements = new WeakMap<PeerSession, Agreement>();
  /** Peers whose `peer:joined` was emitted and whose `peer:left` was not. */
  readonly #announced = new Set<string>();
  /**
   * Peers whose connection the peer closed as a duplicate while this node's
   * other connection to it was still in its handshake: their leave waits
   * for that connection (no leave if it opens, a leave if it fails).
   */
  readonly #replacing = new Map<string, PeerInfo>();
  /** Second connections to a peer kept aside while the peer decides which of the two stays (`#duplicateRule`), with the joins waiting for that. */
  readonly #standby = new Map<PeerSession, Array<(ended?: XppgError) => void>>();
  readonly #o: PeerTableOptions;

  constructor(options: PeerTableOptions) {
    this.#o = options;
  }

  /** The connected peers. */
  list(): PeerInfo[] {
    return [...this.open.values()].map((s) => this.infoOf(s));
  }

  /** The info of a session (made from its hello when it has none yet). */
  infoOf(session: PeerSession): PeerInfo {
    const known = this.#info.get(session);
    if (known !== undefined) return known;
    const hello = session.remoteHello!;
    const agreed = this.agreementOf(session);
    return {
      peerId: hello.peerId,
      address: session.connection.remoteAddress,
      outbound: session.connection.outbound,
      listenAddresses: hello.listen,
      protocol: agreed.version,
      capabilities: agreed.capabilities,
    };
  }

  /** What an admitted session settled on (nothing settled: the oldest version, no capabilities). */
  agreementOf(session: PeerSession): Agreement {
    return this.#agreements.get(session) ?? { version: this.#o.offer.min, capabilities: [] };
  }

  /** True when the peer of an admitted session shares the capability. */
  supports(session: PeerSession, capability: string): boolean {
    return this.#agreements.get(session)?.capabilities.includes(capability) === true;
  }

  /** One open session, or every one; throws `XPPG_ERR_UNKNOWN_PEER` for an unknown id. */
  targets(to: string | undefined): PeerSession[] {
    if (to === undefined) return [...this.open.values()];
    return [this.target(to)];
  }

  target(to: string): PeerSession {
    const s = this.open.get(to);
    if (s === undefined) throw unknownPeerError(to);
    return s;
  }

  /** Decides whether to accept the peer of a hello; returns the refusal, or null after reserving its place. */
  admit(session: PeerSession, hello: RemoteHello): Refusal | null {
    const self = this.#o.localPeerId;
    // Encrypted, the secure handshake already refused another key; this also covers `dangerouslyDisableEncryption`.
    if (session.expectedPeerId !== undefined && hello.peerId !== session.expectedPeerId) {
      return {
        code: NODE_ERROR_CODES.PEER_ID_MISMATCH,
        reason:
          `peer id mismatch: the node at ${session.connection.remoteAddress} is ${hello.peerId}, but the join expected ${session.expectedPeerId}. ` +
          "Check the address and the peer id you join",
      };
    }
    if (hello.app !== this.#o.appName) {
      return {
        code: NODE_ERROR_CODES.APP_MISMATCH,
        reason: `app mismatch: one side runs "${this.#o.appName}", the other "${hello.app}". Peers talk only within the same appName.`,
      };
    }
    const agreement = settle(this.#o.offer, hello.offer);
    if (agreement === null) {
      return {
        code: NODE_ERROR_CODES.PROTOCOL_MISMATCH,
        reason: mismatchReason({ peerId: self, offer: this.#o.offer }, { peerId: hello.peerId, offer: hello.offer }),
      };
    }
    const skew = clockSkewRefusal(hello.time, (this.#o.now ?? Date.now)(), this.#o.maxClockSkewMs, self, hello.peerId);
    if (skew !== null) return skew;
    if (session.authenticatedPeerId !== undefined && hello.peerId !== session.authenticatedPeerId) {
      return { code: NODE_ERROR_CODES.PROTOCOL_VIOLATION, reason: `the hello claims the id ${hello.peerId}, but the secure channel proved ${session.authenticatedPeerId}` };
    }
    const guard = this.#o.guard;
    const ban = guard.banned(`peer:${hello.peerId}`);
    if (ban !== undefined || !guard.allowed(hello.peerId)) {
      this.#o.refused();
      return ban !== undefined
        ? { code: NODE_ERROR_CODES.BANNED, reason: `the peer ${hello.peerId} is banned by ${self}` }
        : { code: NODE_ERROR_CODES.NOT_ALLOWED, reason: `the peer ${hello.peerId} is not on ${self}'s allow-list` };
    }
    if (hello.peerId === self) {
      return { code: NODE_ERROR_CODES.SELF_CONNECTION, reason: `the node ${self} connected to itself: that address is this node, or another process uses the same identity (the same key file). Join another node's address, and give each process its own identity or key file.` };
    }
    const existing = this.peers.get(hello.peerId);
    if (existing !== undefined && existing !== session && existing.isClosed) {
      // A connection that is already going away never blocks a new one.
      this.peers.delete(hello.peerId);
    } else if (existing !== undefined && existing !== session) {
      const duplicate = { code: NODE_ERROR_CODES.DUPLICATE_CONNECTION, reason: keptElsewhere(hello.peerId) };
      const rule = this.#duplicateRule(session, existing, hello.peerId, agreement);
      if (rule === "standby") {
        // One standby per peer that it dialled, and a peer's second connection counts against the limit: a peer that dials again and again
        // holds no more. This node's own dials are not refused here: the peer may keep any of them, and only it knows which.
        if (!session.connection.outbound && this.#standbyOf(hello.peerId) !== undefined) return duplicate;
        if (!session.connection.outbound && this.peers.size + this.#standby.size >= this.#o.maxPeers) return this.#full();
        // Kept aside until the peer decides: its welcome on it (`opened` then lists it) or a bye on one of the two (`ended`).
        // It spends from the listed connection's rate limits: one peer, one set of limits, however many connections.
        session.shareLimits(existing);
        this.#standby.set(session, []);
        this.#agreements.set(session, agreement);
        this.#info.set(session, this.infoOf(session));
        return null;
      }
      if (rule === "refuse") return duplicate;
      this.peers.delete(hello.peerId);
      existing.close(new PlaygroundError(NODE_ERROR_CODES.DUPLICATE_CONNECTION, duplicate.reason));
    } else if (this.peers.size + this.#standby.size >= this.#o.maxPeers) {
      return this.#full();
    }
    // Reserved now, so a racing second connection is seen as a duplicate;
    // listed in `open` only once the peer's welcome arrives (`opened`).
    this.peers.set(hello.peerId, session);
    this.#agreements.set(session, agreement);
    this.#info.set(session, this.infoOf(session));
    return null;
  }

  /** The peer's standby that is still open, if any (at most one that the peer dialled). */
  #standbyOf(peerId: string): PeerSession | undefined {
    for (const s of this.#standby.keys()) if (s.peerId === peerId && !s.isClosed) return s;
    return undefined;
  }

  #full(): Refusal {
    const n = this.peers.size + this.#standby.size;
    return { code: NODE_ERROR_CODES.TOO_MANY_PEERS, reason: `the node ${this.#o.localPeerId} has reached its limit of ${n} peer connection${n === 1 ? "" : "s"} (limits.maxPeers). Try another node, or ask its owner to raise the limit.` };
  }

  /**
   * Two connections to one peer (both dialled at once, or a re-join): both
   * sides must keep the same one, from facts both share. Each side dialled
   * one: the one dialled by the smaller peer id stays. One side dialled both:
   * only the side that accepted them decides (it keeps the first it admitted
   * and refuses the other with a bye), and the dialler keeps the newcomer as
   * a standby until the bye says which one lost. Whether a connection has
   * opened may differ between the ends for a few ms, so it decides nothing.
   * A peer without `dup/1` (an older release) decides alone, whichever side
   * it is on: this side then keeps the newcomer as a standby too.
   */
  #duplicateRule(session: PeerSession, existing: PeerSession, remote: string, agreement: Agreement): "replace" | "refuse" | "standby" {
    const self = this.#o.localPeerId;
    const dialer = (s: PeerSession): string => (s.connection.outbound ? self : remote);
    if (dialer(session) !== dialer(existing)) return dialer(session) === (self < remote ? self : remote) ? "replace" : "refuse";
    return !session.connection.outbound && agreement.capabilities.includes(DUPLICATES_CAPABILITY) ? "refuse" : "standby";
  }

  /** For a standby: resolves once it took over, rejects with why it ended. Nothing to wait for otherwise. */
  decided(session: PeerSession): Promise<void> | undefined {
    const waiters = this.#standby.get(session);
    return waiters && new Promise((resolve, reject) => waiters.push((ended) => (ended ? reject(ended) : resolve())));
  }

  /** The peer's connection that took over from `session` and is open but not listed yet (the caller runs its `opened`). */
  successor(session: PeerSession): PeerSession | undefined {
    const peerId = session.peerId;
    const next = peerId === undefined ? undefined : this.peers.get(peerId);
    return next !== undefined && next !== session && next.isOpen && this.open.get(peerId!) !== next ? next : undefined;
  }

  /** Both sides accepted: lists the session. Returns the peer when it is new (not a connection replacing another). */
  opened(session: PeerSession): PeerInfo | undefined {
    const peerId = session.peerId!;
    if (this.#standby.has(session)) {
      // Only a `dup/1` peer's welcome is its decision; an older one welcomes what it admits and may still replace it (its bye decides).
      if (!session.connection.outbound || !this.#agreements.get(session)?.capabilities.includes(DUPLICATES_CAPABILITY)) return undefined;
      // It decides between this node's dials; between a dial of each side the rule does (the peer's bye on the loser).
      const listed = this.peers.get(peerId);
      if (listed !== undefined && !listed.isClosed && !listed.connection.outbound) return undefined;
      this.#promote(session, peerId);
    }
    if (this.peers.get(peerId) !== session) return undefined;
    // The connections held aside that the other side dialled lost to this one by the rule between a dial of each side: closed once it is
    // open (a late welcome on one must not take over from it), not when admitted: if it fails before it opens, one of them carries the link.
    for (const s of this.#standby.keys()) {
      if (s.peerId === peerId && s.connection.outbound !== session.connection.outbound) s.close(new PlaygroundError(NODE_ERROR_CODES.DUPLICATE_CONNECTION, keptElsewhere(peerId)));
    }
    this.open.set(peerId, session);
    this.#replacing.delete(peerId);
    if (this.#announced.has(peerId)) return undefined;
    this.#announced.add(peerId);
    return this.infoOf(session);
  }

  /**
   * A `dup/1` peer welcomed a standby this node dialled: that is its
   * decision, since it welcomes only the connection it keeps and refuses the
   * other (an older node welcomes what it admits and may still replace it,
   * so its welcome is ignored: its bye decides). The standby is listed at once
   * (the peer's messages on it, mesh control too, belong to the peer's
   * link) and the other connection is closed as the duplicate (it drains).
   */
  #promote(session: PeerSession, peerId: string): void {
    const waiting = this.#standby.get(session)!;
    this.#standby.delete(session);
    const listed = this.peers.get(peerId);
    this.peers.set(peerId, session);
    if (this.open.get(peerId) === listed) this.open.delete(peerId);
    for (const resolve of waiting) resolve();
    if (listed === undefined || listed === session) return;
    listed.close(new PlaygroundError(NODE_ERROR_CODES.DUPLICATE_CONNECTION, ERROR_TEXTS ? `${peerId} kept another connection to ${this.#o.localPeerId}` : [peerId, this.#o.localPeerId]));
  }

  /**
   * A session ended: forgets it. Returns the peer when it left (it was the
   * peer's registered session and was announced, and no other connection
   * to the peer is replacing it).
   */
  ended(session: PeerSession, error?: XppgError): PeerInfo | undefined {
    this.sessions.delete(session);
    this.paused.delete(session);
    const info = this.#info.get(session);
    this.#info.delete(session);
    const peerId = session.peerId;
    if (peerId === undefined) return this.#replacementEnded(session.authenticatedPeerId ?? session.expectedPeerId);
    const waiting = this.#standby.get(session);
    if (waiting !== undefined) {
      this.#standby.delete(session);
      // Its own words: the standby carried no message (the node's own stop keeps XPPG_ERR_STOPPED).
      const closed = session.closedError();
      const why = error ?? (closed.code === NODE_ERROR_CODES.STOPPED ? closed : standbyClosedError(peerId));
      for (const resolve of waiting) resolve(why);
      return this.#replacementEnded(peerId);
    }
    if (this.open.get(peerId) === session) this.open.delete(peerId);
    // Still the registered session: the peer is gone (not replaced by another connection).
    if (this.peers.get(peerId) !== session) return this.#replacementEnded(peerId);
    this.peers.delete(peerId);
    const standby = this.#standbyOf(peerId);
    const guard = this.#o.guard;
    const gone = (error !== undefined && ENDS_THE_PEER.has(error.code)) || guard.banned(`peer:${peerId}`) !== undefined || !guard.allowed(peerId);
    if (standby !== undefined && gone) {
      // A stop, a disconnect or a ban ends every connection to the peer: a standby must not carry the peer on.
      // (A peer's own reason in its bye is not repeated to it as this node's.)
      for (const s of this.#standby.keys()) if (s.peerId === peerId) s.close(error?.details?.["remote"] === true ? undefined : error);
    } else if (standby !== undefined) {
      // The other connection the peer was deciding about stays: it takes over (listed once the peer welcomes it), and the peer is not leaving unless it fails too.
      const waiting = this.#standby.get(standby)!;
      this.#standby.delete(standby);
      this.peers.set(peerId, standby);
      // After the caller has listed it (`successor`): a join waiting on it resolves with the peer listed.
      queueMicrotask(() => {
        for (const resolve of waiting) resolve();
      });
      if (this.#announced.has(peerId) && info !== undefined) this.#replacing.set(peerId, info);
      return undefined;
    }
    if (!this.#announced.has(peerId)) return undefined;
    // The peer kept its new connection (it said so in the goodbye on this one) before that one opened here:
    // the peer is not leaving, unless that connection fails too.
    if (error?.code === NODE_ERROR_CODES.DUPLICATE_CONNECTION && info !== undefined && this.#underWay(peerId)) {
      this.#replacing.set(peerId, info);
      return undefined;
    }
    this.#replacing.delete(peerId);
    this.#announced.delete(peerId);
    return info;
  }

  /** A session that was not the peer's registered one ended: if it was the last hope of a held leave, the leave happens now. */
  #replacementEnded(peerId: string | undefined): PeerInfo | undefined {
    if (peerId === undefined) return undefined;
    const held = this.#replacing.get(peerId);
    if (held === undefined || this.peers.has(peerId) || this.#underWay(peerId)) return undefined;
    this.#replacing.delete(peerId);
    this.#announced.delete(peerId);
    return held;
  }

  /** True while another connection to the peer is in its handshake. */
  #underWay(peerId: string): boolean {
    for (const s of this.sessions) {
      if (!s.isClosed && (s.peerId ?? s.authenticatedPeerId ?? s.expectedPeerId) === peerId) return true;
    }
    return false;
  }
}

export function unknownPeerError(peerId: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.UNKNOWN_PEER, ERROR_TEXTS ? `No connected peer has the id "${peerId}". Check pg.peers, or join it first.` : [peerId], { details: { peerId } });
}

/**
 * The refusal for a peer whose clock (its hello's `time`) is further than
 * `maxMs` from this node's, else null. Signed broadcasts and state versions
 * carry their time, so beyond that bound each side would silently drop the
 * other's data; refusing at the handshake says why, on both sides.
 */
export function clockSkewRefusal(theirTime: number | undefined, now: number, maxMs: number, self: string, peerId: string): Refusal | null {
  if (theirTime === undefined) return null;
  const aheadMs = theirTime - now;
  if (Math.abs(aheadMs) <= maxMs) return null;
  const seconds = Math.round(Math.abs(aheadMs) / 1000);
  const span = seconds >= 120 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
  return {
    code: NODE_ERROR_CODES.CLOCK_SKEW,
    reason:
      `the clocks of ${self} and ${peerId} differ by ${span} (${peerId}'s is ${aheadMs > 0 ? "ahead" : "behind"}), more than the ${Math.round(maxMs / 1000)} s ` +
      "within which signed broadcasts and shared state are accepted. Set the wrong clock right (turn on network time sync) and join again",
  };
}
