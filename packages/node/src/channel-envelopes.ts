/**
 * The messages inside a routed channel (`routing-room.ts`): envelopes as on a
 * link, both ids left out (the channel names its two ends), encoded into one
 * reused buffer that the secure channel copies, and decoded from what the
 * channel authenticated, checked to name the channel's ends. Imported only
 * by the room: a page loads it with the room's chunk.
 */

import type { XppgError } from "@xppg/errors";
import { ENVELOPE_VERSION, type Envelope, type EnvelopeCodec, type EnvelopeLink } from "@xppg/framing";
import type { SecureConnection } from "@xppg/secure";
import { routeViolation as violation } from "./routing-basics.js";

export interface ChannelEnvelopesOptions {
  /** This node's peer id. */
  readonly me: string;
  readonly codec: EnvelopeCodec;
  nextMessageId(): number;
  /** Where a message that came end to end goes (`RoutingRoomOptions.router`). */
  readonly router: { deliverRouted(envelope: Envelope): void };
}

export class ChannelEnvelopes {
  readonly #o: ChannelEnvelopesOptions;
  /** One link object each way for every message (the codec only reads it). */
  readonly #link: EnvelopeLink;
  readonly #inLink: EnvelopeLink;
  #scratch = new Uint8Array(16 * 1024);

  constructor(options: ChannelEnvelopesOptions) {
    this.#o = options;
    this.#link = { local: options.me, remote: "" };
    this.#inLink = { local: options.me, remote: "" };
  }

  /** Sends one message to `peer` on its channel's `secure` channel. */
  write(peer: string, secure: SecureConnection, kind: string, payload: unknown): Promise<void> {
    // The secure channel copies the frame before `send` returns.
    return secure.send(this.#encode(peer, kind, payload));
  }

  /**
   * One message to `peer`, encoded now into memory of its own, for a channel
   * still opening: what the message carries is taken now, not once the
   * channel is open (a handler that borrows its payload may pass it on).
   */
  encode(peer: string, kind: string, payload: unknown): Uint8Array {
    return this.#encode(peer, kind, payload).slice();
  }

  /** The message in the scratch buffer (valid until the next encode). */
  #encode(peer: string, kind: string, payload: unknown): Uint8Array {
    const envelope: Envelope = { version: ENVELOPE_VERSION, kind, source: this.#o.me, destination: peer, id: this.#o.nextMessageId(), hopLimit: 0, payload };
    // Both ends are known from the channel: the ids are left out.
    this.#link.remote = peer;
    let n = this.#o.codec.encodeInto(envelope, this.#scratch, 0, this.#link);
    if (n < 0) {
      this.#scratch = new Uint8Array(Math.max(-n, 2 * this.#scratch.length));
      n = this.#o.codec.encodeInto(envelope, this.#scratch, 0, this.#link);
    }
    return this.#scratch.subarray(0, n);
  }

  /** A frame from `peer`, authenticated by their channel, delivered; a typed error (the channel is closed with it) for one that breaks the protocol. */
  read(peer: string, frame: Uint8Array): XppgError | undefined {
    try {
      this.#inLink.remote = peer;
      const envelope = this.#o.codec.decode(frame, 0, frame.length, this.#inLink);
      if (envelope.source !== peer || envelope.destination !== this.#o.me) throw violation(peer, "a routed message that names other ends than its channel's");
      this.#o.router.deliverRouted(envelope);
      return undefined;
    } catch (error) {
      return error as XppgError;
    }
  }
}
