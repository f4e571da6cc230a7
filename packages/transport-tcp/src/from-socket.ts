import type { Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_FRAME_SIZE } from "@xppg/transport/adapter";
import { formatTcpAddress } from "./address.js";
import { DEFAULT_TCP_HIGH_WATER_MARK } from "./constants.js";
import { socketConnection } from "./socket-connection.js";

/** Options of {@link tcpConnectionFromSocket}. */
export interface FromSocketOptions {
  /** True when this side opened the socket. */
  outbound: boolean;
  /** @default 16 MiB (the transport default) */
  maxFrameSize?: number;
  /** @default 1 MiB */
  highWaterMark?: number;
  /** @default the transport default */
  closeTimeoutMs?: number;
}

/**
 * A framed {@link Connection} over a socket that is already connected: one
 * made outside a {@link tcpTransport} (a TCP simultaneous open for hole
 * punching, a socket bound to a chosen local port). The connection owns the
 * socket from here on.
 */
export function tcpConnectionFromSocket(socket: Socket, options: FromSocketOptions): Connection {
  const remoteIp = socket.remoteAddress ?? "0.0.0.0";
  return socketConnection(socket, {
    outbound: options.outbound,
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    highWaterMark: options.highWaterMark ?? DEFAULT_TCP_HIGH_WATER_MARK,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    localAddress: formatTcpAddress(socket.localAddress ?? "0.0.0.0", socket.localPort ?? 0),
    remoteAddress: formatTcpAddress(remoteIp, socket.remotePort ?? 0),
    remoteIp,
  });
}
