import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { ConnectionHandler, Listener } from "@xppg/transport";
import { WebSocketServer } from "ws";
import { formatWsAddress } from "../address.js";
import { WsConnection, type WsConnectionOptions } from "./ws-connection.js";

/**
 * An HTTP server that upgrades requests for one path to WebSocket
 * connections and wraps each in a {@link WsConnection}.
 */
export class WsListener implements Listener {
  readonly address: string;
  readonly port: number;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  #closed = false;

  constructor(
    server: Server,
    path: string,
    onConnection: ConnectionHandler,
    options: Omit<WsConnectionOptions, "outbound" | "localAddress" | "remoteAddress">,
  ) {
    this.#server = server;
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("WsListener needs a server bound to a TCP port");
    this.port = bound.port;
    this.address = formatWsAddress(bound.address, bound.port, path);
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
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => {});
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
        const s = req.socket;
        const connection = new WsConnection(ws, {
          ...options,
          outbound: false,
          localAddress: formatWsAddress(s.localAddress ?? bound.address, s.localPort ?? bound.port, path),
          remoteAddress: formatWsAddress(s.remoteAddress ?? "0.0.0.0", s.remotePort ?? 0, "/"),
        });
        onConnection(connection);
      });
    });
  }

  /** Stops accepting. Accepted connections stay open. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Closes the listening socket now (its callback would wait for every connection).
      this.#server.close();
      this.#server.closeIdleConnections();
      this.#wss.close();
    }
    return Promise.resolve();
  }
}
