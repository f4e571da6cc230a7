/** The public types of `Playground`'s calls and events. */

import type { PeerCandidate } from "@xppg/discovery";
import type { XppgError } from "@xppg/errors";
import type { Ban } from "./abuse-guard.js";
import type { MeshMember } from "./mesh/membership.js";
import type { PeerInfo } from "./peer-table.js";
import type { ReachabilityKind, ReachabilityStatus } from "./reachability.js";

/** Lifecycle events, on `pg.events`; their names never collide with message kinds. */
export interface PlaygroundEvents {
  /** A peer completed the handshake. */
  "peer:joined": (peer: PeerInfo) => void;
  /**
   * A peer left: `reason` is absent for a clean close, else why (timeout,
   * limit, reset). When the peer said why in its goodbye, `reason` is a
   * `RemotePeerError` carrying the peer's own code.
   */
  "peer:left": (peer: PeerInfo, reason: XppgError | undefined) => void;
  /**
   * Something went wrong that did not stop the node: a peer broke a rule and
   * was dropped, a handler threw, a file transfer failed. `peerId` names the
   * peer when there is one.
   */
  error: (error: XppgError, peerId: string | undefined) => void;
  /** A message of a kind with no handler arrived (it was ignored). */
  "message:unhandled": (src: string, kind: string) => void;
  /** A peer id or host was banned (by `ban`, or automatically after repeated violations). */
  "peer:banned": (ban: Ban) => void;
  /**
   * LAN discovery offered a candidate (`discovery: { lan: true }`); the node
   * joins it unless it is connected already. Only a claim until the join
   * succeeds: the peer id is pinned when dialling.
   */
  "peer:discovered": (candidate: PeerCandidate) => void;
  /** A node of the mesh (a neighbour or reached through others) was heard from for the first time. */
  "mesh:joined": (member: MeshMember) => void;
  /** A node of the mesh has not been heard from for a minute: it has left. */
  "mesh:left": (member: MeshMember) => void;
  /** How this node can be reached changed (`pg.reachability`); `previous` is the kind before. */
  "reachability:changed": (status: ReachabilityStatus, previous: ReachabilityKind) => void;
}

/** Counters of what the node refused. */
export interface PlaygroundStats {
  /** Broadcast messages dropped because their signature was missing or wrong. */
  forgedMessages: number;
  /** Signed broadcasts dropped before their signature was checked: already delivered, or older than `limits.broadcastMaxAgeMs`. */
  replayedBroadcasts: number;
  /** Signed broadcasts dropped unchecked because their sender was over its share of `limits.verificationsPerSecond`. */
  unverifiedBroadcasts: number;
  /**
   * Messages of a peer that closed, dropped unread: past what the node reads
   * in the turn the close arrives (4 turns' slices, 4,096 envelopes), or
   * kept by the reader for later while its reading was held (the disk, a
   * congested next hop; a frame handed over at the close still goes to the
   * reader as any frame does, at most one turn's slice read at once). The
   * last is still looked at for the peer's goodbye.
   */
  droppedLastMessages: number;
  /** Peers disconnected for breaking a rule (a limit, the protocol, a signature). */
  droppedPeers: number;
  /** Connections refused because the peer id or host was banned or not allowed. */
  refusedConnections: number;
  /** Broadcasts of other nodes this node passed on through the mesh. */
  forwardedBroadcasts: number;
  /** Copies of a broadcast that had already arrived (dropped unchecked; each prunes a mesh link). */
  duplicateBroadcasts: number;
  /** Broadcasts dropped for having travelled past the mesh's hop limit. */
  droppedBroadcasts: number;
  /** Mesh grafts this node sent: it heard of a broadcast it lacked and asked the announcer for it (the link joins the tree). */
  meshGrafts: number;
  /** Mesh prunes this node sent: a second copy came on the link, which leaves the tree. */
  meshPrunes: number;
  /** Broadcasts this node sent whole in answer to a neighbour's graft. */
  pulledBroadcasts: number;
  /** Broadcast ids this node announced to neighbours off the tree (batched in `xppg/mesh-ihave`). */
  announcedBroadcasts: number;
  /** Copies of a broadcast that came after this node had grafted for it: the tree was slow, not broken (counted in `duplicateBroadcasts` too). */
  lateBroadcasts: number;
  /** Routed messages of other nodes this node passed on towards their destination. */
  forwardedUnicasts: number;
  /** Routed messages dropped here: no route on, a loop, past the hop limit, over a neighbour's rate, for no channel of this node. */
  droppedUnicasts: number;
  /** Routed messages of other nodes passed on to a next hop that read slower than they came; the link they came on was held (not read) until each was taken (hop by hop back-pressure). */
  heldUnicasts: number;
  /** End-to-end channels this node closed because its reading was paused and the other end sent past `limits.routedInboxBytes` (or it held the most when all passed `limits.routedInboxTotalBytes`). */
  overfullRoutedChannels: number;
}

/** Options of `send`, `sendText`, `shareFile` and `pushState` (each also takes the peer id itself instead). */
export interface SendOptions {
  /** The peer id to send to; omit to send to every connected peer. */
  to?: string | undefined;
}

/** Options of a subscription (`pg.on`, `pg.events.on`) and of `shareFile`. */
export interface SubscribeOptions {
  /** Aborting it removes the handler (for `shareFile`: stops the transfer). */
  signal?: AbortSignal | undefined;
}

/** Options of `pg.on`. */
export interface HandlerOptions extends SubscribeOptions {
  /**
   * The handler borrows its payload: it promises to keep no reference to
   * the payload's bytes (the payload itself, or any `Uint8Array` inside it)
   * once it returns (an async handler: once its synchronous part returns,
   * that is before its first `await`). The node may then reuse their memory
   * for later messages, which a receiver of a flood pays for in memory and
   * garbage collection: a message whose every handler borrows leaves
   * nothing behind. To keep bytes, copy them (`payload.slice()`). A handler
   * that breaks the promise sees the bytes it kept change under it, with
   * later messages' bytes; nothing checks it. Its messages are reused only
   * while every handler of the kind borrows: a handler added without
   * `borrow` beside it makes the kind's messages kept again, for every one
   * of its handlers. In a browser it is accepted and changes nothing (a
   * page's WebSocket gives each message memory of its own).
   * @default false
   */
  borrow?: boolean | undefined;
}

/** Options of `requestState`. */
export interface RequestStateOptions extends SendOptions {
  /**
   * Give up after this long with `XPPG_ERR_TIMEOUT`.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /** Give up when aborted, with `XPPG_ERR_ABORTED`. */
  signal?: AbortSignal | undefined;
}

/** Options of `join`. */
export interface JoinOptions {
  /**
   * Give up after this long (dial and handshake together).
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /** Abort the join (`XPPG_ERR_ABORTED`; a dial in progress fails with the transport's abort error). */
  signal?: AbortSignal | undefined;
  /**
   * The peer id you expect. If another key answers, the join fails with
   * `XPPG_ERR_PEER_ID_MISMATCH` (a man in the middle, or the wrong address).
   * With `dangerouslyDisableEncryption` the peer's hello must claim this id;
   * nothing is proved, so that only catches a wrong address.
   */
  peerId?: string | undefined;
}
