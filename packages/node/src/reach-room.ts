/**
 * The reach room: how this node can be reached, and making it reachable
 * without hand wiring (INTERNALS.md, "Reachability, automatic relays and
 * punching"). Among peers with `reach/1` it tells each peer the address it
 * sees the link come from, asks for dial-backs by third nodes
 * (`reach-dialback.ts`), serves a relay when asked to, reserves slots on
 * peers' relays while it is not known to be reachable, and joins a peer
 * again through another of its addresses when a relayed link breaks.
 * The relay code (`node:net`, `@xppg/transport-tcp`) is loaded only when a
 * node starts.
 */

import { now as nowMs, type XppgError } from "@xppg/errors";
import type { Listener, Transport } from "@xppg/transport";
import { hostKey } from "./abuse-guard.js";
import type { CircuitConnection } from "./circuit-connection.js";
import { isWildcardAddress } from "./connection-manager.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import { Dialbacks } from "./reach-dialback.js";
import { ASK_WINDOW_MS, MAX_ASKS, type ResolvedReach } from "./reach-options.js";
import { REACH_CAPABILITY, REACH_KIND, parseObserved, parsePort } from "./reach-wire.js";
import { Reachability, type ReachabilityKind, type ReachabilityStatus } from "./reachability.js";
import { relayTransportOnDemand } from "./relay-on-demand.js";
import type { RelayService } from "./relay-service.js";
import type { RelayTransport } from "./relay-transport.js";

/** The path a peer's messages take. */
export type PeerPath = "direct" | "punched" | "relayed";

/** How often the room looks again: asks for dial-backs while undecided or a re-check is due, reserves relays while unreachable. */
const TICK_MS = 5000;
export { ASK_WINDOW_MS, MAX_ASKS };
/** A new ask budget starts no sooner than this after the last (see ASK_WINDOW_MS). */
export const ASK_RENEW_MIN_MS = 60_000;
/** A relay that refused or failed is not tried again for this long. */
const RELAY_RETRY_MS = 30_000;
/** Addresses tried when a relayed link breaks, and the wait before the side that did not dial tries. */
const MAX_REJOIN_ADDRESSES = 4;
const REJOIN_TIE_BREAK_MS = 1500;
const DELIBERATE = new Set<string>([NODE_ERROR_CODES.PEER_SHUTDOWN, NODE_ERROR_CODES.DISCONNECTED, NODE_ERROR_CODES.BANNED, NODE_ERROR_CODES.DUPLICATE_CONNECTION, NODE_ERROR_CODES.NOT_ALLOWED]);

/** What the room needs of the node. */
export interface ReachRoomOptions {
  readonly localPeerId: string;
  readonly reach: ResolvedReach;
  readonly table: PeerTable;
  /** The node's listeners' addresses. */
  addresses(): string[];
  /** Opens one more listener (a relay reservation); closes it. */
  listen(address: string): Promise<Listener>;
  unlisten(listener: Listener): void;
  /** Joins a peer (pinned to its id). */
  join(address: string, peerId: string): Promise<unknown>;
  /** Addresses a peer announced through the mesh, if known. */
  meshAddresses(peerId: string): readonly string[];
  /** The verdict changed. */
  changed(status: ReachabilityStatus, previous: ReachabilityKind): void;
  report(error: XppgError): void;
}

export class ReachRoom {
  readonly reachability: Reachability;
  readonly #o: ReachRoomOptions;
  readonly #dialbacks: Dialbacks;
  readonly #observedFrom = new WeakSet<PeerSession>();
  readonly #offers = new Map<PeerSession, string>();
  readonly #reservations = new Map<string, Listener>();
  readonly #reserving = new Set<string>();
  readonly #failedRelays = new Map<string, number>();
  #relayTransport: RelayTransport | undefined;
  /** Where circuits are read from: this room's relay transport, or the application's. */
  #circuitsOf: RelayTransport | undefined;
  #service: RelayService | undefined;
  /** The relay service's start, from its first call (a second start on a fixed `relayListen` port would fail). */
  #serving: Promise<void> | undefined;
  #servicePort: number | undefined;
  #tick: NodeJS.Timeout | undefined;
  #running = false;
  /** Verdict changes so far, for the ask budget. */
  #changes = 0;
  /** The current ask budget: when it started, and what it started on (verdict changes, TCP listen addresses). */
  #budget = { since: -Infinity, on: "" };
  /** When this room last asked for a dial-back. */
  #lastAsk = -Infinity;
  /** The TCP listen addresses the evidence is about (undefined before start). */
  #listening: string | undefined;

