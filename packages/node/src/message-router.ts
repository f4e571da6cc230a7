/**
 * The message router: where each envelope from a peer goes. Control kinds go
 * to their rooms (state sync, files, mesh); broadcasts go to the mesh room,
 * which passes each first copy through `authenticate` here; the rest
 * reaches the application's handlers. Messages for another node travel
 * inside `xppg/route` packets (the routing room); what arrives end to end
 * through one comes back here (`deliverRouted`).
 */

import type { Envelope } from "@xppg/framing";
import type { BroadcastAuth } from "./broadcast-auth.js";
import { VERDICT, type Verdict } from "./broadcast-auth.js";
import type { Dispatcher } from "./dispatcher.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { DIRECT_STREAMS } from "#host";
import type { FileTransfers } from "#file-transfer";
import type { FilesRoom } from "#files-room";
import type { MeshRoom } from "./mesh-room.js";
import type { PeerExchange } from "./peer-exchange.js";
import type { PeerSession } from "./peer-session.js";
import type { ReachRoom } from "#reach-room";
import { FIXED_SHAPE_KINDS, KIND_FILES, KIND_MESH_PRESENCE, KIND_PEX, KIND_REQUEST, KIND_RESPONSE, KIND_ROUTE, KIND_STATE, KIND_STATE_HELLO, KIND_STATE_REQUEST, KIND_TEXT, hasRequiredShape, isReservedKind } from "./protocol.js";
import type { RequestRoom } from "#request-room";
import type { RoutingRoom } from "#routing-room";
import type { StateSync } from "./state-sync.js";
import { ERROR_TEXTS } from "@xppg/errors";

export interface RouterOptions {
  readonly localPeerId: string;
  readonly auth: BroadcastAuth;
  readonly dispatcher: Dispatcher;
  readonly stateSync: StateSync;
  readonly files: FileTransfers;
  readonly swarmFiles: FilesRoom;
  readonly mesh: MeshRoom;
  readonly pex: Pick<PeerExchange, "receive">;
  readonly reach: ReachRoom;
  readonly routing: RoutingRoom;
  readonly requests: RequestRoom;
  /** True when routed unicast and requests were settled with the peer (`route/1`). */
  routes(session: PeerSession): boolean;
  /** A broadcast whose signature is missing or wrong was dropped. */
  forged(session: PeerSession, error: PlaygroundError): void;
  /** A broadcast was dropped unchecked: a replay (or too old), or over its sender's share of the checks. */
  unchecked(verdict: typeof VERDICT.REPLAY | typeof VERDICT.OVER_BUDGET): void;
}

/**
 * Where `deliverDirect` took a message (`Direct`): `DIRECT_KEPT` and
 * `DIRECT_RELEASED`: to the handlers, as an application kind with no fixed
 * shape (in Node only); `DIRECT_RELEASED` when the dispatcher said nothing
 * can have kept its payload; `DIRECT_ELSEWHERE` anything else. Plain
 * constants, not an object's fields: the bundler writes them in as numbers.
 */
export const DIRECT_ELSEWHERE = 0;
export const DIRECT_KEPT = 1;
export const DIRECT_RELEASED = 2;
export type Direct = typeof DIRECT_ELSEWHERE | typeof DIRECT_KEPT | typeof DIRECT_RELEASED;

export class MessageRouter {
  readonly #o: RouterOptions;

  constructor(options: RouterOptions) {
    this.#o = options;
  }

  /** Delivers one envelope; throws a typed error for one that breaks the protocol (the session drops the peer). */
  deliver(session: PeerSession, envelope: Envelope): void {
    this.#deliver(session, envelope.source, envelope.kind, envelope.destination, envelope.payload, envelope);
  }

  /**
   * Delivers a direct message (`destination` set) from the peer itself, as
   * `deliver` does, from its fields: nearly every message, so the receiver
   * builds no envelope object for it. Says (`Direct`) where it went: in
   * Node (`DIRECT_STREAMS`) a message that reached the handlers as an
   * application kind with no fixed shape is `DIRECT_KEPT` or `DIRECT_RELEASED` (the peer's
   * next direct messages of that kind pass these checks too, and the
   * session hands them to the dispatcher itself); `DIRECT_RELEASED` only when it
   * went straight to `dispatcher.dispatch`, nothing else saw it, and the
   * dispatcher said nothing can have kept the payload. Anything else is
   * `DIRECT_ELSEWHERE`: a room, a fixed-shape kind, a page's node.
   */
  deliverDirect(session: PeerSession, source: string, kind: string, destination: string, payload: unknown): Direct {
    return this.#deliver(session, source, kind, destination, payload, undefined);
  }

