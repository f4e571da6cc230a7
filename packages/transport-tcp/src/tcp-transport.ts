import { badArgumentError } from "@xppg/errors";
import { createConnection, createServer } from "node:net";
import type { Connection, ConnectionHandler, DialOptions, ListenOptions, Listener, Transport } from "@xppg/transport";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_SIZE,
  MAX_FRAME_SIZE_LIMIT,
  MAX_TIMER_MS,
  checkInteger,
  dialWithDeadline,
  listenFailedError,
} from "@xppg/transport/adapter";
import { formatTcpAddress, parseTcpAddress, parseTcpAddressOrThrow } from "./address.js";
import { DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS, DEFAULT_TCP_HIGH_WATER_MARK, TCP_TRANSPORT_NAME } from "./constants.js";
import { TcpListener } from "./listener.js";
import { socketConnection } from "./socket-connection.js";

/** Options for {@link tcpTransport}. */
export interface TcpTransportOptions {
  /**
   * Largest frame sent or accepted, in bytes. A peer that announces a larger
   * one loses its connection (`XPPG_ERR_FRAME_TOO_LARGE`) before a byte of it
   * is buffered; a larger `send` rejects and the connection stays usable.
   * Keep it equal on both peers.
   * @default 1048576 (1 MiB, `DEFAULT_MAX_FRAME_SIZE`)
   */
  maxFrameSize?: number;
  /**
   * Bytes buffered per direction: `send` resolves at once while the socket's
   * buffer is below this, and a paused receiver stops reading the socket once
   * this much waits for it.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * Time a dial may take before it fails with `XPPG_ERR_DIAL_TIMEOUT`; a
   * dial's own `timeoutMs` overrides it.
   * @default 10000
   */
  dialTimeoutMs?: number;
  /**
   * Time a clean `close()` waits for the send buffer to flush and the peer
   * to answer our FIN before the socket is destroyed; also the bound on a
   * connection dropped for a peer fault. Input is not decoded meanwhile.
   * @default 2000
   */
  closeTimeoutMs?: number;
  /**
   * Disable Nagle's algorithm. The first frame of a tick is written at
   * once (a reply waits for nothing) and the rest of the tick's frames
   * together in one write, so waiting to merge more only adds latency.
   * With `false`, all of a tick's frames leave in one write instead (Nagle
   * would hold a second small write until the first is acknowledged).
   * @default true
   */
  noDelay?: boolean;
  /**
   * Send TCP keep-alive probes on idle connections, so a peer that vanished
   * (power loss, NAT timeout) is noticed and its connection closes.
   * @default true
   */
  keepAlive?: boolean;
  /**
   * Idle time before the first keep-alive probe.
   * @default 30000
   */
  keepAliveInitialDelayMs?: number;
}

/** A {@link Transport} over TCP, with its resolved options. */
export interface TcpTransport extends Transport {
  readonly name: "tcp";
  readonly maxFrameSize: number;
}

/**
 * Creates a TCP transport (`node:net`). Addresses are `tcp://host:port`:
 * IPv4 (`tcp://127.0.0.1:7337`), IPv6 in brackets (`tcp://[::1]:7337`) or a
 * host name. Listen on port 0 for a free port and read it from
 * `listener.address`. Frames are length-prefixed with `@xppg/framing`.
 */
export function tcpTransport(options: TcpTransportOptions = {}): TcpTransport {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options.highWaterMark ?? DEFAULT_TCP_HIGH_WATER_MARK;
  const dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const noDelay = options.noDelay ?? true;
  const keepAlive = options.keepAlive ?? true;
  const keepAliveInitialDelay = options.keepAliveInitialDelayMs ?? DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS;
  const check = (option: string, value: number, min: number, max: number): void => checkInteger("tcpTransport", option, value, min, max);
  check("maxFrameSize", maxFrameSize, 0, MAX_FRAME_SIZE_LIMIT);
  check("highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  check("dialTimeoutMs", dialTimeoutMs, 1, MAX_TIMER_MS);
  check("closeTimeoutMs", closeTimeoutMs, 1, MAX_TIMER_MS);
  check("keepAliveInitialDelayMs", keepAliveInitialDelay, 0, MAX_TIMER_MS);
  const connectionOptions = { maxFrameSize, highWaterMark, closeTimeoutMs, noDelay };

  return {
    name: TCP_TRANSPORT_NAME,
    maxFrameSize,

    canDial(address: string): boolean {
      const parsed = parseTcpAddress(address);
      return parsed !== null && parsed.port !== 0;
    },

    async listen(address: string, onConnection: ConnectionHandler, listenOptions?: ListenOptions): Promise<Listener> {
      const { host, port } = parseTcpAddressOrThrow(address, false);
      if (typeof onConnection !== "function") throw badArgumentError(TypeError, "listen(address, onConnection)", "onConnection", ["a function that takes each new connection", onConnection]);
      // Every socket is handed over at accept, so none is ever pending here: checked, nothing to cap.
      if (listenOptions?.maxPendingConnections !== undefined) {
        checkInteger("listen", "maxPendingConnections", listenOptions.maxPendingConnections, 1, Number.MAX_SAFE_INTEGER);
      }
      const server = createServer({ noDelay, keepAlive, keepAliveInitialDelay });
      return new Promise<Listener>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.close();
          reject(listenFailedError(address, err));
        };
        server.once("error", onError);
        server.listen({ host, port }, () => {
          server.off("error", onError);
          resolve(new TcpListener(server, onConnection, connectionOptions));
        });
      });
    },

    dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      let target: { host: string; port: number };
      try {
        target = parseTcpAddressOrThrow(address, true);
      } catch (err) {
        return Promise.reject(err);
      }
      return dialWithDeadline(address, dialOptions, dialTimeoutMs, (attempt) => {
        const socket = createConnection({ host: target.host, port: target.port, noDelay, keepAlive, keepAliveInitialDelay });
        const onError = (err: Error): void => attempt.failed(err);
        socket.on("error", onError);
        socket.once("connect", () => {
          socket.off("error", onError);
          const remoteIp = socket.remoteAddress ?? target.host;
          attempt.connected(
            socketConnection(socket, {
              ...connectionOptions,
              outbound: true,
              localAddress: formatTcpAddress(socket.localAddress ?? "0.0.0.0", socket.localPort ?? 0),
              remoteAddress: formatTcpAddress(remoteIp, socket.remotePort ?? target.port),
              remoteIp,
            }),
          );
        });
        return () => {
          socket.off("error", onError);
          // The socket may be dropped after an error: keep one listener so it cannot crash the process.
          socket.on("error", () => {});
          socket.destroy();
        };
      });
    },
  };
}
