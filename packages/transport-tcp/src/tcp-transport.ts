import { createConnection, createServer, type Socket } from "node:net";
import { DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT } from "@xppg/framing";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  abortedError,
  dialFailedError,
  dialTimeoutError,
  listenFailedError,
  type Connection,
  type ConnectionHandler,
  type DialOptions,
  type Listener,
  type Transport,
} from "@xppg/transport";
import { formatTcpAddress, parseTcpAddress, parseTcpAddressOrThrow } from "./address.js";
import { DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS, DEFAULT_TCP_HIGH_WATER_MARK, TCP_TRANSPORT_NAME } from "./constants.js";
import { TcpListener } from "./listener.js";
import { SocketConnection } from "./socket-connection.js";

/** Options for {@link tcpTransport}. */
export interface TcpTransportOptions {
  /**
   * Largest frame sent or accepted, in bytes. A peer that announces a larger
   * one loses its connection (`XPPG_ERR_FRAME_TOO_LARGE`) before a byte of it
   * is buffered; a larger `send` rejects and the connection stays usable.
   * Keep it equal on both peers.
   * @default 1048576 (1 MiB, `DEFAULT_MAX_FRAME_SIZE` of `@xppg/framing`)
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
   * to close its side before the socket is destroyed.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Disable Nagle's algorithm. Frames of one tick are already written
   * together, so waiting to merge more only adds latency.
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
  checkInteger("maxFrameSize", maxFrameSize, 0, MAX_FRAME_SIZE_LIMIT);
  checkInteger("highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  checkInteger("dialTimeoutMs", dialTimeoutMs, 1, 2_147_483_647);
  checkInteger("closeTimeoutMs", closeTimeoutMs, 1, 2_147_483_647);
  checkInteger("keepAliveInitialDelayMs", keepAliveInitialDelay, 0, 2_147_483_647);
  const connectionOptions = { maxFrameSize, highWaterMark, closeTimeoutMs };

  return {
    name: TCP_TRANSPORT_NAME,
    maxFrameSize,

    canDial(address: string): boolean {
      const parsed = parseTcpAddress(address);
      return parsed !== null && parsed.port !== 0;
    },

    async listen(address: string, onConnection: ConnectionHandler): Promise<Listener> {
      const { host, port } = parseTcpAddressOrThrow(address, false);
      if (typeof onConnection !== "function") throw new TypeError("listen() needs an onConnection function");
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

    dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
      let target: { host: string; port: number };
      try {
        target = parseTcpAddressOrThrow(address, true);
      } catch (err) {
        return Promise.reject(err);
      }
      const { signal } = dialOptions;
      if (signal?.aborted === true) return Promise.reject(abortedError(address, signal.reason));
      const timeoutMs = dialOptions.timeoutMs ?? dialTimeoutMs;

      return new Promise<Connection>((resolve, reject) => {
        const socket: Socket = createConnection({ host: target.host, port: target.port, noDelay, keepAlive, keepAliveInitialDelay });
        const timer = setTimeout(() => fail(dialTimeoutError(address, timeoutMs)), timeoutMs);
        const onAbort = (): void => fail(abortedError(address, signal?.reason));
        const onError = (err: Error): void => fail(dialFailedError(address, err));
        const cleanup = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          socket.off("error", onError);
          socket.off("connect", onConnect);
        };
        function fail(error: Error): void {
          cleanup();
          socket.destroy();
          reject(error);
        }
        function onConnect(): void {
          cleanup();
          resolve(
            new SocketConnection(socket, {
              ...connectionOptions,
              outbound: true,
              localAddress: formatTcpAddress(socket.localAddress ?? "0.0.0.0", socket.localPort ?? 0),
              remoteAddress: formatTcpAddress(socket.remoteAddress ?? target.host, socket.remotePort ?? target.port),
            }),
          );
        }
        socket.on("error", onError);
        socket.once("connect", onConnect);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

function checkInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`tcpTransport: ${option} must be an integer from ${min} to ${max}, got ${String(value)}.`);
  }
}
