/**
 * The rooms a browser page replaces by stand-ins (`#node-rooms`; the
 * page's is `browser/node-rooms.ts`): file transfers and the swarm files,
 * reachability and relays, LAN discovery, topics and peer exchange, wired
 * from the options and the rooms every node has. Kept out of `rooms.ts` so
 * that a page's first download holds none of this wiring.
 */

import type { XppgError } from "@xppg/errors";
import type { EnvelopeCodec } from "@xppg/framing";
import { DiscoveryRoom } from "#discovery-room";
import { FileTransfers } from "#file-transfer";
import { FilesRoom } from "#files-room";
import { PeerExchange } from "#peer-exchange";
import { ReachRoom } from "#reach-room";
import { TopicRoom } from "#topic-room";
import { lazyRoom, type MadeOnUse } from "./lazy-room.js";
import type { ConnectionManager } from "#connection-manager";
import type { Dialer } from "./dialer.js";
import type { Dispatcher } from "./dispatcher.js";
import type { ReceivedFile } from "./file-transfer.js";
import type { AddressBook } from "./mesh/address-book.js";
import type { MeshRoom } from "./mesh-room.js";
import type { PeerTable } from "./peer-table.js";
import { KIND_FILE } from "./protocol.js";
import type { ReadHolds } from "./read-holds.js";
import type { ResolvedOptions } from "./resolved-options.js";
import type { NodeHooks } from "./rooms.js";
import type { TransportSet } from "./transport-set.js";

/** What those rooms take from the rest of the node; rooms made after them are reached through functions. */
export interface NodeRoomsContext {
  readonly o: ResolvedOptions;
  readonly node: NodeHooks;
  readonly table: PeerTable;
  readonly codec: EnvelopeCodec;
  readonly dispatcher: Dispatcher;
  readonly holds: ReadHolds;
  readonly book: AddressBook;
  report(error: XppgError, peerId: string | undefined): void;
  mesh(): MeshRoom;
  transports(): TransportSet;
  dialer(): Dialer;
  connections(): ConnectionManager;
}

/** The rooms of `NodeRoomsContext`'s doc, made. */
export interface NodeRooms {
  readonly files: FileTransfers;
  readonly swarmFiles: FilesRoom;
  readonly reach: ReachRoom;
  readonly discovery: DiscoveryRoom;
  readonly topics: TopicRoom;
  readonly pex: PeerExchange;
  /** Of these, the rooms made at their first use (Node's topics), by name. */
  readonly lazy?: Readonly<Record<string, MadeOnUse>>;
}

/**
 * Makes the rooms a page replaces by stand-ins (file transfers and swarm
 * files, reachability, LAN discovery, topics, peer exchange) and wires them
 * to the node: their events, what they report, and the `peer:left` that ends
 * a peer's discovery backoff and topic entry. Rooms made after these (the
 * mesh, the transports, the dialer, the connection manager) are reached
 * through the context's functions, so call this before those exist. Called
 * once per node, by `rooms.ts`.
 */
export function wireNodeRooms(c: NodeRoomsContext): NodeRooms {
  const { o, node, table, codec, dispatcher, report } = c;
  const localPeerId = o.identity.peerId;
  const files = new FileTransfers({
    downloadDir: o.downloadDir,
    maxFrameSize: codec.maxSize,
    maxFileSize: o.limits.maxFileSize,
    maxIncomingPerPeer: o.limits.maxIncomingTransfersPerPeer,
    idleTimeoutMs: o.limits.fileIdleTimeoutMs,
    acceptFile: o.acceptFile,
    delivered: (from, file) => dispatcher.dispatch(from, KIND_FILE, file),
    failed: report,
    setPaused: (session, paused) => c.holds.set(session, paused),
  });
  const push = { downloadDir: o.downloadDir, maxIncomingPerPeer: o.limits.maxIncomingTransfersPerPeer, acceptFile: o.acceptFile, delivered: (from: string, file: ReceivedFile) => dispatcher.dispatch(from, KIND_FILE, file), failed: report };
  const swarmFiles = new FilesRoom({ table, maxMessageSize: codec.maxSize, maxFileSize: o.limits.maxFileSize, peerBytesPerSecond: Math.min(o.limits.bytesPerSecond, o.limits.byteBurst), downloadDir: o.downloadDir, tunings: o.files, push, legacy: files });
  const join = (address: string, peerId: string | undefined, timeoutMs: number): ReturnType<Dialer["join"]> => c.dialer().join({ address, peerId, timeoutMs });
  const reach: ReachRoom = new ReachRoom({
    localPeerId,
    reach: o.reach,
    table,
    addresses: () => c.transports().addresses,
    listen: (address) => c.transports().add(address),
    unlisten: (listener) => c.transports().remove(listener),
    join: (address, peerId) => join(address, peerId, 5000),
    meshAddresses: (peerId) => c.mesh().members().find((m) => m.peerId === peerId)?.listenAddresses ?? [],
    changed: (status, previous) => node.events.emit("reachability:changed", status, previous),
    report: (error) => report(error, undefined),
  });
  const pex = new PeerExchange({ identity: o.identity, table, book: c.book, listen: () => node.hello().listen, running: node.running, learnt: (peerId, changed) => c.connections().learnt(peerId, changed) });
  const relayAddresses = (): string[] => c.transports().addresses.filter((a) => a.startsWith("relay://"));
  // LAN candidates are dialled by the discovery room itself, within its own backoff, not by the manager.
  const discovery = new DiscoveryRoom({ localPeerId, appName: o.appName, lan: o.lan, table, dial: join, relayAddresses, discovered: (candidate) => node.events.emit("peer:discovered", candidate), report: (e) => report(e, undefined) });
  const canDial = (address: string): boolean => c.transports().canDial(address);
  const locator = { identity: o.identity, addresses: () => reach.advertisedAddresses(), canDial, join: (address: string, peerId: string, timeoutMs: number) => join(address, peerId, timeoutMs), connected: (peerId: string) => {
    const s = table.open.get(peerId);
    return s === undefined ? undefined : table.infoOf(s);
  } };
  // Made at the first topic call: until then no topic is joined, so a peer's leaving is nothing to it.
  const topics = lazyRoom(() => new TopicRoom({ appName: o.appName, dht: o.dht, discovery, running: node.running, announcePort: node.announcePort, report: (e) => report(e, undefined), locator }), (t) => t.stop());
  node.events.on("peer:left", (peer, reason) => {
    discovery.left(peer.peerId, reason);
    if (topics.made && discovery.lost(reason)) topics.room.left(peer.peerId);
  });
  return { files, swarmFiles, reach, discovery, get topics() { return topics.room; }, pex, lazy: { topics } };
}
