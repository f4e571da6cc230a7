import { createSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { PCP_MAX_MESSAGE_BYTES } from "./pcp-codec.js";

/** Why a {@link udpExchange} ended without an answer. */
export class UdpExchangeError extends Error {
  /** `refused`: the gateway said no one listens (ICMP port unreachable); `silent`: no valid answer in time; `aborted`: the caller's signal. */
  readonly reason: "refused" | "silent" | "socket" | "aborted";
  /** How many requests went out. */
  readonly sent: number;

  constructor(reason: "refused" | "silent" | "socket" | "aborted", sent: number, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "UdpExchangeError";
    this.reason = reason;
    this.sent = sent;
  }
}

/** One request/answer exchange with a gateway over UDP. */
export interface UdpExchange<T> {
  readonly gateway: string;
  readonly port: number;
  /** The request; may depend on the local address the socket was given (PCP's client IP). */
  readonly request: (localAddress: string) => Buffer;
  /** Reads one datagram: the answer, or `undefined` to ignore it and keep waiting. Must not throw. */
  readonly accept: (datagram: Buffer) => T | undefined;
  /** When to send, in ms from the start: the first entry should be 0. */
  readonly scheduleMs: readonly number[];
  /** Hard bound on the whole exchange. */
  readonly timeoutMs: number;
  /** Stops the exchange early: it rejects with a {@link UdpExchangeError} of reason `aborted`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Sends a request to `gateway:port` on the schedule and resolves with the first
 * datagram `accept` takes. The socket is connected, so the kernel drops
 * datagrams from any other address or port; larger datagrams than a PCP
 * message are ignored before they are read. Rejects with {@link UdpExchangeError}.
 */
export function udpExchange<T>(exchange: UdpExchange<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = createSocket({ type: "udp4", recvBufferSize: 64 * 1024 });
    const timers: NodeJS.Timeout[] = [];
    let sent = 0;
    let done = false;
    let payload: Buffer | undefined;
    const onAbort = (): void => finish(new UdpExchangeError("aborted", sent, "aborted by the caller's signal", exchange.signal?.reason));
    const finish = (error: Error | undefined, value?: T): void => {
      if (done) return;
      done = true;
      exchange.signal?.removeEventListener("abort", onAbort);
      for (const t of timers) clearTimeout(t);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (error) reject(error);
      else resolve(value as T);
    };
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") finish(new UdpExchangeError("refused", sent, `nothing listens on ${exchange.gateway}:${exchange.port} (port unreachable)`, err));
      else finish(new UdpExchangeError("socket", sent, `UDP socket error towards ${exchange.gateway}:${exchange.port}: ${err.message}`, err));
    });
    socket.on("message", (datagram) => {
      if (done || datagram.length > PCP_MAX_MESSAGE_BYTES) return;
      const answer = exchange.accept(datagram);
      if (answer !== undefined) finish(undefined, answer);
    });
    const send = (): void => {
      if (done || payload === undefined) return;
      sent += 1;
      socket.send(payload, (err) => {
        if (err) finish(new UdpExchangeError("socket", sent, `could not send to ${exchange.gateway}:${exchange.port}: ${err.message}`, err));
      });
    };
    if (exchange.signal?.aborted) {
      onAbort();
      return;
    }
    exchange.signal?.addEventListener("abort", onAbort, { once: true });
    timers.push(setTimeout(() => finish(new UdpExchangeError("silent", sent, `no valid answer from ${exchange.gateway}:${exchange.port} within ${exchange.timeoutMs} ms`)), exchange.timeoutMs));
    socket.connect(exchange.port, exchange.gateway, () => {
      if (done) return;
      try {
        payload = exchange.request(socket.address().address);
      } catch (err) {
        finish(new UdpExchangeError("socket", 0, `could not build the request: ${(err as Error).message}`, err));
        return;
      }
      for (const at of exchange.scheduleMs) {
        if (at >= exchange.timeoutMs) break;
        if (at <= 0) send();
        else timers.push(setTimeout(send, at));
      }
    });
  });
}

/**
 * NAT-PMP's schedule (RFC 6886 3.1): 250 ms, doubled after each try, nine tries.
 * The caller's time bound cuts it short.
 */
export const NATPMP_SCHEDULE_MS: readonly number[] = [0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750];

/**
 * PCP's schedule (RFC 6887 8.1.1): IRT 3 s, each gap doubled (with up to 10 %
 * random spread either way), capped by MRT 1024 s; the caller's bound cuts it.
 */
export function pcpScheduleMs(random: () => number = Math.random): number[] {
  const out = [0];
  let rt = 3000 * (1 + (random() * 0.2 - 0.1));
  for (let i = 0; i < 8; i++) {
    out.push(Math.round((out.at(-1) ?? 0) + rt));
    rt = Math.min(1_024_000, 2 * rt * (1 + (random() * 0.2 - 0.1)));
  }
  return out;
}

/**
 * The IPv4 default gateway from the routing table (Linux `/proc/net/route`), the
 * one with the lowest metric; `undefined` when there is none or the table cannot be read.
 */
export async function defaultGateway(routeTable = "/proc/net/route"): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(routeTable, "utf8");
  } catch {
    return undefined;
  }
  return parseRouteTable(text);
}

/** Reads the default gateway out of `/proc/net/route` text (pure, for tests). */
export function parseRouteTable(text: string): string | undefined {
  let best: { ip: string; metric: number } | undefined;
  for (const line of text.split("\n").slice(1, 1025)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, destination, gatewayHex, flagsHex, , , metricText, mask] = f;
    const flags = Number.parseInt(flagsHex ?? "", 16);
    // RTF_UP (1) and RTF_GATEWAY (2) on a 0.0.0.0/0 route
    if (destination !== "00000000" || mask !== "00000000" || (flags & 3) !== 3 || !/^[0-9A-Fa-f]{8}$/.test(gatewayHex ?? "")) continue;
    const n = Number.parseInt(gatewayHex ?? "", 16);
    // The table is in host byte order: little-endian on the machines Node runs on.
    const ip = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join(".");
    const metric = Number(metricText);
    if (!isIPv4(ip) || ip === "0.0.0.0") continue;
    if (best === undefined || metric < best.metric) best = { ip, metric };
  }
  return best?.ip;
}
