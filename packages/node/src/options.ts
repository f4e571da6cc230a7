import type { XppgError } from "@xppg/errors";
import type { NatProtocol, NatResult, PortMapper } from "@xppg/nat";
import type { Identity } from "@xppg/secure";
import type { Replica, SharedStateLimits } from "@xppg/state";
import type { Transport } from "@xppg/transport";
import type { PlaygroundConnections } from "./connection-options.js";
import type { PlaygroundReach } from "./reach-options.js";
import type { PlaygroundDht } from "./dht-options.js";
import type { RoutingLimitOptions } from "./routing-options.js";

/** Limits every node enforces on its peers. All are on by default. */
export interface PlaygroundLimits extends RoutingLimitOptions {
  /**
   * Most peers connected at once; more are refused with `XPPG_ERR_TOO_MANY_PEERS`.
   * @default 64
   */
  maxPeers?: number;
  /**
   * Most inbound connections still in their handshake at once; more are
   * closed (and reported as `XPPG_ERR_TOO_MANY_PEERS`).
   * @default 32
   */
  maxPendingHandshakes?: number;
  /**
   * Most of those pending handshakes from one remote host (one IPv4
   * address, one IPv6 /64) at once; more from that host are closed, so one
   * host cannot lock new peers out by keeping connects in flight.
   * @default 4, or a quarter of maxPendingHandshakes when that is less
   */
  maxPendingHandshakesPerHost?: number;
  /**
   * Time a peer has to complete the handshake: the secure handshake and the
   * xppg one together, from when the connection opens.
   * @default 5000
   */
  handshakeTimeoutMs?: number;
  /**
   * Largest message (encoded) sent or accepted, in bytes.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
  /**
   * Deepest nesting of arrays and maps accepted in a payload.
   * @default 32
   */
  maxPayloadDepth?: number;
  /**
   * Messages a second one peer may send on average; a peer that exceeds the
   * burst is disconnected with `XPPG_ERR_RATE_LIMITED`. `Infinity` turns the
   * limit off (for benchmarks on a trusted link).
   * @default 20000
   */
  messagesPerSecond?: number;
  /**
   * Messages a peer may send in one burst above the average rate.
   * @default 40000
   */
  messageBurst?: number;
  /**
   * Signed broadcasts a second one peer may send on average: each costs a
   * signature check (about 0.1 ms), far more than a direct message.
   * `Infinity` turns the limit off.
   * @default 2000
   */
  broadcastsPerSecond?: number;
  /** @default 4000 */
  broadcastBurst?: number;
  /**
   * Signature checks a second for the whole node (a token bucket holding
   * one second's worth). Each check costs about 0.1 ms of CPU, so the
   * default bounds them to about a fifth of a core. While it lasts every signed broadcast is checked;
   * once it is spent the checks are shared equally between the peers
   * sending broadcasts: a peer over its share has its broadcasts dropped
   * unchecked (counted in `stats.unverifiedBroadcasts`) while the others'
   * are still checked, and a peer that keeps that up for 4 s is
   * disconnected with `XPPG_ERR_RATE_LIMITED` (a strike). `Infinity` turns
   * it off.
   * @default 2000
   */
  verificationsPerSecond?: number;
  /**
   * Oldest broadcast accepted, by the time its origin signed into it (and
   * the furthest ahead of this node's clock): older ones are dropped as
   * replays (`stats.replayedBroadcasts`). Peers' clocks must agree within
   * this.
   * @default 300000 (5 minutes)
   */
  broadcastMaxAgeMs?: number;
  /**
   * Origins whose recent broadcast ids are remembered for replay detection.
   * Past this, the least recently added origin is forgotten, and broadcasts
   * no newer than its newest are dropped from any origin not remembered.
   * @default 4096
   */
  maxTrackedOrigins?: number;
  /**
   * Bytes queued for one peer (sent without awaiting, or not yet taken by
   * the network) past which the peer is dropped with `XPPG_ERR_SLOW_PEER`.
   * @default 67108864 (64 MiB)
   */
  maxQueuedBytesPerPeer?: number;
  /**
   * Bytes queued for all peers together; a send that passes it drops the
   * peer with the largest queue with `XPPG_ERR_SLOW_PEER`.
   * @default 268435456 (256 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * With data queued for a peer, no write progress (the network taking none
   * of it) for this long drops the peer with `XPPG_ERR_SLOW_PEER`.
   * `Infinity` turns it off.
   * @default 10000
   */
  writeStallTimeoutMs?: number;
  /**
   * Longest a broadcast's promise waits for one receiver that is not
   * reading: after this it resolves without it, and that receiver no longer
   * holds back later broadcasts (its queue then fills to its limits, and it
   * is dropped as slow). Directed sends (`{ to }`) still wait for their peer.
   * `Infinity` waits for every receiver.
   * @default 1000
   */
  maxBroadcastWaitMs?: number;
  /**
   * Bytes a second one peer may send on average (token bucket, like
   * `messagesPerSecond`); `Infinity` turns it off.
   * @default 268435456 (256 MiB)
   */
  bytesPerSecond?: number;
  /**
   * Bytes a peer may send in one burst above the average.
   * @default 536870912 (512 MiB)
   */
  byteBurst?: number;
  /**
   * Violations (a rate limit, a protocol error, a bad signature, a state
   * update the replica refuses as malformed or over its limits) within
   * `strikeWindowMs` after which a peer id, and the host it connects from, are
   * banned for `banDurationMs`. A secure handshake that fails or times out,
   * a record that fails to decrypt, or a full local replica is no strike:
   * someone on the path, or an honest peer, could cause it.
   * @default 3
   */
  banThreshold?: number;
  /** @default 600000 (10 minutes) */
  strikeWindowMs?: number;
  /** @default 600000 (10 minutes) */
  banDurationMs?: number;
  /**
   * Largest file accepted by `shareFile` receivers, in bytes.
   * @default 4294967296 (4 GiB)
   */
  maxFileSize?: number;
  /**
   * Most incoming file transfers from one peer at once.
   * @default 4
   */
  maxIncomingTransfersPerPeer?: number;
  /**
   * `requestState` answers one peer may ask of this node a minute (each is
   * the whole state); a peer that asks faster is dropped with
   * `XPPG_ERR_RATE_LIMITED`. `Infinity` turns it off.
   * @default 12
   */
  stateRequestsPerMinute?: number;
  /**
   * Snapshot bytes (join snapshots and answers) sent to one peer a second,
   * with a burst of twice that: a larger state is paced, never cut.
   * `Infinity` turns it off.
   * @default 8388608 (8 MiB)
   */
  stateBytesPerSecond?: number;
  /**
   * Snapshots being sent at once, node-wide; the others wait their turn.
   * @default 2
   */
  maxConcurrentSnapshots?: number;
  /**
   * An incoming file transfer that receives nothing for this long is
   * cancelled: its temporary file is deleted, its slot freed, and `error`
   * fires with `XPPG_ERR_FILE_TRANSFER_FAILED` naming the peer and the file.
   * `Infinity` turns it off.
   * @default 30000
   */
  fileIdleTimeoutMs?: number;
}

