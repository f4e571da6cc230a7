/**
 * Broadcast authentication: a broadcast may travel beyond one hop, so it
 * carries its origin's signature. This room signs what this node
 * broadcasts, verifies what arrives, and drops replays before their
 * signature costs a verification again.
 */

import { type Envelope, type EnvelopeCodec } from "@xppg/framing";
import { publicKeyFromPeerId, verifySignature, type Identity } from "@xppg/secure";
import { joinParts } from "@xppg/transport/adapter";
import { rateLimitedError } from "./errors.js";
import type { PeerSession } from "./peer-session.js";

/** Domain separation for broadcast signatures, so they can never be taken for another signed thing. */
const BROADCAST_SIGNATURE_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");
/** Broadcast ids remembered per node for replay detection. */
const SEEN_BROADCASTS = 8192;
/** Public keys kept decoded, by peer id. */
const KNOWN_KEYS = 4096;

/** What `check` found: deliver it, drop it quietly (a replay), or drop it as forged. */
export const VERDICT = { DELIVER: 0, REPLAY: 1, FORGED: 2 } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

export class BroadcastAuth {
  readonly #identity: Identity;
  readonly #codec: EnvelopeCodec;
  /** False with `dangerouslyDisableEncryption`: nothing is signed or checked. */
  readonly enabled: boolean;
  readonly #publicKeys = new Map<string, Uint8Array>();
  /** Recent broadcasts (source and id). */
  readonly #seen = new Map<string, true>();
  readonly #sign: (bytes: Uint8Array) => Uint8Array;

  constructor(identity: Identity, codec: EnvelopeCodec, enabled: boolean) {
    this.#identity = identity;
    this.#codec = codec;
    this.enabled = enabled;
    // Made once: encoding a broadcast allocates no closure.
    this.#sign = (bytes) => this.#identity.sign(joinParts([BROADCAST_SIGNATURE_PREFIX, bytes]));
  }

  /** Encodes a broadcast once for every peer, signed unless encryption is off. */
  encode(envelope: Envelope): Uint8Array {
    return this.enabled ? this.#codec.encodeSigned(envelope, this.#sign) : this.#codec.encode(envelope);
  }

  /**
   * Checks a received broadcast: the sender's broadcast rate (throws
   * `XPPG_ERR_RATE_LIMITED`, the peer is dropped), then replay, then the signature.
   */
  check(session: PeerSession, envelope: Envelope): Verdict {
    if (!this.enabled) return VERDICT.DELIVER;
    const bucket = session.broadcastBucket;
    if (bucket !== undefined && !bucket.take()) {
      throw rateLimitedError(session.peerId!, "signed broadcasts", bucket.rate, bucket.burst, "broadcastsPerSecond", ", or send to one peer with { to }");
    }
    const key = `${envelope.source}:${envelope.id}`;
    if (this.#seen.has(key)) return VERDICT.REPLAY;
    if (this.#seen.size >= SEEN_BROADCASTS) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(key, true);
    return this.#verified(envelope) ? VERDICT.DELIVER : VERDICT.FORGED;
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
      if (this.#publicKeys.size >= KNOWN_KEYS) this.#publicKeys.clear();
      this.#publicKeys.set(envelope.source, key);
    }
    return verifySignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature);
  }
}
