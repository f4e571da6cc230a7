/**
 * LAN discovery over multicast DNS service discovery (RFC 6762, RFC 6763),
 * with the `multicast-dns` package for the socket and the DNS codec.
 *
 * A node announces `<peerId>._xppg._tcp.local` (PTRs from `_xppg._tcp.local`
 * and from its app's subtype, SRV with its port, TXT with the app hash) on
 * start and once more a second later, answers queries (at most once per
 * 250 ms, staying quiet when the asker already knows it), queries for its
 * app with a backoff from 1 s to 60 s, and says goodbye (TTL 0) on stop.
 */

import { randomInt } from "node:crypto";
import { networkInterfaces, platform } from "node:os";
import { createSocket, type RemoteInfo } from "node:dgram";
import makeMdns from "multicast-dns";
import { isXppgError, toError } from "@xppg/errors";
import { appHash } from "./app-hash.js";
import { gateMessages } from "./packet-gate.js";
import { CandidateTable } from "./candidate-table.js";
import { ANNOUNCE_REPEAT_MS, MDNS_GROUP, MIN_RESPONSE_INTERVAL_MS } from "./constants.js";
import { DISCOVERY_ERROR_CODES, DiscoveryError } from "./errors.js";
import { resolveLanOptions, type LanDiscoveryOptions, type ResolvedLanOptions } from "./options.js";
import { appQuery, queryWantsUs, readAnnouncements, selfRecords, type SelfRecord } from "./records.js";
import type { Discovery, DiscoveryEvents, PeerCandidate } from "./types.js";

/** Counters of one {@link LanDiscovery}, for tests and benchmarks. */
export interface LanDiscoveryStats {
  /** mDNS packets sent (announcements, answers, queries, goodbyes). */
  packetsSent: number;
  /** mDNS packets received, ours included (multicast loops back). */
  packetsReceived: number;
  /** Received responses that held no announcement for this app, undecodable packets, and packets whose header declares more questions and records than their bytes can hold (dropped before decoding). */
  ignoredPackets: number;
  /** `peer` events emitted. */
  offers: number;
  /** Offers held back by `maxOffersPerSecond`. */
  throttledOffers: number;
  /** Candidates pushed out of the full list. */
  evictions: number;
}

type Mdns = ReturnType<typeof makeMdns>;
type Listener = (...args: never[]) => void;

/**
 * Creates a LAN discovery for one node. Nothing is sent before `start()`.
 *
 * @throws `XPPG_ERR_INVALID_ARGUMENT` for bad options.
 */
export function lanDiscovery(options: LanDiscoveryOptions): LanDiscovery {
  return new LanDiscovery(options);
}

/** See {@link lanDiscovery}. */
export class LanDiscovery implements Discovery {
  readonly #o: ResolvedLanOptions;
  readonly #self: SelfRecord;
  readonly #table: CandidateTable;
  readonly #listeners = new Map<keyof DiscoveryEvents, Set<Listener>>();
  readonly #stats: LanDiscoveryStats = { packetsSent: 0, packetsReceived: 0, ignoredPackets: 0, offers: 0, throttledOffers: 0, evictions: 0 };
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #reportedSendErrors = new Set<string>();
  #mdns: Mdns | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #lastResponseAt = -Infinity;
  #responsePending = false;
  #queryIntervalMs: number;
  #queryTimer: NodeJS.Timeout | undefined;
  /** The DNS id of our queries (RFC 6762 allows any), so their loop-back is not answered. */
  readonly #queryId = randomInt(1, 0x10000);
  #lastRestartAt = -Infinity;

