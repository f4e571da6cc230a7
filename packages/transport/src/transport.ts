import type { Connection } from "./connection.js";

/** Called for each connection a listener accepts. */
export type ConnectionHandler = (connection: Connection) => void;

/** Options for {@link Transport.dial}. */
export interface DialOptions {
  /**
   * Abort the dial: it rejects with `XPPG_ERR_ABORTED` and keeps no
   * connection (one that raced the abort is closed).
   */
  signal?: AbortSignal;
  /**
   * Give up after this many milliseconds with `XPPG_ERR_DIAL_TIMEOUT`.
   * @default 10000
   */
  timeoutMs?: number;
}

/** Options for {@link Transport.listen}. */
export interface ListenOptions {
  /**
   * Most sockets the listener holds between accepting them and handing them
   * to `onConnection` (a WebSocket listener holds each while its HTTP upgrade
   * is unfinished). A socket accepted beyond it is dropped at once. A node
   * that caps its pending handshakes passes its cap here, and counts
   * {@link Listener.pendingConnections} with its own, so that every socket
   * counts from accept. A transport that hands each socket over at accept
   * (TCP) never holds one.
   * @default the transport's own (`maxPendingConnections` of its options)
   */
  maxPendingConnections?: number;
}

/** A bound, accepting endpoint returned by {@link Transport.listen}. */
export interface Listener extends AsyncDisposable {
  /** The address peers can dial, with the real port when port 0 was asked for (`"tcp://0.0.0.0:41235"`). */
  readonly address: string;
  /** The bound port, when the transport has ports. */
  readonly port: number | undefined;
  /**
   * Sockets accepted but not yet handed to `onConnection` (a WebSocket
   * upgrade in progress): with the connections it has been given and not yet
   * trusted, what a node counts against its pending-handshake cap. Always 0
   * for transports that hand each socket over at accept.
   */
  readonly pendingConnections: number;
  /** Stops accepting. Connections already accepted stay open. Idempotent. */
  close(): Promise<void>;
  /** `close()`, for `await using listener = await transport.listen(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A way to reach peers: TCP, WebSocket, in-memory, and whatever comes next.
 *
 * Addresses are URL-like strings whose scheme names the transport
 * (`tcp://host:port`, `ws://host:port/path`, `memory://name`). A node can hold
 * several transports and picks the first whose {@link Transport.canDial}
 * accepts an address.
 */
export interface Transport {
  /** Short name, also the address scheme this transport owns (`"tcp"`). */
  readonly name: string;
  /**
   * Largest frame this transport's connections send or accept, when the
   * transport has such a limit. Layers above size their messages by it.
   */
  readonly maxFrameSize?: number;
  /** True if `address` is in a form this transport can dial. */
  canDial(address: string): boolean;
  /**
   * Starts accepting connections at `address` (port 0 picks a free port).
   * Rejects with `XPPG_ERR_LISTEN_FAILED` (the port is taken, say).
   */
  listen(address: string, onConnection: ConnectionHandler, options?: ListenOptions): Promise<Listener>;
  /**
   * Opens a connection. Rejects with `XPPG_ERR_DIAL_FAILED` (nothing listens,
   * or the host cannot be reached), `XPPG_ERR_DIAL_TIMEOUT`,
   * `XPPG_ERR_ABORTED` or `XPPG_ERR_BAD_ADDRESS`.
   */
  dial(address: string, options?: DialOptions): Promise<Connection>;
}
