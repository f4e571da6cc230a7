/**
 * The wiring: builds each room of a node from the resolved options and
 * connects them, one line each. A new capability (mesh routing, a relay,
 * discovery) is a new room plus its line here; the facade does not change
 * unless the capability adds a public call.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, EnvelopeCodec } from "@xppg/framing";
import { isPeerId, publicKeyFromPeerId } from "@xppg/secure";
import { SharedState, type SharedStateOptions } from "@xppg/state";
import { AbuseGuard, earnsStrike, type AbuseGuardOptions } from "./abuse-guard.js";
import { Bans } from "./bans.js";
import { BroadcastAuth, VERDICT } from "./broadcast-auth.js";
import { ConnectionGate } from "./connection-gate.js";
import { ConnectionManager } from "#connection-manager";
import { Dialer } from "./dialer.js";
import type { DiscoveryRoom } from "#discovery-room";
import { Dispatcher, asHandlerError } from "./dispatcher.js";
import { show } from "./argument-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { PLAYGROUND_EVENT_NAMES, isEventName } from "./event-names.js";
import type { FileTransfers } from "#file-transfer";
import type { FilesRoom } from "#files-room";
import { MISUSE_CHECKS, checkSignature, memberForApplication, stateSigner } from "#host";
import { Heartbeat } from "./heartbeat.js";
import { lazyRoom, type LazyRoom, type MadeOnUse } from "./lazy-room.js";
import { MESH_CAPABILITY, MeshRoom } from "./mesh-room.js";
import { OwnedRowChecks } from "#owned-row-checks";
import { AddressBook } from "./mesh/address-book.js";
import { MessageRouter } from "./message-router.js";
import { nextTurn } from "#next-turn";
import type { PeerExchange } from "#peer-exchange";
import { wireNodeRooms } from "#node-rooms";
import { RequestRoom } from "#request-room";
import { ROUTE_CAPABILITY, RoutingRoom, unreachableError } from "#routing-room";
import type { Tell } from "./routed-loss.js";
import { BUNDLE_LENGTH_BYTES, type PeerSession, type SessionHost } from "./peer-session.js";
import { PeerTable } from "./peer-table.js";
import type { ReachRoom } from "#reach-room";
import type { PlaygroundEvents, PlaygroundStats } from "./playground-types.js";
import type { Hello } from "./protocol.js";
import type { ResolvedLimits, ResolvedOptions } from "./resolved-options.js";
import { StateSync } from "./state-sync.js";
import type { TopicRoom } from "#topic-room";
import { ReadHolds } from "./read-holds.js";
import { TransportSet } from "./transport-set.js";
import { TypedEvents } from "./typed-events.js";

/** What the rooms need from the facade. */
export interface NodeHooks {
  readonly events: TypedEvents<PlaygroundEvents>;
  readonly stats: PlaygroundStats;
  /** True while the node runs. */
  running(): boolean;
  hello(): Hello;
  nextMessageId(): number;
  /** The TCP port a topic announces: the router's mapped port, else the listening one. */
  announcePort(): number | undefined;
}

/** Every room of one node. */
export interface Rooms {
  readonly codec: EnvelopeCodec;
  readonly guard: AbuseGuard;
  readonly table: PeerTable;
  readonly bans: Bans;
  readonly auth: BroadcastAuth;
  readonly dispatcher: Dispatcher;
  readonly state: SharedState;
  /** Closes the state's store when the node made the state (`statePath`). */
  readonly closeState: () => void;
  readonly stateSync: StateSync;
  readonly files: FileTransfers;
  readonly swarmFiles: FilesRoom;
  readonly gate: ConnectionGate;
  readonly transports: TransportSet;
  readonly dialer: Dialer;
  readonly heartbeat: Heartbeat;
  readonly discovery: DiscoveryRoom;
  readonly topics: TopicRoom;
  readonly mesh: MeshRoom;
  readonly connections: ConnectionManager;
  readonly pex: PeerExchange;
  readonly reach: ReachRoom;
  readonly routing: RoutingRoom;
  readonly requests: RequestRoom;
  /** The rooms made at their first use (routing, requests; topics in Node): `stop` closes those made. */
  readonly lazy: Readonly<Record<string, MadeOnUse>>;
}

