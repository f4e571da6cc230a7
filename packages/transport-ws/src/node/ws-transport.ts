import { badArgumentError } from "@xppg/errors";
import { createServer } from "node:http";
import type { Connection, ConnectionHandler, DialOptions, ListenOptions, Listener } from "@xppg/transport";
import { badAddressError, checkInteger, listenFailedError } from "@xppg/transport/adapter";
import WebSocket from "ws";
import { formatWsAddress, parseWsAddress } from "../address.js";
import { dialWebSocket } from "../dial.js";
import { WS_TRANSPORT_NAME } from "../constants.js";
import { resolveWsOptions, type WebSocketTransport, type WebSocketTransportOptions } from "../options.js";
import { WsListener } from "./listener.js";
import { wsConnection } from "./ws-connection.js";

/**
 * Creates a WebSocket transport. In Node it uses `ws`: it dials `ws://` and
 * `wss://` addresses and listens on `ws://host:port/path` (port 0 picks a
 * free port). Each frame is one binary WebSocket message; compression is off.
 */
export function webSocketTransport(options: WebSocketTransportOptions = {}): WebSocketTransport {
  const resolved = resolveWsOptions("webSocketTransport", options);
  const { maxFrameSize, highWaterMark, dialTimeoutMs, closeTimeoutMs } = resolved;
  const connectionOptions = { maxFrameSize, highWaterMark, closeTimeoutMs };

  return {
    name: WS_TRANSPORT_NAME,
    maxFrameSize,

    canDial(address: string): boolean {
      return parseWsAddress(address) !== null;
    },

    async listen(address: string, onConnection: ConnectionHandler, listenOptions?: ListenOptions): Promise<Listener> {
      const parsed = parseWsAddress(address);
      if (parsed === null || parsed.secure || !parsed.explicitPort) {
        throw badAddressError(WS_TRANSPORT_NAME, address, "ws://host:port/path with a port (0 picks a free one); listen does not do TLS (wss)");
      }
      if (typeof onConnection !== "function") throw badArgumentError(TypeError, "listen(address, onConnection)", "onConnection", ["a function that takes each new connection", onConnection]);
      const maxPendingConnections = listenOptions?.maxPendingConnections ?? resolved.maxPendingConnections;
      checkInteger("listen", "maxPendingConnections", maxPendingConnections, 1, Number.MAX_SAFE_INTEGER);
      const serveHttp = options.serveHttp;
      const server = createServer((req, res) => {
        if (serveHttp !== undefined) return serveHttp(req, res);
        res.writeHead(426, { "content-type": "text/plain", connection: "close", upgrade: "websocket" });
        res.end("This is an xppg WebSocket endpoint: connect with a WebSocket client.\n");
      });
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.close();
          reject(listenFailedError(address, err));
        };
        server.once("error", onError);
        server.listen({ host: parsed.host, port: parsed.port }, () => {
          server.off("error", onError);
          resolve();
        });
      });
      return new WsListener(server, parsed.path, onConnection, {
        ...connectionOptions,
        maxPendingConnections,
        upgradeTimeoutMs: resolved.upgradeTimeoutMs,
      });
    },

    dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      return dialWebSocket(address, dialOptions, dialTimeoutMs, (url, target, attempt) => {
        const ws = new WebSocket(url, {
          maxPayload: maxFrameSize,
          perMessageDeflate: false,
          followRedirects: false,
          headers: options.headers,
        });
        // Kept for the socket's whole life: an unhandled 'error' would crash the process.
        ws.on("error", (err) => attempt.failed(err));
        ws.once("open", () => {
          const socket = (ws as unknown as { _socket?: { localAddress?: string; localPort?: number; remoteAddress?: string } })._socket;
          attempt.connected(
            wsConnection(ws, {
              ...connectionOptions,
              outbound: true,
              localAddress: formatWsAddress(socket?.localAddress ?? "0.0.0.0", socket?.localPort ?? 0, "/"),
              remoteAddress: url,
              remoteIp: socket?.remoteAddress ?? target.host,
            }),
          );
        });
        return () => ws.terminate();
      });
    },
  };
}
