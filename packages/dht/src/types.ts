import type { AddressCandidate } from "@xppg/discovery";

/**
 * A peer a topic lookup returned: an address anyone may have announced.
 * Dial it and let the handshake say who answers; `peerId` is set once a
 * dial to this address reached an xppg node (`DhtTopic.confirm`).
 */
export interface DhtCandidate extends AddressCandidate {
  readonly source: "dht";
  /** The topic it was found under. */
  readonly topic: string;
}