/** How liveness is checked. */
export interface PlaygroundHeartbeat {
  /**
   * A ping is sent to a peer that has heard nothing from us for this long.
   * @default 2000
   */
  intervalMs?: number;
  /**
   * A peer silent for this long is dropped with `XPPG_ERR_PEER_TIMEOUT`.
   * @default 6000
   */
  timeoutMs?: number;
}

/** How a node finds peers by itself. */
export interface PlaygroundDiscovery {
  /**
   * LAN discovery (multicast DNS, `@xppg/discovery`): announce this node to
   * the nodes of the same app on the local network and join each one found,
   * with its peer id pinned. `true` uses every interface (or the one `host`
   * names); `{ interface: "192.168.1.20" }` one interface, `"127.0.0.1"` the
   * processes of this machine only.
   * @default false
   */
  lan?: boolean | { interface?: string; mdnsPort?: number };
  /** Settings of the DHT `pg.joinTopic` uses (`bootstrap`, `nodesFile`, ...). @default the public bootstrap routers */
  dht?: PlaygroundDht;
}

/** Options of {@link Playground}. */
export interface PlaygroundOptions {
  /**
   * Local address to listen on.
   * @default "0.0.0.0"
   */
  host?: string;
  /**
   * TCP port to listen on; 0 picks any free port (read it from `pg.port`).
   * @default 7337
   */
  port?: number;
  /**
   * Addresses to listen on, overriding `host`/`port` (`["tcp://0.0.0.0:7337", "ws://0.0.0.0:7338/xppg"]`).
   * An empty array makes a node that only dials out.
   */
  listen?: string[];
  /**
   * Transports to listen and dial with.
   * @default [tcpTransport()] from @xppg/transport-tcp
   */
  transports?: Transport[];
  /**
   * This node's key pair; its peer id is derived from the public key.
   * Keep one across runs with `identity: await loadOrCreateIdentity(path)`
   * from `@xppg/secure/key-file`.
   * @default a new in-memory identity (a new peer id every run)
   */
  identity?: Identity;
  /**
   * A key file to load the identity from, created (mode 0600, in a 0700
   * folder) on first use, so the peer id stays the same across runs. Ignored
   * when `identity` is given.
   */
  keyFile?: string;
  /**
   * Accept only these peer ids (checked after the peer proved its key).
   * @default every peer id
   */
  allowPeers?: Iterable<string>;
  /**
   * Turns encryption and peer authentication OFF: anyone on the path reads
   * and alters the traffic, and any peer can claim any id. Only for
   * experiments on a network you trust; both sides must set it.
   * @default false
   */
  dangerouslyDisableEncryption?: boolean;
  /**
   * The application's own capabilities, sent in the handshake, named
   * `x-<feature>/<major version>` (`x-reactions/1`): a peer's settled
   * capabilities (`pg.peers[i].capabilities`) say which of them it shares,
   * so a new feature is used only with peers that have it. At most 16.
   * @default none
   */
  capabilities?: Iterable<string>;
  /** Limits on peers; all on by default. */
  limits?: PlaygroundLimits;
  /** Liveness checking. */
  heartbeat?: PlaygroundHeartbeat;
  /**
   * Send local state changes to every peer as they happen (batched per
   * event-loop tick), and forward changes learnt from one peer to the others.
   * With false, state moves only on `pushState`/`requestState` and on join.
   * @default true
   */
  autoSyncState?: boolean;
  /**
   * Folder where received files are written.
   * @default `$XDG_DATA_HOME/xppg/downloads/<appName>` (`~/.local/share/...`), a folder of this user only
   */
  downloadDir?: string;
  /**
   * Decides whether to accept an offered file. Return false to refuse it.
   * @default accept every file within limits.maxFileSize
   */
  acceptFile?: (offer: { from: string; name: string; size: number }) => boolean;
  /** Tunings of `pg.files` (upload rate, request and find timeouts, requests in flight per peer); see `@xppg/files`. */
  files?: import("./files-options.js").PlaygroundFilesOptions;
  /**
   * Port mapping used by `start({ openPort: true })`: any `PortMapper` of
   * `@xppg/nat` (UPnP, or your own strategy: NAT-PMP, a static forward).
   * @default UPnP from @xppg/nat, loaded only when a port is to be opened
   */
  portMapper?: PortMapper;
  /**
   * The replicated state this node carries (read it back as `pg.state`).
   * Give a `SharedState` of `@xppg/state` with your own merge rules or
   * limits; its `replicaId` must be this node's peer id.
   * @default a new `SharedState` with the default limits
   */
  state?: Replica;
  /**
   * Limits of the default `pg.state` (`SharedStateLimits` of `@xppg/state`:
   * `maxKeys`, `maxKeysPerPeer`, `maxTotalSize`, `maxClockSkewMs`, ...).
   * With `state`, give them to your `SharedState` instead.
   * @default the `@xppg/state` defaults
   */
  stateLimits?: SharedStateLimits;
  /**
   * Finding peers with no address typed: `{ lan: true }` turns on LAN
   * discovery (see {@link PlaygroundDiscovery}).
   * @default off
   */
  discovery?: PlaygroundDiscovery;
  /**
   * A file to keep the default `pg.state` in across restarts (an
   * append-only, checksummed log; see `openFileStore` of `@xppg/state/store`).
   * Keep the node's peer id too (`keyFile`), so its own keys stay its own.
   * With `state`, give your `SharedState` a `store` instead.
   * @default undefined (the state lives in memory only)
   */
  statePath?: string;
  /**
   * With `statePath`: `0` syncs every write to disk before `set` returns;
   * above `0`, writes reach the file at once (they survive a crash of the
   * process) and are synced at most this many ms later (a power loss may
   * lose that interval), for many times more writes per second.
   * @default 0
   */
  stateSyncIntervalMs?: number;
  /**
   * An application rule for the default `pg.state`: `(writer, key) =>
   * boolean`, checked on every local and received write; false refuses it
   * (a peer that sends one is dropped with a strike). Keys `@<peerId>/...`
   * are writable only by that peer whatever this says. A writer id is
   * proven only for those keys (they are signed); for shared keys it is
   * what the write says.
   * @default undefined (every shared key writable by all)
   */
  stateCanWrite?: (writer: string, key: string) => boolean;
  /** The connection manager and peer exchange (see {@link PlaygroundConnections}). */
  connections?: PlaygroundConnections;
  /** Reachability, automatic relays and hole punching (see {@link PlaygroundReach}). @default reachability and relay use on, serving a relay off */
  reach?: PlaygroundReach;
}