  /** `envelope` is undefined only for a direct message: what a broadcast needs of it, a direct message does not. Says what `deliverDirect` says. */
  #deliver(session: PeerSession, source: string, kind: string, destination: string | null, payload: unknown, envelope: Envelope | undefined): Direct {
    const o = this.#o;
    if (destination !== null && destination !== o.localPeerId) {
      // No relaying yet: a message for someone else is a protocol error on a direct link.
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent a message for ${destination} to this node; it is disconnected.` : [session.peerId, destination]);
    }
    if (isReservedKind(kind)) {
      this.#reserved(session, source, kind, destination, payload, envelope);
      return DIRECT_ELSEWHERE;
    }
    if (!hasRequiredShape(kind, payload)) {
      // A relayed broadcast of the wrong shape is its origin's doing, not the relay's: dropped, not forwarded.
      if (source !== session.peerId) return DIRECT_ELSEWHERE;
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent a "${kind}" message that is not ${kind === KIND_TEXT ? "{ text: string }" : "of its fixed shape"}. It is disconnected.` : [session.peerId, kind]);
    }
    if (destination === null) {
      o.mesh.receive(session, envelope!);
      return DIRECT_ELSEWHERE;
    }
    const released = o.dispatcher.dispatch(source, kind, payload);
    // Said here, where it reached the handlers: what was checked of a kind with no fixed shape depends on the kind alone.
    // The dispatcher alone had the payload: its answer is the message's (a fixed-shape kind's payload was read by its check first: kept).
    if (!DIRECT_STREAMS || Object.hasOwn(FIXED_SHAPE_KINDS, kind)) return DIRECT_ELSEWHERE;
    return released ? DIRECT_RELEASED : DIRECT_KEPT;
  }

  /** A reserved kind goes to its room, or breaks the protocol. */
  #reserved(session: PeerSession, source: string, kind: string, destination: string | null, payload: unknown, envelope: Envelope | undefined): void {
    const o = this.#o;
    if (kind === KIND_STATE || kind === KIND_STATE_REQUEST || kind === KIND_STATE_HELLO) return o.stateSync.handle(session, kind, payload);
    if (kind.startsWith("xppg/file-")) return o.files.handle(session, kind, payload);
    if (kind === KIND_FILES && destination !== null) return o.swarmFiles.receive(session, payload);
    // A presence travels like any broadcast; the mesh room reads it instead of a handler.
    if (kind === KIND_MESH_PRESENCE && destination === null) return o.mesh.receive(session, envelope!);
    if (kind.startsWith("xppg/mesh-")) return o.mesh.control(session, kind, payload);
    if (kind.startsWith("xppg/reach-")) return o.reach.handle(session, kind, payload);
    if (kind === KIND_ROUTE || kind === KIND_REQUEST || kind === KIND_RESPONSE) {
      if (!o.routes(session) || source !== session.peerId || destination === null) {
        throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent "${kind}" without the route/1 capability or not as a direct message. It is disconnected.` : [session.peerId, kind]);
      }
      if (kind === KIND_ROUTE) return o.routing.receive(session, payload);
      return o.requests.receive(source, kind, payload);
    }
    if (kind === KIND_PEX) return o.pex.receive(session, payload);
    throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent the reserved kind "${kind}", which this node does not know. It is disconnected.` : [session.peerId, kind]);
  }

  /**
   * A message that came end to end through a routed channel from
   * `envelope.source` (proved by the channel). Throws a typed error for one
   * that breaks the protocol: its channel is closed.
   */
  deliverRouted(envelope: Envelope): void {
    const { kind, source, payload } = envelope;
    if (kind === KIND_REQUEST || kind === KIND_RESPONSE) return this.#o.requests.receive(source, kind, payload);
    if (isReservedKind(kind) || !hasRequiredShape(kind, payload)) {
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${source} sent a "${kind}" message through the mesh that it may not send. Its channel is closed.` : [source, kind]);
    }
    this.#o.dispatcher.dispatch(source, kind, payload);
  }

  /** Checks the first copy of a broadcast: the sender's rate, replay and age, the node's verification budget, the origin's signature. True to deliver it (in a page, resolves with it). */
  authenticate(session: PeerSession, envelope: Envelope): boolean | Promise<boolean> {
    const o = this.#o;
    if (!o.auth.enabled) return true;
    const verdict = o.auth.check(session, envelope);
    // In a page the signature's check answers later.
    return typeof verdict === "number" ? this.#judged(session, envelope, verdict) : verdict.then((v) => this.#judged(session, envelope, v));
  }

  #judged(session: PeerSession, envelope: Envelope, verdict: Verdict): boolean {
    const o = this.#o;
    if (verdict === VERDICT.REPLAY || verdict === VERDICT.OVER_BUDGET) {
      o.unchecked(verdict);
      return false;
    }
    if (verdict === VERDICT.FORGED) {
      // The reason is words only: inside the texts' branch, so a page's build (no texts) does not read the signature for nothing.
      o.forged(
        session,
        new PlaygroundError(
          NODE_ERROR_CODES.BAD_SIGNATURE,
          ERROR_TEXTS ? `Dropped a "${envelope.kind}" broadcast from ${envelope.source}: ${envelope.signature === undefined ? "it carries no signature" : "its signature does not match its content"}.` : [envelope.kind, envelope.source],
        ),
      );
      return false;
    }
    return true;
  }
}
