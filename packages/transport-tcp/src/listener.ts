import type { Server, Socket } from "node:net";
import type { ConnectionHandler, Listener } from "@xppg/transport";
import { formatTcpAddress } from "./address.js";
import { socketConnection, type SocketConnectionOptions } from "./socket-connection.js";

/** A bound `net.Server` that wraps each accepted socket in a connection at once. */
export class TcpListener implements Listener {
  readonly address: string;
  readonly port: number;
  /** Every socket is handed to `onConnection` when it is accepted: none waits here. */
  readonly pendingConnections = 0;
  readonly #server: Server;
  #closed = false;

  constructor(
    server: Server,
    onConnection: ConnectionHandler,
    options: Omit<SocketConnectionOptions, "outbound" | "localAddress" | "remoteAddress" | "remoteIp">,
  ) {
    this.#server = server;
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("TcpListener needs a server bound to a TCP port");
    this.port = bound.port;
    this.address = formatTcpAddress(bound.address, bound.port);
    // Errors after listening (EMFILE on accept, say) must not crash the process; each
    // accepted socket reports its own failures on its connection.
    server.on("error", () => {});
    server.on("connection", (socket: Socket) => {
      const remoteIp = socket.remoteAddress;
      const remotePort = socket.remotePort;
      if (remoteIp === undefined || remotePort === undefined) {
        // Already gone (reset before we saw it).
        socket.destroy();
        return;
      }
      const connection = socketConnection(socket, {
        ...options,
        outbound: false,
        localAddress: formatTcpAddress(socket.localAddress ?? bound.address, socket.localPort ?? bound.port),
        remoteAddress: formatTcpAddress(remoteIp, remotePort),
        remoteIp,
      });
      onConnection(connection);
    });
  }

  /** Stops accepting. Accepted connections stay open. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Closes the listening socket now; the callback would wait for every
      // accepted connection to end, which is not what closing a listener means.
      this.#server.close();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