/**
 * What `start({ openPort: true })` resolves with: the port mapper's own
 * result, or, when the mapper threw or gave no answer in time, an unmapped
 * result made by the node whose `error` says why
 * (`XPPG_ERR_PORT_MAPPING_FAILED` or `XPPG_ERR_TIMEOUT`).
 */
export type PortMappingResult = NatResult | UnansweredPortMapping;

/** The node's own unmapped result, for a mapper that threw or did not answer in time. */
export interface UnansweredPortMapping {
  readonly mapped: false;
  readonly method: null;
  readonly externalIp: null;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalIp: null;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: 0;
  /** Why there is no mapping. */
  readonly error: XppgError;
  /** Nothing to remove; resolves at once. */
  remove(): Promise<void>;
}

/**
 * @deprecated Use {@link PortMappingResult}; this alias goes in the next minor release.
 */
export type NatResultLike = PortMappingResult;

/** Options of `start()`. */
export interface StartOptions {
  /**
   * Ask the router to forward the listening port (UPnP). Bounded in time:
   * with no gateway, `start` resolves anyway with an unmapped result.
   * @default false
   */
  openPort?: boolean;
  /**
   * Longest wait for the port mapping.
   * @default 3000
   */
  openPortTimeoutMs?: number;
  /** Abort the start: listeners already opened are closed and `start` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The TCP port a Playground listens on unless told otherwise. */
export const DEFAULT_PORT = 7337;

/** The defaults of every option with one; `resolveOptions` fills them in. */
export const DEFAULTS = {
  host: "0.0.0.0",
  port: DEFAULT_PORT,
  maxPeers: 64,
  maxPendingHandshakes: 32,
  maxPendingHandshakesPerHost: 4,
  handshakeTimeoutMs: 5000,
  messagesPerSecond: 20_000,
  messageBurst: 40_000,
  maxFileSize: 4 * 1024 ** 3,
  maxIncomingTransfersPerPeer: 4,
  stateRequestsPerMinute: 12,
  stateBytesPerSecond: 8 * 1024 * 1024,
  maxConcurrentSnapshots: 2,
  broadcastsPerSecond: 2000,
  broadcastBurst: 4000,
  verificationsPerSecond: 2000,
  broadcastMaxAgeMs: 300_000,
  maxTrackedOrigins: 4096,
  maxQueuedBytesPerPeer: 64 * 1024 * 1024,
  maxQueuedBytes: 256 * 1024 * 1024,
  writeStallTimeoutMs: 10_000,
  maxBroadcastWaitMs: 1000,
  fileIdleTimeoutMs: 30_000,
  bytesPerSecond: 256 * 1024 * 1024,
  byteBurst: 512 * 1024 * 1024,
  banThreshold: 3,
  strikeWindowMs: 600_000,
  banDurationMs: 600_000,
  heartbeatIntervalMs: 2000,
  heartbeatTimeoutMs: 6000,
  openPortTimeoutMs: 3000,
} as const;