// The abuse guard is given the node's limits whole: only its three ban limits may share a name with them.
type GuardNameClash = Exclude<keyof ResolvedLimits & keyof AbuseGuardOptions, "banThreshold" | "strikeWindowMs" | "banDurationMs">;
true satisfies [GuardNameClash] extends [never] ? true : false;

export function wireRooms(o: ResolvedOptions, node: NodeHooks): Rooms {
  const localPeerId = o.identity.peerId;
  const { events, stats } = node;
  const report = (error: XppgError, peerId: string | undefined): void => events.emit("error", error, peerId);
  const refused = (): void => void stats.refusedConnections++;
  const guard = new AbuseGuard({ ...o.limits, allowPeers: o.allowPeers });
  // A frame is a bundle of envelopes, each behind its length.
  const codec = new EnvelopeCodec({ maxSize: o.limits.maxFrameSize - BUNDLE_LENGTH_BYTES, maxPayloadDepth: o.limits.maxPayloadDepth });
  const table = new PeerTable({ localPeerId, appName: o.appName, maxPeers: o.limits.maxPeers, offer: o.offer, guard, refused, maxClockSkewMs: clockSkewLimit(o) });
  const holds = new ReadHolds(table.paused);
  const bans = new Bans({ guard, table, localPeerId, banned: (ban) => events.emit("peer:banned", ban) });
  const auth = new BroadcastAuth(o.identity, codec, o.encrypted, o.limits);
  const dispatcher = new Dispatcher(report, (src, kind) => events.emit("message:unhandled", src, kind));
  // The node carries any Replica; `pg.state` is typed as the default one's class.
  const store = o.openStore?.();
  // The default state's own keys (`@<peerId>/...`) are signed with the node's key and checked by every replica.
  let ownedRows: OwnedRowChecks | undefined;
  const state: SharedState =
    (o.state as SharedState | undefined) ?? new SharedState({ ...o.stateLimits, replicaId: localPeerId, store, ...stateOwnership(o, (c) => (ownedRows = c), (key) => state.versionOf(key)) });
  const closeState = (): void => store?.close();
  // Peer exchange and the connection manager share one bounded address book (INTERNALS.md, "Peer exchange").
  const book = new AddressBook();
  const broadcast = (kind: string, payload: unknown): void => {
    for (const s of table.open.values()) void s.sendMessage(kind, payload);
  };
  const stateSync = new StateSync(state, { broadcast, auto: o.autoSyncState, maxFrameSize: codec.maxSize, report, limits: o.limits, ownedRows });
  // The rooms a page replaces by stand-ins (files, reachability, discovery, topics, peer exchange): `node-rooms.ts`.
  const nodeRooms = wireNodeRooms({
    o,
    node,
    table,
    codec,
    dispatcher,
    holds,
    book,
    report,
    mesh: () => mesh,
    transports: () => transports,
    dialer: () => dialer,
    connections: () => connections,
  });
  const { files, swarmFiles, reach, discovery, pex } = nodeRooms;
  const forged = (session: PeerSession, error: XppgError): void => {
    stats.forgedMessages++;
    report(error, session.peerId);
    bans.strike(session.authenticatedPeerId, session.connection.remoteHost, error);
  };
  const unchecked = (verdict: typeof VERDICT.REPLAY | typeof VERDICT.OVER_BUDGET): void => {
    if (verdict === VERDICT.REPLAY) stats.replayedBroadcasts++;
    else stats.unverifiedBroadcasts++;
  };
  const mesh: MeshRoom = new MeshRoom({
    localPeerId,
    table,
    stats,
    authenticate: (session, envelope) => router.authenticate(session, envelope),
    encodeOwn: (envelope) => auth.encode(envelope),
    maxBroadcastWaitMs: o.limits.maxBroadcastWaitMs,
    deliver: (envelope) => dispatcher.dispatch(envelope.source, envelope.kind, envelope.payload),
    listen: () => node.hello().listen,
    nextBroadcastId: () => auth.nextBroadcastId(),
    joined: (member) => {
      learn({ peerId: member.peerId, addresses: member.listenAddresses, learnt: "presence" });
      events.emit("mesh:joined", memberForApplication(member));
    },
    left: (member) => {
      connections.forget(member.peerId);
      events.emit("mesh:left", memberForApplication(member));
    },
  });
  const routes = (session: PeerSession): boolean => table.supports(session, ROUTE_CAPABILITY);
  // Routed unicast and requests hear of nothing before their first message or call: made then.
  const routing = lazyRoom(() => new RoutingRoom({ identity: o.identity, table, stats, codec, routes: mesh.routes, nextMessageId: node.nextMessageId, router, holds, report, limits: o.limits }), (r) => r.close());
  const requests = lazyRoom(() => new RequestRoom({ send: (to, kind, payload, tell) => sendTo(table, routing, localPeerId, node.nextMessageId, to, kind, payload, tell), report, codec }), (r) => r.close());
  const learn = (p: { peerId: string; addresses: readonly string[]; learnt: "presence" | "neighbour" }): void => {
    if (p.peerId !== localPeerId && book.add({ ...p, informant: "", record: undefined, time: Date.now() })) connections.learnt(p.peerId);
  };
  const router: MessageRouter = new MessageRouter({ localPeerId, auth, dispatcher, stateSync, files, swarmFiles, mesh, reach, get routing() { return routing.room; }, get requests() { return requests.room; }, routes, pex, forged, unchecked });
  const current = (session: PeerSession): boolean => table.open.get(session.peerId!) === session;
  // What a new link sends (the state digest, the observed address, the own record) and the connection
  // manager's planning wait for the next turn: `join` resolves, and the application's first message
  // leaves, before them (INTERNALS.md, "Cold start"). A link that closed or is closing meanwhile
  // (a peer:joined listener that disconnected it, a violation in the welcome's bundle) is skipped:
  // it stays in the table until its close event. `fresh`: a new peer, not a connection replacing another.
  const greet = (session: PeerSession, fresh: boolean): void => {
    if (!session.isOpen || !current(session) || !node.running()) return;
    stateSync.peerJoined(session);
    reach.opened(session, fresh);
    learn({ peerId: session.peerId!, addresses: session.remoteHello!.listen, learnt: "neighbour" });
    connections.opened(session);
    pex.opened(session);
  };
  const opened = (session: PeerSession): void => {
    const joined = table.opened(session);
    // A connection that replaced another to the same peer is no new peer.
    if (joined !== undefined) events.emit("peer:joined", joined);
    // The rooms that route the peer's next messages hear of the link at once.
    mesh.opened(session);
    swarmFiles.opened(session);
    if (current(session)) nextTurn(() => greet(session, joined !== undefined));
  };
  // The frame limit inside the secure channel: an oversize frame there is the peer's own doing (a strike).
  const innerFrameLimit = o.encrypted ? codec.maxSize + BUNDLE_LENGTH_BYTES : null;
  const ended = (session: PeerSession, error: XppgError | undefined): void => {
    swarmFiles.ended(session);
    void files.sessionEnded(session);
    stateSync.peerLeft(session);
    mesh.ended(session);
    reach.ended(session, error);
    const left = table.ended(session, error);
    if (left !== undefined) events.emit("peer:left", left, error);
    connections.ended(session, error);
    // A violation this node detected (not the peer's own word in a bye) is a strike.
    if (error !== undefined && error.details?.remote !== true && earnsStrike(error, innerFrameLimit)) {
      stats.droppedPeers++;
      // Without encryption a peer id is only claimed: strike the host alone, or anyone could get any id banned.
      bans.strike(session.authenticatedPeerId, session.connection.remoteHost, error);
    }
    // Report misbehaviour once; a clean leave, a duplicate or our own shutdown
    // is no error, and a failed join is reported to its caller, not here.
    const failedJoin = session.connection.outbound && !session.everOpened;
    if (error !== undefined && !isQuietClose(error) && !failedJoin && node.running()) report(error, session.peerId);
    // A second connection kept aside while the peer chose between the two took over, open already: it is the peer's link now.
    const next = table.successor(session);
    if (next !== undefined) opened(next);
  };
  const sessionHost: SessionHost = {
    localPeerId,
    codec,
    hello: node.hello,
    nextMessageId: node.nextMessageId,
    admit: (session, hello) => table.admit(session, hello),
    opened,
    report,
    router,
    dispatcher,
    relays: (session) => table.supports(session, MESH_CAPABILITY),
    unverified: () => void stats.unverifiedBroadcasts++,
    unread: (count) => void (stats.droppedLastMessages += count),
    ended,
    running: node.running,
  };
  const transports = new TransportSet();
  const heldByListeners = (): number => transports.pendingConnections;
  const gate = new ConnectionGate({ identity: o.identity, encrypted: o.encrypted, limits: o.limits, maxEnvelopeSize: codec.maxSize, table, guard, sessionHost, running: node.running, refused, report, heldByListeners });
  const dialer = new Dialer({ transports, gate, table, guard, ...(MISUSE_CHECKS ? { report } : {}) });
  const dial = (address: string, peerId: string | undefined, timeoutMs: number): Promise<{ peerId: string }> => dialer.join({ address, peerId, timeoutMs });
  const canDial = (address: string): boolean => transports.canDial(address);
  const connections: ConnectionManager = new ConnectionManager({ localPeerId, settings: o.connections, table, book, dial, canDial, running: node.running, report });
  const lazy = { routing, requests, ...nodeRooms.lazy };
  return { codec, guard, table, bans, auth, dispatcher, state, closeState, stateSync, files, swarmFiles, gate, transports, dialer, heartbeat: new Heartbeat(), discovery, get topics() { return nodeRooms.topics; }, mesh, reach, get routing() { return routing.room; }, get requests() { return requests.room; }, connections, pex, lazy };
}

