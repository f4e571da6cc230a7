/** What a peer session (`peer-session.ts`) needs from the node that owns it, and the limits it enforces. */

import type { XppgError } from "@xppg/errors";
import type { EnvelopeCodec } from "@xppg/framing";
import type { TurnChecks } from "./bundle-reader.js";
import type { Dispatcher } from "./dispatcher.js";
import type { MessageRouter } from "./message-router.js";
import type { OutboxLimits } from "./outbox.js";
import type { PeerSession } from "./peer-session.js";
import type { Hello, Refusal, RemoteHello } from "./protocol.js";

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly localPeerId: string;
  readonly codec: EnvelopeCodec;
  /** The hello this node sends. */
  hello(): Hello;
  nextMessageId(): number;
  /** Decides whether to accept the peer; returns a refusal, or null to accept. */
  admit(session: PeerSession, hello: RemoteHello): Refusal | null;
  /**
   * Where an accepted peer's envelopes go, source already checked (`message-router.ts`): `deliver` takes a whole
   * envelope; `deliverDirect` a direct message from an open peer by its fields, and answers `DIRECT_KEPT` or `DIRECT_RELEASED` when
   * the peer's next direct messages of that kind may go straight to the `dispatcher` (`DIRECT_RELEASED`: and the dispatcher
   * said nothing can have kept this one's payload).
   */
  readonly router: Pick<MessageRouter, "deliver" | "deliverDirect">;
  /** The application's handlers. */
  readonly dispatcher: Pick<Dispatcher, "dispatch">;
  /** True when the peer relays broadcasts of others (it settled the mesh capability). */
  relays(session: PeerSession): boolean;
  /** Both sides accepted each other: the session is open. */
  opened(session: PeerSession): void;
  /** A local failure to report (not the peer's fault). */
  report(error: XppgError, peerId: string | undefined): void;
  /** A signed broadcast dropped unchecked: read as the peer closed, past the turn's signature checks (`stats.unverifiedBroadcasts`). */
  unverified?(): void;
  /** `count` envelopes of a closing peer dropped unread (`stats.droppedLastMessages`; see `BundleReader.finish`). */
  unread?(count: number): void;
  /** The session ended (after `admit` accepted it or not). */
  ended(session: PeerSession, error: XppgError | undefined): void;
  /** False once the node stops: a send on a session closed from then on rejects with `XPPG_ERR_STOPPED`, not `XPPG_ERR_CONNECTION_CLOSED`. Absent: running. */
  running?(): boolean;
}

/** Limits a session enforces. */
export interface SessionLimits {
  /** The whole handshake's limit, from the connection's start (secure handshake included). */
  handshakeTimeoutMs: number;
  /**
   * When the connection's handshake began (`now()` of @xppg/errors); the xppg
   * handshake gets what is left of `handshakeTimeoutMs`. Defaults to now.
   */
  handshakeStartedAt?: number;
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  byteBurst: number;
  /** Envelopes of this peer handled per turn of the event loop (`bundle-reader.ts`). @default 1024 */
  envelopesPerTurn?: number;
  /** The node's signature checks per turn, shared by its sessions (`bundle-reader.ts`). */
  checks?: TurnChecks;
  /** The outgoing queue's limits: per peer, write stall, and the node-wide budget. */
  queue: OutboxLimits;
}

/** What the node knows of the peer before its hello arrives. */
export interface SessionPeer {
  /** The peer id the secure channel proved; none without encryption. */
  authenticatedPeerId?: string | undefined;
  /** The peer id the caller of `join` asked for; the hello must carry it. */
  expectedPeerId?: string | undefined;
}
