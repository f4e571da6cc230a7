/**
 * The browser's `#reach-room` (Node's is `../reach-room.ts`): a page listens
 * on nothing, so nobody can dial it back, it cannot serve or reserve on a
 * relay, and it cannot punch (TCP). It does not offer `reach/1` (see
 * `HOST_LACKS` in `host.ts`); every link it has is one it dialled directly.
 * Without `reach/1` settled, a reach message from a peer is a violation, as
 * in Node.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import type { Transport } from "@xppg/transport";
import { NODE_ERROR_CODES, PlaygroundError } from "../errors.js";
import type { PeerSession } from "../peer-session.js";
import type { PeerPath, ReachRoomOptions } from "../reach-room.js";
import type { Reachability, ReachabilityStatus } from "../reachability.js";
import type { RelayService } from "../relay-service.js";

export type { PeerPath, ReachRoomOptions } from "../reach-room.js";

/** Reachability in a page: none to find out, no relay, every path direct. */
export class ReachRoom {
  /**
   * What Node's `Reachability` would say with no observer and no dial-back
   * (a page listens on nothing, so it never gets either): `"unknown"`, with
   * the mapped address when a port mapper gave one (alone, that changes no verdict).
   */
  readonly reachability: Pick<Reachability, "status" | "mapped">;

  constructor(_options?: ReachRoomOptions) {
    let mappedAddress: string | undefined;
    this.reachability = {
      status: (): ReachabilityStatus => ({ kind: "unknown", observed: [], dialbacksOk: 0, dialbacksFailed: 0, relayAddresses: [], mappedAddress }),
      mapped: (address) => void (mappedAddress = address),
    };
  }

  async transports(_existing: readonly Transport[]): Promise<Transport[]> {
    return [];
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  inbound(_transport: string, _remoteHost: string): void {}

  get relayService(): RelayService | undefined {
    return undefined;
  }

  advertisedAddresses(): string[] {
    return [];
  }

  pathOf(_session: PeerSession): PeerPath {
    return "direct";
  }

  opened(_session: PeerSession, _fresh: boolean): void {}

  ended(_session: PeerSession, _error: XppgError | undefined): void {}

  /** A page never settles `reach/1`: a reach message is a violation (the peer is dropped), as in Node. */
  handle(session: PeerSession, kind: string, _payload: unknown): void {
    throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent ${kind} without settling reach/1 (this node is a browser page). It is disconnected.` : [session.peerId, kind]);
  }
}