  constructor(options: LanDiscoveryOptions) {
    this.#o = resolveLanOptions(options);
    this.#self = { peerId: this.#o.peerId, appHash: appHash(this.#o.appName), port: this.#o.port, addresses: localAddresses(this.#o.interface) };
    this.#table = new CandidateTable(
      {
        maxCandidates: this.#o.maxCandidates,
        maxPerHost: this.#o.maxCandidatesPerHost,
        backoffMs: this.#o.candidateBackoffMs,
        maxBackoffMs: this.#o.maxCandidateBackoffMs,
        offersPerSecond: this.#o.maxOffersPerSecond,
      },
      Date.now(),
    );
    this.#queryIntervalMs = this.#o.queryIntervalMs;
  }

  /** The app hash this node announces and looks for (hex). */
  get appHash(): string {
    return this.#self.appHash;
  }

  get candidates(): readonly PeerCandidate[] {
    return this.#table.list();
  }

  /** A copy of the counters. */
  get stats(): LanDiscoveryStats {
    return { ...this.#stats, throttledOffers: this.#table.throttled };
  }

  on<E extends keyof DiscoveryEvents>(event: E, listener: DiscoveryEvents[E]): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * Opens the mDNS socket, joins the group, announces this node and asks
   * for the others. Safe to call again: later calls share the first.
   *
   * @throws `XPPG_ERR_DISCOVERY_UNAVAILABLE` when the socket cannot be bound
   * or the group cannot be joined, `XPPG_ERR_DISCOVERY_STOPPED` after
   * `stop()`, `XPPG_ERR_ABORTED` when `signal` aborts first.
   */
  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#stopping !== undefined) {
      return Promise.reject(new DiscoveryError(DISCOVERY_ERROR_CODES.STOPPED, "start() after stop(): this LAN discovery was stopped. Create a new one."));
    }
    this.#starting ??= this.#open(options.signal).catch((error: unknown) => {
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #open(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) throw aborted();
    const where = this.#o.interface === undefined ? "every interface" : `interface ${this.#o.interface}`;
    // The socket is ours so that the gate can stand in front of the DNS decoder.
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    const mdns = makeMdns({
      socket,
      port: this.#o.mdnsPort,
      ...(this.#o.interface !== undefined ? { interface: this.#o.interface } : {}),
      // On Linux, binding to the group address receives the group's packets and
      // nothing else; elsewhere bind to the wildcard. (Binding to the interface
      // address, multicast-dns's default, receives no multicast on Linux.)
      bind: platform() === "linux" ? MDNS_GROUP : "0.0.0.0",
      reuseAddr: true,
      loopback: true,
    });
    gateMessages(socket, () => void this.#stats.ignoredPackets++);
    this.#mdns = mdns;
    let joined = false;
    const warnings: Error[] = [];
    mdns.on("networkInterface", () => (joined = true));
    mdns.on("warning", (error: Error) => {
      // Undecodable packets arrive as warnings too (no syscall): count them as ignored.
      if ((error as NodeJS.ErrnoException).syscall === undefined) this.#stats.ignoredPackets++;
      else if (!joined) warnings.push(error);
    });
    mdns.on("response", (packet: unknown, rinfo: RemoteInfo) => this.#onResponse(packet, rinfo));
    mdns.on("query", (packet: unknown) => this.#onQuery(packet));
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(aborted());
        signal?.addEventListener("abort", onAbort, { once: true });
        mdns.once("ready", () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
        mdns.once("error", (error: Error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        });
      });
      if (!joined) {
        const cause = warnings[0];
        throw new DiscoveryError(
          DISCOVERY_ERROR_CODES.UNAVAILABLE,
          `LAN discovery could not join the multicast DNS group on ${where}${cause === undefined ? "" : ` (${cause.message})`}. ` +
            "The interface needs multicast enabled and a route for 224.0.0.0/4; or turn LAN discovery off and connect by address.",
          { cause, details: { interface: this.#o.interface } },
        );
      }
    } catch (error) {
      this.#mdns = undefined;
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
      if (isXppgError(error)) throw error;
      const e = toError(error);
      throw new DiscoveryError(
        DISCOVERY_ERROR_CODES.UNAVAILABLE,
        `LAN discovery could not open UDP port ${this.#o.mdnsPort} on ${where}: ${e.message}. Another program may hold the port without sharing it; or turn LAN discovery off and connect by address.`,
        { cause: e, details: { interface: this.#o.interface, mdnsPort: this.#o.mdnsPort, causeCode: (e as NodeJS.ErrnoException).code } },
      );
    }
    mdns.on("error", (error: Error) => this.#emit("error", new DiscoveryError(DISCOVERY_ERROR_CODES.SEND_FAILED, `The multicast DNS socket failed: ${error.message}.`, { cause: error })));
    // RFC 6762 §8.3: announce twice, a second apart; ask at once and then with a backoff.
    this.#respond();
    this.#query();
    this.#later(ANNOUNCE_REPEAT_MS, () => this.#respond());
    const sweep = setInterval(() => this.#expire(), 1_000);
    sweep.unref();
    this.#timers.add(sweep);
  }

  /** Says goodbye, closes the socket and forgets every candidate. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => {});
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      const mdns = this.#mdns;
      this.#mdns = undefined;
      this.#table.clear();
      if (mdns === undefined) return;
      await new Promise<void>((resolve) => {
        const { answers, additionals } = selfRecords(this.#self, 0);
        this.#stats.packetsSent++;
        mdns.respond({ answers, additionals } as never, () => resolve());
      });
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    })();
    return this.#stopping;
  }

  /**
   * Forgets a candidate whose connection was lost and starts asking again
   * from the shortest interval (1 s, then doubling), without it among the
   * known answers: once it is reachable again it answers and is offered
   * again at once. At most one such restart per second.
   */
  forget(peerId: string): void {
    if (this.#mdns === undefined || this.#table.forget(peerId) === 0) return;
    this.#queryIntervalMs = this.#o.queryIntervalMs;
    if (this.#queryTimer !== undefined) {
      clearTimeout(this.#queryTimer);
      this.#timers.delete(this.#queryTimer);
    }
    const wait = Math.max(0, this.#lastRestartAt + 1_000 - Date.now());
    this.#lastRestartAt = Date.now() + wait;
    this.#queryTimer = this.#later(wait, () => this.#query());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #onResponse(packet: unknown, rinfo: RemoteInfo): void {
    this.#stats.packetsReceived++;
    if (this.#mdns === undefined || rinfo.family !== "IPv4") return;
    const now = Date.now();
    let useful = false;
    for (const a of readAnnouncements(packet, this.#self.appHash)) {
      // Our own records loop back; a stranger using our id is ignored too.
      if (a.peerId === this.#self.peerId) {
        useful = true;
        continue;
      }
      useful = true;
      if (a.ttl === 0) {
        const gone = this.#table.goodbye(a.peerId, rinfo.address, a.port);
        if (gone !== undefined) this.#emit("gone", gone);
        continue;
      }
      const { offer, evicted } = this.#table.seen(a.peerId, rinfo.address, a.port, a.ttl * 1000, now, a.relays);
      this.#stats.evictions += evicted.length;
      for (const e of evicted) this.#emit("gone", e);
      if (offer !== undefined) {
        this.#stats.offers++;
        this.#emit("peer", offer);
      }
    }
    if (!useful) this.#stats.ignoredPackets++;
  }

  #onQuery(packet: unknown): void {
    this.#stats.packetsReceived++;
    if (this.#mdns === undefined) return;
    // Our own query, looped back: answering it would only cost a packet.
    if ((packet as { id?: unknown }).id === this.#queryId) return;
    if (queryWantsUs(packet, this.#self, Math.ceil(this.#o.ttlSeconds / 2))) this.#respond();
  }

  /** Multicasts our records, at most once per second; a request inside that second is answered at its end. */
  #respond(): void {
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    const wait = this.#lastResponseAt + MIN_RESPONSE_INTERVAL_MS - Date.now();
    if (wait > 0) {
      if (!this.#responsePending) {
        this.#responsePending = true;
        this.#later(wait, () => {
          this.#responsePending = false;
          this.#respond();
        });
      }
      return;
    }
    this.#lastResponseAt = Date.now();
    const { answers, additionals } = selfRecords({ ...this.#self, relays: this.#o.relayAddresses() }, this.#o.ttlSeconds);
    this.#stats.packetsSent++;
    mdns.respond({ answers, additionals } as never, (error?: Error | null) => this.#sent(error));
  }

  /** Asks for this app's peers, then again after a doubling interval. */
  #query(): void {
    if (this.#mdns === undefined) return;
    this.#sendQuery();
    const next = this.#queryIntervalMs;
    this.#queryIntervalMs = Math.min(next * 2, this.#o.maxQueryIntervalMs);
    this.#queryTimer = this.#later(next, () => this.#query());
  }

  #sendQuery(): void {
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    const known = this.#table.fresh(Date.now(), (this.#o.ttlSeconds * 1000) / 2);
    this.#stats.packetsSent++;
    mdns.query({ id: this.#queryId, ...appQuery(this.#self.appHash, known, this.#o.ttlSeconds) } as never, (error?: Error | null) => this.#sent(error));
  }

  #sent(error: Error | null | undefined): void {
    if (error === undefined || error === null) {
      this.#reportedSendErrors.clear();
      return;
    }
    // One report per kind of failure until a send succeeds again: no error storm.
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    if (this.#reportedSendErrors.has(code)) return;
    this.#reportedSendErrors.add(code);
    this.#emit("error", new DiscoveryError(DISCOVERY_ERROR_CODES.SEND_FAILED, `Could not send a multicast DNS packet: ${error.message}. LAN discovery keeps trying.`, { cause: error }));
  }

  #expire(): void {
    for (const c of this.#table.expire(Date.now())) this.#emit("gone", c);
  }

  #later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
    return t;
  }

  #emit<E extends keyof DiscoveryEvents>(event: E, ...args: Parameters<DiscoveryEvents[E]>): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as unknown as (...a: Parameters<DiscoveryEvents[E]>) => void)(...args);
      } catch (error) {
        if (event === "error") continue; // an error listener that throws has nowhere left to report to
        this.#emit("error", new DiscoveryError(DISCOVERY_ERROR_CODES.LISTENER_FAILED, `A "${event}" listener threw: ${toError(error).message}. Discovery carries on; fix the listener.`, { cause: error }));
      }
    }
  }
}

function aborted(): DiscoveryError {
  return new DiscoveryError(DISCOVERY_ERROR_CODES.ABORTED, "LAN discovery start was aborted by its signal.");
}

/** The IPv4 addresses for our A record: the chosen interface's, or each interface's first non-internal one. */
function localAddresses(iface: string | undefined): string[] {
  if (iface !== undefined) return [iface];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    const first = list?.find((a) => a.family === "IPv4" && !a.internal);
    if (first !== undefined && out.length < 8) out.push(first.address);
  }
  return out;
}
