/**
 * One end of a routed channel as a `Connection`: frames go out as routed
 * packets (`route-wire.ts`) through whichever neighbour the route table
 * names at that moment, and come in from the routing room. The secure
 * channel (`@xppg/secure`, Noise XX) runs over it end to end, as it runs over
 * a TCP connection, so the nodes on the path carry only ciphertext.
 *
 * The path is not reliable: a forwarder may drop a packet (no route, a
 * limit). The secure channel then fails to decrypt what follows (Noise
 * counts its records) and closes; the next send opens a new channel.
 */

import type { XppgError } from "@xppg/errors";
import { NOISE_MAX_MESSAGE_SIZE } from "@xppg/secure";
import { ConnectionCore, type ConnectionLink, type LinkController } from "@xppg/transport/adapter";
import { buildPacket, PACKET } from "./route-wire.js";

/** Where a routed connection's packets go. */
export interface RoutedPath {
  /**
   * Hands a packet to the next hop now; rejects (typed) when there is none.
   * The packet lives in a buffer reused for the next one: it must be copied
   * (a session's outbox encodes it into its bundle) before `send` returns.
   */
  send(packet: Uint8Array): Promise<void>;
  /** Tells the other end the channel is gone (best effort, never throws). */
  reset(): void;
}

export interface RoutedConnectionOptions {
  readonly localPeerId: string;
  readonly remotePeerId: string;
  /** True for the side that opens the channel. */
  readonly outbound: boolean;
  /** The header of every packet this end sends. */
  readonly header: Uint8Array;
  readonly path: RoutedPath;
  /** Bytes of received frames held while the reader is paused. */
  readonly highWaterMark: number;
}

/** A routed channel's connection; the routing room feeds it with {@link RoutedConnection.deliver}. */
export class RoutedConnection extends ConnectionCore {
  readonly #controller: { current: LinkController | undefined };

  constructor(options: RoutedConnectionOptions) {
    const holder: { current: LinkController | undefined } = { current: undefined };
    super(
      {
        transport: "routed",
        remoteAddress: `routed://${options.remotePeerId}`,
        localAddress: `routed://${options.localPeerId}`,
        // Not a network host: bans and limits by host never apply to a routed peer.
        remoteHost: `routed:${options.remotePeerId}`,
        outbound: options.outbound,
        maxFrameSize: NOISE_MAX_MESSAGE_SIZE,
        highWaterMark: options.highWaterMark,
      },
      (controller) => {
        holder.current = controller;
        return new RoutedLink(controller, options);
      },
    );
    this.#controller = holder;
  }

  /** Bytes of received frames waiting for the reader (held while it is paused). */
  get heldBytes(): number {
    return this.#controller.current?.queuedBytes ?? 0;
  }

  /** A packet's body for this end: delivered as one frame (copied, since the packet's buffer is the link's). */
  deliver(body: Uint8Array): void {
    this.#controller.current?.frame(body.slice());
  }

  /** The other end, or a node on the path, said the channel is gone. */
  reset(error: XppgError): void {
    const controller = this.#controller.current;
    if (controller === undefined) return;
    controller.error(error);
    controller.closed(error, "remote");
  }
}

/** The buffer outgoing packets are built in (see `RoutedPath.send`). */
let scratch = new Uint8Array(16 * 1024);

class RoutedLink implements ConnectionLink {
  readonly #controller: LinkController;
  readonly #o: RoutedConnectionOptions;
  /** The opener's first frame is the open packet (the first Noise message); every other is data. */
  #opened: boolean;

  constructor(controller: LinkController, options: RoutedConnectionOptions) {
    this.#controller = controller;
    this.#o = options;
    this.#opened = !options.outbound;
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    // `length`: the core's reading by the language's getter (the frame's own `length` may lie, and the shared
    // packet buffer would go out with bytes of an earlier packet).
    return this.sendParts([frame], length);
  }

  /** The secure channel hands a record as its ciphertext and tag: both go straight into the packet. */
  sendParts(parts: readonly Uint8Array[], length: number): Promise<void> {
    const type = this.#opened ? PACKET.DATA : PACKET.OPEN;
    this.#opened = true;
    const size = this.#o.header.length + length;
    // One packet buffer for every channel, reused: a record of up to 64 KiB no longer costs an allocation (and its zeroing) per packet.
    if (scratch.length < size) scratch = new Uint8Array(Math.max(size, 2 * scratch.length));
    return this.#o.path.send(buildPacket(this.#o.header, type, parts, length, scratch));
  }

  end(): void {
    this.#o.path.reset();
    this.#controller.closed(undefined, "local");
  }

  abort(error: XppgError, byPeer: boolean): void {
    if (!byPeer) this.#o.path.reset();
    this.#controller.closed(error, "local");
  }

  destroy(): void {
    this.#controller.closed(undefined, "local");
  }
}
