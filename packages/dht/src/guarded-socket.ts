/**
 * The DHT's UDP socket, with a gate in front of the DHT library: packets
 * over one MTU, and packets past a per-address or a global rate, are dropped
 * before they are decoded; packets to addresses that are not unicast IPv4
 * are never sent. It is what `bittorrent-dht` (through `k-rpc-socket`) takes
 * as its `socket`, so every byte in or out passes here and is counted.
 */

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { isIPv4 } from "node:net";
import { MAX_PACKET_BYTES, MAX_TRACKED_HOSTS } from "./constants.js";

/** Rates of the gate, in packets per second, and whether loopback addresses may be sent to. */
export interface PacketLimits {
  readonly perHost: number;
  readonly total: number;
  /**
   * False on the internet: a hostile node listing 127.0.0.1 among its nodes
   * must not turn our queries on this machine's own services. True for a
   * private DHT on loopback (a bootstrap node there).
   */
  readonly loopback: boolean;
}

/** At most one `failed` event per this many ms; the packets between are counted into the next. */
export const FAILURE_REPORT_INTERVAL_MS = 60_000;

/** What a `failed` event carries: the library threw on a packet (a defect to report; the packet was dropped). */
export interface PacketFailure {
  readonly error: unknown;
  readonly host: string;
  readonly port: number;
  /** Packets the library threw on since the last event, this one included. */
  readonly count: number;
}

/** Counters of the socket. */
export interface PacketStats {
  /** Packets sent. */
  sent: number;
  /** Packets received and handed to the DHT. */
  received: number;
  /** Packets dropped unread: over the size, or past a rate. */
  dropped: number;
  /** Of those, dropped for their size (over 8 KiB). */
  oversize: number;
  /** Packets not sent: the destination was not a unicast IPv4 address (or was loopback, on the internet). */
  refused: number;
  /** Packets received and dropped unanswered: a query whose arguments are not of the types BEP 5 and BEP 44 give them, or a packet the DHT library failed to read. */
  malformed: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class GuardedSocket extends EventEmitter {
  readonly stats: PacketStats = { sent: 0, received: 0, dropped: 0, oversize: 0, refused: 0, malformed: 0 };
  readonly #socket: Socket;
  readonly #limits: PacketLimits;
  /** Insertion order is age: the oldest source is forgotten first. */
  readonly #hosts = new Map<string, Bucket>();
  readonly #all: Bucket;
  #failures = 0;
  #failureReportedAt = -Infinity;

  constructor(limits: PacketLimits) {
    super();
    this.#limits = limits;
    this.#all = { tokens: limits.total, at: Date.now() };
    this.#socket = createSocket("udp4");
    this.#socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
      if (!this.#admit(msg, rinfo)) {
        this.stats.dropped++;
        return;
      }
      this.stats.received++;
      try {
        this.emit("message", msg, rinfo);
      } catch (error) {
        // The library threw on one packet (a shape `krpc-screen.ts` does not know yet): that packet is lost, not the process.
        this.stats.malformed++;
        this.#failed(error, rinfo);
      }
    });
    this.#socket.on("error", (error) => this.emit("error", error));
    this.#socket.on("listening", () => this.emit("listening"));
    this.#socket.on("close", () => this.emit("close"));
  }

  send(buf: Buffer, offset: number, length: number, port: number, host: string, cb?: (error: Error | null) => void): void {
    if (!isUnicastIPv4(host) || (!this.#limits.loopback && isLoopback(host)) || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.stats.refused++;
      queueMicrotask(() => cb?.(null));
      return;
    }
    this.stats.sent++;
    this.#socket.send(buf, offset, length, port, host, (error) => cb?.(error));
  }

  bind(port: number, host: string | undefined, cb?: () => void): void {
    this.#socket.bind(port, host, cb);
  }

  address(): { address: string; family: string; port: number } {
    return this.#socket.address();
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // Never bound, or closed already.
      queueMicrotask(() => this.emit("close"));
    }
  }

  /** Counts a library throw and emits `failed` (a {@link PacketFailure}) at most once per {@link FAILURE_REPORT_INTERVAL_MS}. */
  #failed(error: unknown, rinfo: RemoteInfo): void {
    this.#failures++;
    const now = Date.now();
    if (now - this.#failureReportedAt < FAILURE_REPORT_INTERVAL_MS) return;
    this.#failureReportedAt = now;
    const failure: PacketFailure = { error, host: rinfo.address, port: rinfo.port, count: this.#failures };
    this.#failures = 0;
    this.emit("failed", failure);
  }

  #admit(msg: Buffer, rinfo: RemoteInfo): boolean {
    if (msg.length > MAX_PACKET_BYTES) {
      this.stats.oversize++;
      return false;
    }
    if (rinfo.family !== "IPv4") return false;
    const now = Date.now();
    let b = this.#hosts.get(rinfo.address);
    if (b === undefined) {
      if (this.#hosts.size >= MAX_TRACKED_HOSTS) this.#hosts.delete(this.#hosts.keys().next().value!);
      b = { tokens: this.#limits.perHost, at: now };
      this.#hosts.set(rinfo.address, b);
    }
    // Both buckets must have a token; the global one is charged only when the host's allows.
    return take(b, this.#limits.perHost, now) && take(this.#all, this.#limits.total, now);
  }
}

function take(b: Bucket, rate: number, now: number): boolean {
  b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** True for an IPv4 address a DHT packet or a dial may go to: not 0/8, not multicast, not reserved, not broadcast. */
export function isUnicastIPv4(host: string): boolean {
  if (!isIPv4(host)) return false;
  const first = Number(host.slice(0, host.indexOf(".")));
  return first !== 0 && first < 224;
}

/** True for 127.0.0.0/8. */
export function isLoopback(host: string): boolean {
  return host.startsWith("127.");
}

/** True when a bootstrap entry is on loopback: a private DHT on this machine, where loopback addresses are the DHT. */
export function loopbackBootstrap(bootstrap: readonly string[]): boolean {
  return bootstrap.some((b) => b.startsWith("127.") || b.startsWith("localhost:"));
}
