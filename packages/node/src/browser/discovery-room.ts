/**
 * The browser's `#discovery-room` (Node's is `../discovery-room.ts`): a page
 * finds no peers by itself. It cannot search the LAN (no multicast; the
 * option is refused when the node is made, see `resolveHostOptions` in
 * `host.ts`) nor the DHT (UDP; `pg.joinTopic` is refused in words, see
 * `defaults.ts`), and the candidates either would give are TCP addresses,
 * which a page cannot dial. It joins the addresses it is given.
 */

import type { CandidateSource, PeerCandidate } from "@xppg/discovery";
import type { XppgError } from "@xppg/errors";
import type { DiscoveryRoom as NodeDiscoveryRoom, DiscoveryRoomOptions } from "../discovery-room.js";

export type { DiscoveryRoomOptions, ResolvedLan } from "../discovery-room.js";

/** Discovery in a page: nothing to look for, nothing found. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class DiscoveryRoom implements Pick<NodeDiscoveryRoom, keyof NodeDiscoveryRoom> {
  constructor(_options?: DiscoveryRoomOptions) {}

  get candidates(): readonly PeerCandidate[] {
    return [];
  }

  found(_peerId: string): boolean {
    return false;
  }

  foundBy(_peerId: string): CandidateSource | undefined {
    return undefined;
  }

  async start(_port: number | undefined, _signal: AbortSignal | undefined): Promise<void> {}

  left(_peerId: string, _reason: XppgError | undefined): void {}

  /** Only Node's wiring calls this (it sorts a leaving peer's reason into lost or on purpose, for LAN discovery and topics); a page has neither, so it answers false. */
  lost(_reason: XppgError | undefined): _reason is XppgError {
    return false;
  }

  async stop(): Promise<void> {}

  /** A candidate's addresses are TCP, which a page cannot dial: it is not dialled. */
  offer(_candidate: unknown, _reached?: (peerId: string) => void): void {}
}
