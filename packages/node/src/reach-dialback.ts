/**
 * Dial-backs by a third node. A node A asks a peer R "have a node that is
 * not connected to me dial my port"; R picks another of its peers, C (not A,
 * not on A's host), and asks C to dial A's IP as R sees it; C connects and
 * closes at once, and R answers A with the outcome and C's host. A counts a
 * success only when its own listener saw a connection from C's host while it
 * waited, and only when A has no connection it dialled to that host (a NAT
 * lets a host in that the node itself contacted first): a success is never
 * anyone's word. A failure is R's word (and R names C itself), counted once
 * per R's host, and it never outweighs successes that still count (see
 * `Reachability`). R draws C by host, not by session, so one host with many
 * sessions to R is no likelier a helper. Every
 * role is bounded: asks, forwards and dials per peer, per target and at once.
 */

import { now as nowMs } from "@xppg/errors";
import { hostKey } from "./abuse-guard.js";
import type { PeerSession } from "./peer-session.js";
import { REACH_KIND, parseDial, parseDialbackResult, parseDialed, parsePort } from "./reach-wire.js";
import type { Reachability } from "./reachability.js";

/** Dial-backs one peer may have this node forward, or dial, a minute. */
export const DIALBACKS_PER_PEER_PER_MINUTE = 4;
/** Dials towards one host a minute, whoever asks (no SYN reflector). */
export const DIALS_PER_HOST_PER_MINUTE = 4;
/** Dial-backs this node forwards or dials at once. */
export const MAX_DIALBACKS_IN_FLIGHT = 8;
/** Time a helper's dial may take. */
export const DIAL_TIMEOUT_MS = 1500;
/** Time an ask waits for its answer. */
export const DIALBACK_ANSWER_MS = 5000;
/**
 * A peer whose answer gave no evidence ("no helper", or a success this node
 * cannot count) is asked again after this long at the soonest, unless a new
 * peer opens first; and a new peer lets the marked peers be asked again at
 * most once per this long.
 */
export const NO_HELPER_RETRY_MS = 60_000;
/** …twice as long after each further answer without evidence, up to this. */
export const NO_HELPER_RETRY_MAX_MS = 16 * 60_000;
/** Peer ids whose back-off is remembered (it outlives a session, so a peer reconnecting is not asked at once again). */
const MAX_NO_HELPER_MARKS = 256;

/** What the dial-back roles need of the node. */
export interface DialbackHost {
  readonly reach: Reachability;
  /** Open sessions with `reach/1`. */
  peers(): Iterable<PeerSession>;
  /** This node's TCP listening port, if it has one. */
  listenPort(): number | undefined;
  /** A TCP connect to `host:port` from `localAddress`, closed at once: true when it connected. */
  probe(host: string, port: number, timeoutMs: number, localAddress: string | undefined): Promise<boolean>;
  /** A dial-back counted: ask again if the verdict still wants evidence. */
  counted(): void;
}

class MinuteBudget {
  readonly #times = new Map<string, number[]>();
  constructor(readonly perMinute: number) {}