  constructor(options: ReachRoomOptions) {
    this.#o = options;
    this.reachability = new Reachability({ minConfirmations: options.reach.minConfirmations, evidenceMaxAgeMs: options.reach.evidenceMaxAgeMs });
    this.reachability.events.on("change", (status, previous) => {
      this.#changes++;
      options.changed(status, previous);
      this.#afterChange(status.kind);
    });
    this.#dialbacks = new Dialbacks({
      reach: this.reachability,
      peers: () => this.#reachPeers(),
      listenPort: () => tcpPort(options.addresses()),
      probe: async (host, port, timeoutMs, local) => (await import("./reach-probe.js")).probe(host, port, timeoutMs, local),
      counted: () => this.#look(false),
    });
  }

  /** The relay transport this node dials and reserves with (its transport, circuits and hole punching load at the first relayed dial or reservation: `relay-on-demand.ts`). */
  async transports(existing: readonly Transport[]): Promise<Transport[]> {
    // The application brought its own relay transport: read paths from it, reserve nothing by itself.
    const own = existing.find((t) => t.name === "relay");
    if (own !== undefined) {
      if ("circuits" in own) this.#circuitsOf = own as RelayTransport;
      return [];
    }
    const r = this.#o.reach;
    this.#relayTransport = relayTransportOnDemand({
      peerId: this.#o.localPeerId,
      punch: r.holePunch,
      punchTimeoutMs: r.punchTimeoutMs,
      reachability: this.reachability,
      onReservationEnded: (address) => this.#reservationEnded(address),
    });
    this.#circuitsOf = this.#relayTransport;
    return [this.#relayTransport];
  }

  /** After the listeners: serves the relay if asked, and starts looking. */
  async start(): Promise<void> {
    this.#running = true;
    this.#listening = this.#tcpListening();
    if (this.#o.reach.serveRelay === true) await this.#startServing();
    this.#tick = setInterval(() => this.#look(), TICK_MS);
    this.#tick.unref();
  }

  async close(): Promise<void> {
    this.#running = false;
    clearInterval(this.#tick);
    this.#dialbacks.close();
    const reservations = [...this.#reservations.values()];
    this.#reservations.clear();
    await Promise.all([...reservations.map((l) => l.close().catch(() => {})), this.#service?.close()]);
  }

  /** A connection reached a listener of this node. */
  inbound(transport: string, remoteHost: string): void {
    if (transport === "tcp") this.#dialbacks.inbound(remoteHost);
  }

  /** The relay this node serves (undefined when it serves none), for its counters. */
  get relayService(): RelayService | undefined {
    return this.#service;
  }

  /**
   * The addresses this node advertises to others, best first: its public
   * address (when dial-backs confirmed it, or a router maps its port), its
   * LAN addresses, then its relayed addresses (`relay://.../p/<id>`).
   */
  advertisedAddresses(): string[] {
    const all = this.#o.addresses();
    const port = tcpPort(all);
    const out: string[] = [];
    const s = this.reachability.status();
    if (port !== undefined && s.kind === "public") for (const ip of this.reachability.confirmedIps()) out.push(`tcp://${ip}:${port}`);
    if (s.mappedAddress !== undefined && s.kind === "port-mapped") out.push(`tcp://${s.mappedAddress}`);
    for (const a of all) if (a.startsWith("tcp://")) out.push(...reachableForms(a));
    for (const a of all) if (a.startsWith("relay://")) out.push(a);
    return [...new Set(out)];
  }

  /** The path of a session's messages. */
  pathOf(session: PeerSession): PeerPath {
    if (session.connection.transport !== "relay") return "direct";
    const circuit = this.#circuit(session.connection.remoteAddress);
    return circuit?.path === "punched" ? "punched" : "relayed";
  }

  /**
   * A session opened: tell the peer what it looks like from here, offer the
   * relay, ask for a dial-back (and, when it is a new peer, `fresh`, let
   * peers that had no helper be asked again).
   */
  opened(session: PeerSession, fresh: boolean): void {
    if (!this.#o.table.supports(session, REACH_CAPABILITY)) return;
    const seen = tcpHostPort(session.connection.remoteAddress);
    if (seen !== undefined) void session.sendMessage(REACH_KIND.OBSERVED, { addr: seen });
    if (this.#servicePort !== undefined) void session.sendMessage(REACH_KIND.RELAY, { port: this.#servicePort });
    this.#dialbacks.peersChanged(session, fresh);
    if (this.#wantsAsk()) this.#ask(session);
  }

  /** A session ended: forget its offer; if a relayed link broke, join the peer again another way. */
  ended(session: PeerSession, error: XppgError | undefined): void {
    this.#dialbacks.ended(session);
    this.#offers.delete(session);
    const peerId = session.peerId;
    if (!this.#running || peerId === undefined || !session.everOpened || session.connection.transport !== "relay") return;
    if (error === undefined || DELIBERATE.has(error.code)) return;
    const broken = session.connection.remoteAddress;
    const candidates = [...new Set([...(session.remoteHello?.listen ?? []), ...this.#o.meshAddresses(peerId)])]
      .filter((a) => (a.startsWith("relay://") && !sameRelay(a, broken)) || (a.startsWith("tcp://") && !isWildcardAddress(a)))
      .slice(0, MAX_REJOIN_ADDRESSES);
    const rejoin = async (): Promise<void> => {
      for (const address of candidates) {
        if (!this.#running || this.#o.table.peers.has(peerId)) return;
        try {
          await this.#o.join(address, peerId);
          return;
        } catch {
          // the next address
        }
      }
    };
    // After the peer table has let the session go. Both ends try; the one that did not dial waits, so usually one new link is made.
    setTimeout(() => void rejoin(), session.connection.outbound ? 0 : REJOIN_TIE_BREAK_MS).unref();
  }

  /** A `reach/1` message; throws a typed error for a malformed or repeated one (the peer is dropped). */
  handle(session: PeerSession, kind: string, payload: unknown): void {
    if (!this.#o.table.supports(session, REACH_CAPABILITY)) throw violation(session, `sent "${kind}" without the ${REACH_CAPABILITY} capability`);
    if (kind === REACH_KIND.OBSERVED) {
      const addr = parseObserved(payload);
      if (addr === undefined || this.#observedFrom.has(session)) throw violation(session, addr === undefined ? "sent a malformed observed address" : "sent a second observed address");
      this.#observedFrom.add(session);
      // One observation per observing host, however many peer ids it runs.
      this.reachability.observe(`host:${hostKey(session.connection.remoteHost)}`, addr);
      return;
    }
    if (kind === REACH_KIND.RELAY) {
      const port = parsePort(payload);
      if (port === undefined || this.#offers.has(session)) throw violation(session, port === undefined ? "sent a malformed relay offer" : "sent a second relay offer");
      // Only a relay on the host this link reaches directly: never an address a peer names.
      const host = session.connection.remoteHost;
      if (session.connection.transport === "tcp" && !host.includes(":")) this.#offers.set(session, `relay://${host}:${port}`);
      this.#reserve();
      return;
    }
    if (!Object.values(REACH_KIND).includes(kind as never) || !this.#dialbacks.handle(session, kind, payload, () => this.#outboundHosts())) {
      throw violation(session, `sent a malformed or unknown "${kind}"`);
    }
  }

  #reachPeers(): PeerSession[] {
    return [...this.#o.table.open.values()].filter((s) => this.#o.table.supports(s, REACH_CAPABILITY));
  }

  /** Hosts this node dialled directly: their dial-backs prove nothing (a NAT lets them in). */
  #outboundHosts(): Set<string> {
    const hosts = new Set<string>();
    for (const s of this.#o.table.sessions) if (s.connection.outbound && s.connection.transport !== "relay") hosts.add(hostKey(s.connection.remoteHost));
    return hosts;
  }

  /**
   * Whether to ask for a dial-back now: while undecided, while the
   * verdict's evidence would age out before the next re-check, or once
   * `recheckIntervalMs` has passed since the last ask; always within the ask
   * budget.
   */
  #wantsAsk(): boolean {
    this.#noticeMove();
    const recheck = this.#o.reach.recheckIntervalMs;
    if (!this.reachability.wantsEvidence(recheck) && nowMs() - this.#lastAsk < recheck) return false;
    this.#renewAsks();
    return this.#dialbacks.asked < MAX_ASKS;
  }

  #ask(session: PeerSession): void {
    if (this.#dialbacks.ask(session)) this.#lastAsk = nowMs();
  }

  /** The node's TCP listen addresses changed: dial-backs to the old ones say nothing of the new (the verdict starts again). */
  #noticeMove(): void {
    const listening = this.#tcpListening();
    if (this.#listening === undefined || listening === this.#listening) return;
    this.#listening = listening;
    this.reachability.forget();
  }

  #tcpListening(): string {
    return this.#o.addresses().filter((a) => a.startsWith("tcp://")).join(" ");
  }

  /** A new ask budget once the window has run, or once there is something new to learn (see ASK_WINDOW_MS). */
  #renewAsks(): void {
    const on = `${this.#changes} ${this.#tcpListening()}`;
    const age = nowMs() - this.#budget.since;
    if (age < ASK_WINDOW_MS && (on === this.#budget.on || age < ASK_RENEW_MIN_MS)) return;
    this.#budget = { since: nowMs(), on };
    this.#dialbacks.renew();
  }

  #look(reserve = true): void {
    if (!this.#running) return;
    // Evidence that aged out goes first: the verdict may fall back to unknown.
    this.reachability.refresh();
    if (this.#wantsAsk()) {
      // Among the peers that may be asked: one backed off after an answer without evidence would take the turn of one that can help.
      const peers = this.#reachPeers().filter((s) => !this.#dialbacks.backedOff(s));
      const pick = peers[Math.floor(Math.random() * peers.length)];
      if (pick !== undefined) this.#ask(pick);
    }
    if (reserve) this.#reserve();
  }

  #afterChange(kind: ReachabilityKind): void {
    // Once started it stays (README): its reservations keep working, a peer's offer is once a session, and a relay
    // that cannot be reached gets no new reservations.
    if (kind === "public" && this.#o.reach.serveRelay === "when-public") void this.#startServing().catch((e: unknown) => this.#o.report(e as XppgError));
    if (kind === "public" || kind === "port-mapped") {
      // Reachable: relayed addresses are no longer needed.
      for (const [address, l] of this.#reservations) {
        this.#reservations.delete(address);
        this.#o.unlisten(l);
        void l.close().catch(() => {});
      }
    } else this.#reserve();
  }

  /** Starts the relay service once: a verdict that leaves public and comes back while it starts joins that start; one that failed may be tried again. */
  #startServing(): Promise<void> {
    this.#serving ??= this.#serve().catch((e: unknown) => {
      this.#serving = undefined;
      throw e;
    });
    return this.#serving;
  }

  async #serve(): Promise<void> {
    const { RelayService } = await import("./relay-service.js");
    // Its connections are the relay's own TCP ones; a broken close would still be the node's error event, not an escape.
    const service = new RelayService({ ...this.#o.reach.relayLimits, onError: (e) => this.#o.report(e) });
    const address = await service.start(this.#o.reach.relayListen);
    if (!this.#running) return void (await service.close());
    this.#service = service;
    this.#servicePort = Number(address.slice(address.lastIndexOf(":") + 1));
    for (const s of this.#reachPeers()) void s.sendMessage(REACH_KIND.RELAY, { port: this.#servicePort });
  }

  /** Reserves on offered relays while not known to be reachable, up to `maxRelays`. */
  #reserve(): void {
    const r = this.#o.reach;
    const kind = this.reachability.kind;
    if (!this.#running || !r.useRelays || this.#relayTransport === undefined || kind === "public" || kind === "port-mapped") return;
    const now = Date.now();
    for (const address of new Set(this.#offers.values())) {
      if (this.#reservations.size + this.#reserving.size >= r.maxRelays) return;
      if (this.#reservations.has(address) || this.#reserving.has(address) || now - (this.#failedRelays.get(address) ?? -Infinity) < RELAY_RETRY_MS) continue;
      this.#reserving.add(address);
      this.#o
        .listen(address)
        .then(
          (listener) => {
            if (!this.#running) return void listener.close();
            // Reached while it was being made: not needed (the drop at the change did not see it).
            const now = this.reachability.kind;
            if (now === "public" || now === "port-mapped") {
              this.#o.unlisten(listener);
              return void listener.close().catch(() => {});
            }
            this.#reservations.set(address, listener);
          },
          () => this.#relayFailed(address),
        )
        .finally(() => this.#reserving.delete(address));
    }
  }

  /** A reservation ended (the relay went, refused a renewal): drop its address, reserve elsewhere. */
  #reservationEnded(relayAddress: string): void {
    const base = `relay://${relayAddress.slice("relay://".length).split("/")[0]!}`;
    const l = this.#reservations.get(base);
    if (l === undefined) return;
    this.#reservations.delete(base);
    this.#o.unlisten(l);
    this.#relayFailed(base);
    this.#reserve();
  }

  /** Remembers a relay that failed, for `RELAY_RETRY_MS`; bounded: expired entries go when it grows. */
  #relayFailed(base: string): void {
    const now = Date.now();
    if (this.#failedRelays.size >= 256) for (const [a, at] of this.#failedRelays) if (now - at >= RELAY_RETRY_MS) this.#failedRelays.delete(a);
    if (this.#failedRelays.size < 256) this.#failedRelays.set(base, now);
  }

  #circuit(remoteAddress: string): CircuitConnection | undefined {
    for (const c of this.#circuitsOf?.circuits ?? []) if (c.remoteAddress === remoteAddress) return c;
    return undefined;
  }
}

function violation(session: PeerSession, what: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} ${what}; it is disconnected.`);
}

/** The port of the first TCP listener. */
function tcpPort(addresses: readonly string[]): number | undefined {
  const a = addresses.find((x) => x.startsWith("tcp://"));
  return a === undefined ? undefined : Number(a.slice(a.lastIndexOf(":") + 1));
}

/** `ip:port` of an IPv4 `tcp://ip:port`. */
function tcpHostPort(address: string): string | undefined {
  const m = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})$/.exec(address);
  return m?.[1];
}

/** True when two relay addresses go through the same relay. */
function sameRelay(a: string, b: string): boolean {
  const relayOf = (x: string): string => x.slice("relay://".length).split("/")[0]!;
  return relayOf(a) === relayOf(b);
}

/**
 * The addresses others can dial for one of this node's listen addresses: a
 * wildcard one (`tcp://0.0.0.0:7337`, `tcp://[::]:7337`; a dial to it reaches
 * the dialler itself) becomes the same address on each of this host's LAN
 * IPv4 addresses (none when it has none); any other is kept as it is.
 */
export function reachableForms(address: string): string[] {
  if (!isWildcardAddress(address)) return [address];
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(\[[^\]]*\]|[^/:?#]*)(.*)$/i.exec(address);
  return m === null ? [] : lanIps().map((ip) => `${m[1]!}${ip}${m[3]!}`);
}

function lanIps(): string[] {
  const out: string[] = [];
  // node:os at its first use, not an ES module import: a node that listens on no wildcard address never loads it (issue 15).
  for (const list of Object.values(process.getBuiltinModule("node:os").networkInterfaces())) for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) out.push(i.address);
  return out;
}