/** A message to one peer: directly to a neighbour with `route/1`, else end to end through the mesh (the routing room is made only then; `tell`, a request's: RoutingRoom.send). */
function sendTo(table: PeerTable, routing: LazyRoom<RoutingRoom>, source: string, nextId: () => number, to: string, kind: string, payload: unknown, tell?: Tell): Promise<void> {
  const session = table.open.get(to);
  if (session === undefined) return routing.room.send(to, kind, payload, tell);
  if (!table.supports(session, ROUTE_CAPABILITY)) return Promise.reject(unreachableError(to, ERROR_TEXTS ? "it runs an older release, without requests (route/1)" : []));
  return session.sendEnvelope({ version: ENVELOPE_VERSION, kind, source, destination: to, id: nextId(), hopLimit: 0, payload });
}

/** Signing and checking of the default state's own keys with the node's identity (`@xppg/state` takes them as functions: it imports no crypto). */
function stateOwnership(o: ResolvedOptions, made: (checks: OwnedRowChecks) => void, versionOf: (key: string) => number): Pick<SharedStateOptions, "sign" | "verify" | "canWrite"> {
  const checks = new OwnedRowChecks((writer, data, signature) => isPeerId(writer) && checkSignature(publicKeyFromPeerId(writer), data, signature), versionOf);
  made(checks);
  return { sign: stateSigner(o.identity), verify: checks.verifier, canWrite: o.stateCanWrite };
}

