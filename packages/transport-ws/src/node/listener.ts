import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionHandler, Listener } from "@xppg/transport";
import { WebSocketServer } from "ws";
import { formatWsAddress } from "../address.js";
import { wsConnection, type WsConnectionOptions } from "./ws-connection.js";

/** What a {@link WsListener} needs besides its server. */
export interface WsListenerOptions extends Omit<WsConnectionOptions, "outbound" | "localAddress" | "remoteAddress" | "remoteIp"> {
  /** Most sockets held before their upgrade is done; more are dropped at accept. */
  maxPendingConnections: number;
  /** Time a socket may take from accept to a finished upgrade before it is dropped. */
  upgradeTimeoutMs: number;
}

/**
 * An HTTP server that upgrades requests for one path to WebSocket
 * connections and hands each to `onConnection`.
 *
 * Every accepted socket counts from accept until it is handed over (or
 * gone): at most `maxPendingConnections` of them, each for at most
 * `upgradeTimeoutMs`. A client that opens sockets and never finishes its
 * HTTP request (or sends a plain request and keeps the socket) holds a
 * descriptor only that long (issue 16, item 10).
 */
export class WsListener implements Listener {
  readonly address: string;
  readonly port: number;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  /** Sockets accepted and not yet handed over, with their deadline. */
  readonly #pending = new Map<Duplex, ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(server: Server, path: string, onConnection: ConnectionHandler, options: WsListenerOptions) {
    this.#server = server;
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("WsListener needs a server bound to a TCP port");
    this.port = bound.port;
    this.address = formatWsAddress(bound.address, bound.port, path);
    const { maxPendingConnections, upgradeTimeoutMs, ...connectionOptions } = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws refuses a larger message from its declared length, before buffering it.
      maxPayload: options.maxFrameSize,
      perMessageDeflate: false,
      clientTracking: false,
    });
    // Errors after listening (EMFILE on accept, say) must not crash the process.
    server.on("error", () => {});
    server.on("clientError", (_err: Error, socket: Duplex) => socket.destroy());
    server.on("connection", (socket: Socket) => {
      socket.on("error", () => {});
      if (this.#closed || this.#pending.size >= maxPendingConnections) {
        socket.destroy();
        return;
      }
      const deadline = setTimeout(() => socket.destroy(), upgradeTimeoutMs);
      deadline.unref();
      this.#pending.set(socket, deadline);
      socket.once("close", () => this.#settled(socket));
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      const requested = (req.url ?? "/").split("?")[0];
      if (requested !== path) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        // Handed over: from here the connection's owner counts it.
        this.#settled(socket);
        const s = req.socket;
        const remoteIp = s.remoteAddress ?? "0.0.0.0";
        onConnection(
          wsConnection(ws, {
            ...connectionOptions,
            outbound: false,
            localAddress: formatWsAddress(s.localAddress ?? bound.address, s.localPort ?? bound.port, path),
            remoteAddress: formatWsAddress(remoteIp, s.remotePort ?? 0, "/"),
            remoteIp,
          }),
        );
      });
    });
  }

  /** Sockets accepted whose upgrade is not finished yet. */
  get pendingConnections(): number {
    return this.#pending.size;
  }

  /** Stops accepting. Accepted connections stay open; unfinished upgrades are dropped. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Closes the listening socket now (its callback would wait for every connection).
      this.#server.close();
      this.#server.closeIdleConnections();
      this.#wss.close();
      for (const socket of [...this.#pending.keys()]) socket.destroy();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #settled(socket: Duplex): void {
    const deadline = this.#pending.get(socket);
    if (deadline === undefined) return;
    clearTimeout(deadline);
    this.#pending.delete(socket);
  }
}
