/**
 * Broadcast authentication: a broadcast may travel beyond one hop, so it
 * carries its origin's signature. This room signs what this node
 * broadcasts (with an id that carries the time, `message-id.ts`), verifies
 * what arrives, and drops replays and broadcasts too old before their
 * signature costs a verification, and the broadcasts of a peer over its
 * share of the node's checks (`broadcast-screen.ts`).
 */

import { type Envelope, type EnvelopeCodec } from "@xppg/framing";
import { publicKeyFromPeerId, verifySignature, type Identity } from "@xppg/secure";
import { joinParts } from "@xppg/transport/adapter";
import { rateLimitedError } from "./errors.js";
import { MessageIdClock } from "./message-id.js";
import type { PeerSession } from "./peer-session.js";
import { BroadcastScreen } from "./broadcast-screen.js";
import { VERIFICATION_EXTRA_ENVELOPES } from "./bundle-reader.js";

/** Domain separation for broadcast signatures, so they can never be taken for another signed thing. */
const BROADCAST_SIGNATURE_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");
/** Public keys kept decoded, by peer id. */
const KNOWN_KEYS = 4096;

/**
 * What `check` found: deliver it, drop it quietly (a replay, or too old),
 * drop it as forged, or drop it unchecked (its sender is over its share of
 * the node's signature checks).
 */
export const VERDICT = { DELIVER: 0, REPLAY: 1, FORGED: 2, OVER_BUDGET: 3 } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/** The limits broadcast authentication enforces. */
export interface BroadcastLimits {
  readonly broadcastMaxAgeMs: number;
  readonly maxTrackedOrigins: number;
  readonly verificationsPerSecond: number;
}

export class BroadcastAuth {
  readonly #identity: Identity;
  readonly #codec: EnvelopeCodec;
  /** False with `dangerouslyDisableEncryption`: nothing is signed or checked. */
  readonly enabled: boolean;
  readonly #publicKeys = new Map<string, Uint8Array>();
  readonly #screen: BroadcastScreen;
  readonly #ids = new MessageIdClock();
  readonly #sign: (bytes: Uint8Array) => Uint8Array;

  constructor(identity: Identity, codec: EnvelopeCodec, enabled: boolean, limits: BroadcastLimits) {
    this.#identity = identity;
    this.#codec = codec;
    this.enabled = enabled;
    this.#screen = new BroadcastScreen({ maxAgeMs: limits.broadcastMaxAgeMs, maxOrigins: limits.maxTrackedOrigins, verificationsPerSecond: limits.verificationsPerSecond });
    // Made once: encoding a broadcast allocates no closure.
    this.#sign = (bytes) => this.#identity.sign(joinParts([BROADCAST_SIGNATURE_PREFIX, bytes]));
  }

  /** The id of a new broadcast of this node: it carries the time, and grows. */
  nextBroadcastId(): number {
    return this.#ids.next();
  }

  /** Encodes a broadcast once for every peer, signed unless encryption is off. */
  encode(envelope: Envelope): Uint8Array {
    return this.enabled ? this.#codec.encodeSigned(envelope, this.#sign) : this.#codec.encode(envelope);
  }

  /**
   * Checks a received broadcast: the sender's broadcast rate (throws
   * `XPPG_ERR_RATE_LIMITED`, the peer is dropped), then replay and age, then
   * the sender's share of the node's signature checks (throws
   * `XPPG_ERR_RATE_LIMITED` after a sustained excess), then the signature.
   * Only a broadcast whose signature verified is remembered.
   */
  check(session: PeerSession, envelope: Envelope): Verdict {
    if (!this.enabled) return VERDICT.DELIVER;
    const bucket = session.broadcastBucket;
    if (bucket !== undefined && !bucket.take()) {
      throw rateLimitedError(session.peerId!, "signed broadcasts", bucket.rate, bucket.burst, "broadcastsPerSecond", ", or send to one peer with { to }");
    }
    // Replays, and broadcasts of a peer over its share of the node's checks, are dropped before the signature check.
    const screening = this.#screen.screen(session, envelope);
    if (screening === "replay") return VERDICT.REPLAY;
    if (screening === "over-budget") return VERDICT.OVER_BUDGET;
    // The check costs as much as a score of small messages: it comes out of the peer's slice of this turn.
    session.chargeTurn(VERIFICATION_EXTRA_ENVELOPES, true);
    if (!this.#verified(envelope)) return VERDICT.FORGED;
    this.#screen.verified(envelope);
    return VERDICT.DELIVER;
  }

  /** True when a broadcast carries a valid signature by its source. */
  #verified(envelope: Envelope): boolean {
    if (envelope.signature === undefined || envelope.signedBytes === undefined) return false;
    let key = this.#publicKeys.get(envelope.source);
    if (key === undefined) {
      try {
        key = publicKeyFromPeerId(envelope.source);
      } catch {
        return false;
      }
      const ok = verifySignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature);
      // Only a proven key is kept, and the oldest goes first: forged broadcasts under made-up ids cannot flush honest origins' keys.
      if (ok) {
        if (this.#publicKeys.size >= KNOWN_KEYS) this.#publicKeys.delete(this.#publicKeys.keys().next().value!);
        this.#publicKeys.set(envelope.source, key);
      }
      return ok;
    }
    return verifySignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature);
  }
}