/** Throws for a name that is no event of the node, in the words of `method` (the one called); any value is shown (`show`: a BigInt or a null-prototype object too). */
function checkEventName(name: unknown, method: "on" | "once"): void {
  if (typeof name === "string" && isEventName(name)) return;
  const known = Object.keys(PLAYGROUND_EVENT_NAMES).join(", ");
  throw new PlaygroundError(
    NODE_ERROR_CODES.INVALID_ARGUMENT,
    ERROR_TEXTS ? `events.${method}(name, listener, options?): there is no event named ${show(name)} (the events are ${known}; messages of a kind are heard with pg.on(kind, handler)). Write it as pg.events.${method}("peer:joined", (peer) => { ... }).` : [method, show(name), known],
  );
}

/** The node's event emitter: a listener that throws is reported as an `error` event, once (not again if an `error` listener throws). */
export function nodeEvents(): TypedEvents<PlaygroundEvents> {
  let reporting = false;
  const events: TypedEvents<PlaygroundEvents> = new TypedEvents<PlaygroundEvents>((error) => {
    if (reporting) return;
    reporting = true;
    try {
      events.emit("error", asHandlerError(error, ERROR_TEXTS ? "an event listener" : []), undefined);
    } finally {
      reporting = false;
    }
  });
  if (MISUSE_CHECKS) {
    // Each checks the name in its own words (`once` adds its listener through `on`, after its check).
    const on = events.on.bind(events);
    const once = events.once.bind(events);
    events.on = (name, listener, options) => (checkEventName(name, "on"), on(name, listener, options));
    events.once = (name, listener, options) => (checkEventName(name, "once"), once(name, listener, options));
  }
  return events;
}