  /** True (and counted) when one more fits for `key`. */
  take(key: string): boolean {
    const now = Date.now();
    const times = (this.#times.get(key) ?? []).filter((t) => now - t < 60_000);
    this.#times.delete(key);
    // Bounded: the longest untouched key goes first, never all at once.
    if (this.#times.size >= 1024) this.#times.delete(this.#times.keys().next().value!);
    const ok = times.length < this.perMinute;
    if (ok) times.push(now);
    this.#times.set(key, times);
    return ok;
  }
}

interface Ask {
  readonly at: number;
  readonly timer: NodeJS.Timeout;
  /** The ask budget it was made in (`renew`). */
  readonly budget: number;
}

/** A peer whose answer gave no evidence: not asked again before `until`; `wait` is the back-off that set it. */
interface NoHelper {
  readonly until: number;
  readonly wait: number;
}

export class Dialbacks {
  readonly #h: DialbackHost;
  /** Hosts that connected to this node's listener, with when (the newest 256). */
  readonly #inbound = new Map<string, number>();
  readonly #asks = new Map<PeerSession, Ask>();
  /** Peers (by id) whose last answer gave no evidence: the newest MAX_NO_HELPER_MARKS, kept across a reconnect. */
  readonly #noHelper = new Map<string, NoHelper>();
  /** When a new peer last let the marked peers be asked again. */
  #cleared = -Infinity;
  /** Tokens this node forwarded to a helper: the asker, the helper, the timer. */
  readonly #forwards = new Map<string, { asker: PeerSession; helper: PeerSession; timer: NodeJS.Timeout }>();
  readonly #perPeer = new MinuteBudget(DIALBACKS_PER_PEER_PER_MINUTE);
  readonly #perHost = new MinuteBudget(DIALS_PER_HOST_PER_MINUTE);
  /** The host of the helper last drawn for an asker. */
  readonly #lastHelper = new WeakMap<PeerSession, string>();
  #dialing = 0;
  /** Asks made in the current budget, less those of it answered without evidence; a node asks a few times, not on every link forever. */
  asked = 0;
  #budget = 0;

  constructor(host: DialbackHost) {
    this.#h = host;
  }

  /** A connection reached this node's listener from `remoteHost`. */
  inbound(remoteHost: string): void {
    const key = hostKey(remoteHost);
    this.#inbound.delete(key);
    this.#inbound.set(key, nowMs());
    if (this.#inbound.size > 256) this.#inbound.delete(this.#inbound.keys().next().value!);
  }

  /** Starts a new ask budget: `asked` from 0; an answer to an ask of an earlier budget gives nothing back to this one. */
  renew(): void {
    this.#budget++;
    this.asked = 0;
  }

  /** Whether `session`'s peer last answered without evidence and is not to be asked yet. */
  backedOff(session: PeerSession): boolean {
    const mark = session.peerId === undefined ? undefined : this.#noHelper.get(session.peerId);
    return (mark?.until ?? -Infinity) > nowMs();
  }

  /**
   * A new peer's `reach/1` session opened (`fresh`: no other session of that
   * peer id was open): a peer that had no helper may have one now (a new
   * peer of this node is often one of its peers' too), so each may be asked
   * again. Not for a peer that is itself marked (one reconnecting is no new
   * peer), and at most once per NO_HELPER_RETRY_MS: peers that come and go
   * cannot make this node ask the others more often.
   */
  peersChanged(session: PeerSession, fresh: boolean): void {
    const t = nowMs();
    if (!fresh || session.peerId === undefined || this.#noHelper.has(session.peerId) || this.#noHelper.size === 0 || t - this.#cleared < NO_HELPER_RETRY_MS) return;
    this.#cleared = t;
    this.#noHelper.clear();
  }

  /** Asks `session` for a dial-back (one at a time per peer, none while it is backed off); false when it was not asked. */
  ask(session: PeerSession): boolean {
    const port = this.#h.listenPort();
    if (port === undefined || this.#asks.has(session) || this.backedOff(session)) return false;
    this.asked++;
    const timer = setTimeout(() => this.#asks.delete(session), DIALBACK_ANSWER_MS);
    timer.unref();
    this.#asks.set(session, { at: nowMs(), timer, budget: this.#budget });
    void session.sendMessage(REACH_KIND.DIALBACK, { port });
    return true;
  }

  /** Handles a dial-back kind; false when the payload is malformed (a violation). */
  handle(session: PeerSession, kind: string, payload: unknown, outboundHosts: () => Set<string>): boolean {
    if (kind === REACH_KIND.DIALBACK) {
      const port = parsePort(payload);
      if (port === undefined) return false;
      this.#forward(session, port);
      return true;
    }
    if (kind === REACH_KIND.DIAL) {
      const dial = parseDial(payload);
      if (dial === undefined) return false;
      void this.#dial(session, dial);
      return true;
    }
    if (kind === REACH_KIND.DIALED) {
      const dialed = parseDialed(payload);
      if (dialed === undefined) return false;
      const f = this.#forwards.get(dialed.token);
      // Only the helper asked may answer, once; anything else is ignored.
      if (f === undefined || f.helper !== session) return true;
      this.#forwards.delete(dialed.token);
      clearTimeout(f.timer);
      this.#dialing--;
      void f.asker.sendMessage(REACH_KIND.DIALBACK_RESULT, { ok: dialed.ok, via: hostKey(session.connection.remoteHost) });
      return true;
    }
    // DIALBACK_RESULT
    const result = parseDialbackResult(payload);
    if (result === undefined) return false;
    const ask = this.#asks.get(session);
    if (ask === undefined) return true; // unasked or late: ignored
    this.#asks.delete(session);
    clearTimeout(ask.timer);
    // No helper (or none in time, or over its budget), or a success this node's listener did not witness, or from a host
    // it dialled itself (a NAT lets that one in): no evidence either way, and asking again soon would get the same.
    if (result.via === "" || (result.ok && !this.#witnessed(result.via, ask.at, outboundHosts))) return this.#noEvidence(session, ask);
    if (session.peerId !== undefined) this.#noHelper.delete(session.peerId);
    // Timed by the ask: the result tells of the node as it was when asked (a change since then outdates it).
    if (result.ok) {
      this.#h.reach.dialback(`via:${result.via}`, true, ask.at);
    } else {
      this.#h.reach.dialback(`asked:${hostKey(session.connection.remoteHost)}`, false, ask.at);
    }
    this.#h.counted();
    return true;
  }

  /** Whether this node's own listener saw `via` connect since `askedAt`, and this node did not dial that host itself. */
  #witnessed(via: string, askedAt: number, outboundHosts: () => Set<string>): boolean {
    const seen = this.#inbound.get(via);
    return seen !== undefined && seen >= askedAt && !outboundHosts().has(via);
  }

  /**
   * An answer that gave no evidence: the ask does not count against the
   * node's asks, and the peer is not asked again before a back-off that
   * doubles at each such answer (or a new peer's session opens).
   */
  #noEvidence(session: PeerSession, ask: Ask): true {
    if (ask.budget === this.#budget) this.asked--;
    const id = session.peerId;
    if (id === undefined) return true;
    const wait = Math.min(NO_HELPER_RETRY_MAX_MS, 2 * (this.#noHelper.get(id)?.wait ?? NO_HELPER_RETRY_MS / 2));
    this.#noHelper.delete(id);
    this.#noHelper.set(id, { until: nowMs() + wait, wait });
    // Bounded: the oldest mark goes first (a peer that lost its mark is asked at most once more, then marked again).
    if (this.#noHelper.size > MAX_NO_HELPER_MARKS) this.#noHelper.delete(this.#noHelper.keys().next().value!);
    return true;
  }

  /** Forgets a session that ended (its peer's back-off is kept while it runs: a peer that reconnects is not asked again sooner). */
  ended(session: PeerSession): void {
    const ask = this.#asks.get(session);
    if (ask !== undefined) clearTimeout(ask.timer);
    this.#asks.delete(session);
    const id = session.peerId;
    if (id !== undefined && (this.#noHelper.get(id)?.until ?? -Infinity) <= nowMs()) this.#noHelper.delete(id);
    for (const [token, f] of this.#forwards) {
      if (f.asker !== session && f.helper !== session) continue;
      clearTimeout(f.timer);
      this.#forwards.delete(token);
      this.#dialing--;
      if (f.asker !== session) void f.asker.sendMessage(REACH_KIND.DIALBACK_RESULT, { ok: false, via: "" });
    }
  }

  close(): void {
    for (const a of this.#asks.values()) clearTimeout(a.timer);
    for (const f of this.#forwards.values()) clearTimeout(f.timer);
    this.#asks.clear();
    this.#noHelper.clear();
    this.#forwards.clear();
  }

  #forward(asker: PeerSession, port: number): void {
    const askerHost = hostKey(asker.connection.remoteHost);
    const noHelper = (): void => void asker.sendMessage(REACH_KIND.DIALBACK_RESULT, { ok: false, via: "" });
    if (!this.#perPeer.take(`ask:${askerHost}`) || this.#dialing >= MAX_DIALBACKS_IN_FLIGHT || !/^\d{1,3}(\.\d{1,3}){3}$/.test(askerHost)) return noHelper();
    // One session a host: a host with many sessions to this node is no likelier the helper (its word is one host's).
    const byHost = new Map<string, PeerSession>();
    for (const s of this.#h.peers()) {
      const host = hostKey(s.connection.remoteHost);
      if (s !== asker && host !== askerHost && !byHost.has(host)) byHost.set(host, s);
    }
    // Another helper host than last time for this asker, when there is one: each answer should be a new witness.
    const hosts = [...byHost.keys()];
    const fresh = hosts.filter((h) => h !== this.#lastHelper.get(asker));
    const pool = fresh.length > 0 ? fresh : hosts;
    const helperHost = pool[Math.floor(Math.random() * pool.length)];
    if (helperHost === undefined) return noHelper();
    const helper = byHost.get(helperHost)!;
    // node:crypto at the first dial-back, not with the node (about 3 to 4 ms of CPU in a fresh process, issue 15).
    const token = process.getBuiltinModule("node:crypto").randomBytes(8).toString("hex");
    const timer = setTimeout(() => {
      if (!this.#forwards.delete(token)) return;
      this.#dialing--;
      noHelper();
    }, DIALBACK_ANSWER_MS - 1000);
    timer.unref();
    this.#dialing++;
    this.#lastHelper.set(asker, helperHost);
    this.#forwards.set(token, { asker, helper, timer });
    // The asker's own IP as this node sees it: never an address anyone names.
    void helper.sendMessage(REACH_KIND.DIAL, { host: askerHost, port, token });
  }

  async #dial(from: PeerSession, dial: { host: string; port: number; token: string }): Promise<void> {
    // Over a budget: no answer (the asker then learns nothing, rather than a false failure).
    // Never a probe of this node's own machine or of special addresses, nor of a private network the asking link does not come from.
    if (!dialBackTarget(dial.host, from.connection.remoteHost)) return;
    if (this.#dialing >= MAX_DIALBACKS_IN_FLIGHT || !this.#perPeer.take(`dial:${hostKey(from.connection.remoteHost)}`) || !this.#perHost.take(dial.host)) return;
    this.#dialing++;
    try {
      const local = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(from.connection.localAddress)?.[1];
      const ok = await this.#h.probe(dial.host, dial.port, DIAL_TIMEOUT_MS, local);
      void from.sendMessage(REACH_KIND.DIALED, { token: dial.token, ok });
    } finally {
      this.#dialing--;
    }
  }
}

/**
 * Whether a dial-back may go to IPv4 `host` when asked over a link from
 * `via`: never "this network", link-local, multicast, reserved or
 * broadcast; a loopback address only over a loopback link, a private or
 * shared (CGNAT) one only over a private or loopback link (a peer on the
 * internet cannot make this node probe its own machine or its LAN).
 */
export function dialBackTarget(host: string, via: string): boolean {
  const a = ipv4(host);
  if (a === undefined) return false;
  const x = a[0]!;
  const y = a[1]!;
  if (x === 0 || (x === 169 && y === 254) || x >= 224) return false;
  const v = ipv4(via.replace(/^::ffff:/, ""));
  const viaLoopback = v !== undefined && v[0] === 127;
  if (x === 127) return viaLoopback;
  if (!isPrivate(a)) return true;
  return viaLoopback || (v !== undefined && isPrivate(v));
}

function ipv4(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

function isPrivate(a: number[]): boolean {
  const x = a[0]!;
  const y = a[1]!;
  return x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127);
}
