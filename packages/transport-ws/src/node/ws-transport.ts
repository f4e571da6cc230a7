import { createServer } from "node:http";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  abortedError,
  badAddressError,
  dialFailedError,
  dialTimeoutError,
  listenFailedError,
  type Connection,
  type ConnectionHandler,
  type DialOptions,
  type Listener,
} from "@xppg/transport";
import WebSocket from "ws";
import { formatWsAddress, parseWsAddress, parseWsAddressOrThrow } from "../address.js";
import { WS_TRANSPORT_NAME } from "../constants.js";
import type { WebSocketTransport, WebSocketTransportOptions } from "../options.js";
import { WsListener } from "./listener.js";
import { WsConnection } from "./ws-connection.js";

/**
 * Creates a WebSocket transport. In Node it uses `ws`: it dials `ws://` and
 * `wss://` addresses and listens on `ws://host:port/path` (port 0 picks a
 * free port). Each frame is one binary WebSocket message; compression is off.
 */
export function webSocketTransport(options: WebSocketTransportOptions = {}): WebSocketTransport {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  // ws reads maxPayload 0 as "no limit": insist on at least one byte.
  checkInteger("maxFrameSize", maxFrameSize, 1, 0xffff_ffff);
  checkInteger("highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  checkInteger("dialTimeoutMs", dialTimeoutMs, 1, 2_147_483_647);
  checkInteger("closeTimeoutMs", closeTimeoutMs, 1, 2_147_483_647);
  const connectionOptions = { maxFrameSize, highWaterMark, closeTimeoutMs };

  return {
    name: WS_TRANSPORT_NAME,
    maxFrameSize,

    canDial(address: string): boolean {
      return parseWsAddress(address) !== null;
    },

    async listen(address: string, onConnection: ConnectionHandler): Promise<Listener> {
      const parsed = parseWsAddress(address);
      if (parsed === null || parsed.secure || !parsed.explicitPort) {
        throw badAddressError(WS_TRANSPORT_NAME, address, "ws://host:port/path with a port (0 picks a free one); listen does not do TLS (wss)");
      }
      if (typeof onConnection !== "function") throw new TypeError("listen() needs an onConnection function");
      const server = createServer((_req, res) => {
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
      return new WsListener(server, parsed.path, onConnection, connectionOptions);
    },

    dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
      let target: ReturnType<typeof parseWsAddressOrThrow>;
      try {
        target = parseWsAddressOrThrow(address);
      } catch (err) {
        return Promise.reject(err);
      }
      const { signal } = dialOptions;
      if (signal?.aborted === true) return Promise.reject(abortedError(address, signal.reason));
      const timeoutMs = dialOptions.timeoutMs ?? dialTimeoutMs;
      const url = formatWsAddress(target.host, target.port, target.path, target.secure);

      return new Promise<Connection>((resolve, reject) => {
        const ws = new WebSocket(url, {
          maxPayload: maxFrameSize,
          perMessageDeflate: false,
          followRedirects: false,
          headers: options.headers,
        });
        let settled = false;
        const timer = setTimeout(() => fail(dialTimeoutError(address, timeoutMs)), timeoutMs);
        const onAbort = (): void => fail(abortedError(address, signal?.reason));
        function fail(error: Error): void {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          ws.terminate();
          reject(error);
        }
        // Kept for the socket's whole life: an unhandled 'error' would crash the process.
        ws.on("error", (err) => fail(dialFailedError(address, err)));
        ws.once("open", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const socket = (ws as unknown as { _socket?: { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number } })._socket;
          resolve(
            new WsConnection(ws, {
              ...connectionOptions,
              outbound: true,
              localAddress: formatWsAddress(socket?.localAddress ?? "0.0.0.0", socket?.localPort ?? 0, "/"),
              remoteAddress: formatWsAddress(target.host, target.port, target.path, target.secure),
            }),
          );
        });
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

function checkInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`webSocketTransport: ${option} must be an integer from ${min} to ${max}, got ${String(value)}.`);
  }
}