function isQuietClose(error: XppgError): boolean {
  const c = error.code;
  return c === NODE_ERROR_CODES.DUPLICATE_CONNECTION || c === NODE_ERROR_CODES.PEER_SHUTDOWN || c === NODE_ERROR_CODES.PEER_GONE || c === NODE_ERROR_CODES.DISCONNECTED;
}

/** At stop, before the sessions close: no heartbeat, no connection-manager check and no peer exchange runs (nor is scheduled by a session ending) after it. */
/**
 * Shuts every room down in order: discovery and checks first, then the
 * listeners, the routed channels, then each session (told `shutdown` when it
 * is the peer's current one, given at most 2 s to close), then files, the
 * port mapping and state.
 */
export async function stopRooms(r: Rooms, table: PeerTable, shutdown: XppgError, nat: { remove(): Promise<unknown> } | undefined): Promise<void> {
  const topics = r.lazy.topics;
  await Promise.all([r.discovery.stop(), topics === undefined ? r.topics.stop() : topics.close()]);
  r.heartbeat.stop();
  r.connections.stop();
  r.pex.close();
  await r.reach.close();
  await r.transports.close();
  r.gate.closePending();
  // Routed channels end before the sessions under them: their last records go to the sessions, which flush them as
  // they close; a send lost with a closing neighbour is the stop (XPPG_ERR_STOPPED), no peer's loss. A page's secure
  // channel seals its last records when WebCrypto answers: the sessions wait for them (2 s at most).
  await within(r.lazy.routing!.close(), 2000);
  const closing = [...table.sessions].map((s) => {
    s.close(table.peers.get(s.peerId ?? "") === s ? shutdown : undefined);
    return s.connection.closed;
  });
  await within(Promise.all(closing), 2000);
  await Promise.all([r.files.close(), r.swarmFiles.close(), nat?.remove().catch(() => {})]);
  r.stateSync.close();
  r.mesh.close();
  r.lazy.requests!.close();
  r.closeState();
}

/** Waits for `work`, `ms` at most; the timer is cleared once `work` settles, so no timer outlives the stop. */
async function within(work: unknown, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => void (timer = setTimeout(resolve, ms)).unref?.())]);
  } finally {
    clearTimeout(timer);
  }
}

/** The most two clocks may differ: signed broadcasts and state versions are judged by their time (a custom `state` replica keeps its own rule). */
function clockSkewLimit(o: ResolvedOptions): number {
  const state = o.state === undefined ? (o.stateLimits?.maxClockSkewMs ?? Infinity) : Infinity;
  return Math.min(o.limits.broadcastMaxAgeMs, state);
}
