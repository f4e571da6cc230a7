import type { Connection } from "@xppg/transport";
import type { NoiseCipher } from "./constants.js";
import { ConnectionCore, type ConnectionLink, type LinkController } from "@xppg/transport/adapter";
import type { HandshakeCrypto } from "./crypto/provider.js";
import type { HandshakeResult } from "./noise/handshake-state.js";

/** A {@link Connection} whose frames are encrypted and authenticated, with the peer's proven identity. */
export interface SecureConnection extends Connection {
  /** The peer id the peer proved in the handshake (`"xp1..."`). */
  readonly remotePeerId: string;
  /** The peer's 32-byte Ed25519 public key. */
  readonly remotePublicKey: Uint8Array;
  /**
   * The Noise handshake hash: 32 bytes both sides share and nobody else can
   * reproduce, usable to bind application-level proofs to this session.
   */
  readonly handshakeHash: Uint8Array;
  /** The Noise cipher the two sides run: set by both, or negotiated in the handshake (README, "Cipher negotiation"). */
  readonly cipher: NoiseCipher;
  /**
   * Ends this side's sending and reads on (a half close, as TCP's
   * `shutdown` of writing): what was sent goes out, then the authenticated
   * end of stream; a later `send` rejects with `XPPG_ERR_CONNECTION_CLOSED`,
   * in words of its own (this side ended its sending; open a new connection
   * to send more). The connection is not closed: `isClosed` stays false,
   * and frames from the peer are still delivered, until it closes (the
   * peer's close after its own end of stream, `onRemoteEnd`; or `close()`,
   * which then sends no second end).
   */
  closeWrite(): void;
  /**
   * Records of frames this side has sealed and handed to the connection
   * below (its end of stream not counted): what a peer's counted end of
   * stream is weighed against (`SecureConnectionOptions.onRemoteEnd`).
   */
  readonly recordsSent: number;
}

/** What {@link SecureChannel} needs besides the connection. */
export interface SecureChannelOptions {
  maxFrameSize: number;
  highWaterMark: number;
  remotePeerId: string;
  remotePublicKey: Uint8Array;
  /** `SecureConnectionOptions.onRemoteEnd`. */
  onRemoteEnd?: ((counted: number | undefined) => void) | undefined;
  /** `SecureConnectionOptions.countedEnd`. */
  countedEnd?: boolean;
}

/** A record layer: a connection link that can also end its sending alone (`SecureConnection.closeWrite`). */
export interface RecordLayer extends ConnectionLink {
  closeWrite(): void;
  /** `SecureConnection.recordsSent`. */
  readonly recordsSent: number;
}

/**
 * Makes the record layer of a finished handshake (`RecordLink` in Node,
 * `PageRecordLink` in a page); `crypto` is the handshake's crypto when it
 * was not the provider's (a page's: its `aead` seals the records).
 */
export type LinkMaker = (conn: Connection, session: HandshakeResult, controller: LinkController, options: SecureChannelOptions, crypto?: HandshakeCrypto) => RecordLayer;

/**
 * A {@link SecureConnection}: the shared close and flow state of
 * `@xppg/transport/adapter` over a record layer made by a {@link LinkMaker},
 * with the peer's proven identity. It has no close timer of its own: the
 * connection below bounds its close.
 */
export class SecureChannel extends ConnectionCore implements SecureConnection {
  readonly remotePeerId: string;
  readonly cipher: NoiseCipher;
  readonly #remotePublicKey: Uint8Array;
  readonly #handshakeHash: Uint8Array;
  readonly #link: RecordLayer;

  constructor(conn: Connection, session: HandshakeResult, makeLink: LinkMaker, options: SecureChannelOptions) {
    let link: RecordLayer | undefined;
    super(
      {
        transport: conn.transport,
        remoteAddress: conn.remoteAddress,
        localAddress: conn.localAddress,
        remoteHost: conn.remoteHost,
        outbound: conn.outbound,
        maxFrameSize: options.maxFrameSize,
        highWaterMark: options.highWaterMark,
      },
      (controller) => (link = makeLink(conn, session, controller, options)),
    );
    this.#link = link!;
    this.remotePeerId = options.remotePeerId;
    this.#remotePublicKey = options.remotePublicKey;
    this.#handshakeHash = session.handshakeHash;
    this.cipher = session.send.cipher;
  }

  closeWrite(): void {
    if (!this.isClosed) this.#link.closeWrite();
  }

  get recordsSent(): number {
    return this.#link.recordsSent;
  }

  get remotePublicKey(): Uint8Array {
    return this.#remotePublicKey.slice();
  }

  get handshakeHash(): Uint8Array {
    return this.#handshakeHash.slice();
  }
}

