/**
 * Broadcast authentication: a broadcast may travel beyond one hop, so it
 * carries its origin's signature. This room signs what this node
 * broadcasts (with an id that carries the time, `message-id.ts`), verifies
 * what arrives, and drops replays and broadcasts too old before their
 * signature costs a verification, and the broadcasts of a peer over its
 * share of the node's checks (`broadcast-screen.ts`).
 */

import { type Envelope, type EnvelopeCodec } from "@xppg/framing";
import { publicKeyFromPeerId, type Identity } from "@xppg/secure";
import { SIGNS_LATER, broadcastSigner, checkSignature } from "#host";
import { joinParts } from "@xppg/transport/adapter";
import { rateLimitedError } from "./errors.js";
import { MessageIdClock } from "./message-id.js";
import type { PeerSession } from "./peer-session.js";
import { BroadcastScreen } from "./broadcast-screen.js";
import { VERIFICATION_EXTRA_ENVELOPES } from "./bundle-reader.js";

/** Domain separation for broadcast signatures, so they can never be taken for another signed thing. */
const BROADCAST_SIGNATURE_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");
/** What a broadcast is signed with before a page's signature comes (it is encoded again with the real one). */
const NO_SIGNATURE = new Uint8Array(64);
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
  readonly #codec: EnvelopeCodec;
  /** False with `dangerouslyDisableEncryption`: nothing is signed or checked. */
  readonly enabled: boolean;
  readonly #publicKeys = new Map<string, Uint8Array>();
  readonly #screen: BroadcastScreen;
  readonly #ids = new MessageIdClock();
  readonly #sign: (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>;

  constructor(identity: Identity, codec: EnvelopeCodec, enabled: boolean, limits: BroadcastLimits) {
    this.#codec = codec;
    this.enabled = enabled;
    this.#screen = new BroadcastScreen({ maxAgeMs: limits.broadcastMaxAgeMs, maxOrigins: limits.maxTrackedOrigins, verificationsPerSecond: limits.verificationsPerSecond });
    // Made once: encoding a broadcast allocates no closure.
    const sign = broadcastSigner(identity);
    this.#sign = (bytes) => sign(joinParts([BROADCAST_SIGNATURE_PREFIX, bytes]));
  }

  /** The id of a new broadcast of this node: it carries the time, and grows. */
  nextBroadcastId(): number {
    return this.#ids.next();
  }

  /**
   * Encodes a broadcast once for every peer, signed unless encryption is
   * off. In a page the signature comes later (WebCrypto): so do the bytes,
   * in the order the broadcasts were made.
   */
  encode(envelope: Envelope): Uint8Array | Promise<Uint8Array> {
    if (!this.enabled) return this.#codec.encode(envelope);
    if (!SIGNS_LATER) return this.#codec.encodeSigned(envelope, this.#sign as (bytes: Uint8Array) => Uint8Array);
    let signature!: Promise<Uint8Array>;
    this.#codec.encodeSigned(envelope, (bytes) => ((signature = this.#sign(bytes) as Promise<Uint8Array>), NO_SIGNATURE));
    return signature.then((made) => this.#codec.encodeSigned(envelope, () => made));
  }

  /**
   * Checks a received broadcast: the sender's broadcast rate (throws
   * `XPPG_ERR_RATE_LIMITED`, the peer is dropped), then replay and age, then
   * the sender's share of the node's signature checks (throws
   * `XPPG_ERR_RATE_LIMITED` after a sustained excess), then the signature.
   * Only a broadcast whose signature verified is remembered.
   */
  check(session: PeerSession, envelope: Envelope): Verdict | Promise<Verdict> {
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
    const verified = this.#verified(envelope);
    if (typeof verified !== "boolean") return verified.then((ok) => this.#verdict(ok, envelope));
    return this.#verdict(verified, envelope);
  }

  #verdict(verified: boolean, envelope: Envelope): Verdict {
    if (!verified) return VERDICT.FORGED;
    this.#screen.verified(envelope);
    return VERDICT.DELIVER;
  }

  /** True when a broadcast carries a valid signature by its source (in a page, the answer comes later). */
  #verified(envelope: Envelope): boolean | Promise<boolean> {
    if (envelope.signature === undefined || envelope.signedBytes === undefined) return false;
    let key = this.#publicKeys.get(envelope.source);
    if (key === undefined) {
      try {
        key = publicKeyFromPeerId(envelope.source);
      } catch {
        return false;
      }
      const proven = key;
      // A page's check answers later (`#host`).
      const ok = checkSignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature) as boolean | Promise<boolean>;
      if (typeof ok !== "boolean") return ok.then((valid) => this.#keep(valid, envelope.source, proven));
      return this.#keep(ok, envelope.source, key);
    }
    return checkSignature(key, joinParts([BROADCAST_SIGNATURE_PREFIX, envelope.signedBytes]), envelope.signature);
  }

  /** Only a proven key is kept, and the oldest goes first: forged broadcasts under made-up ids cannot flush honest origins' keys. */
  #keep(valid: boolean, source: string, key: Uint8Array): boolean {
    if (valid) {
      if (this.#publicKeys.size >= KNOWN_KEYS) this.#publicKeys.delete(this.#publicKeys.keys().next().value!);
      this.#publicKeys.set(source, key);
    }
    return valid;
  }
}
