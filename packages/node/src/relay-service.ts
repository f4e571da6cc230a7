/**
 * A relay any reachable node can run: peers behind NATs reserve a slot on it,
 * others open circuits to them through it, and it splices the two connections
 * frame by frame. It sees only the end-to-end secure channel's records. Every
 * limit is on by default.
 */

import { randomBytes } from "node:crypto";
import type { Connection, Listener, Transport } from "@xppg/transport";
import { parseTcpAddress, tcpTransport } from "@xppg/transport-tcp";
import { FrameTap } from "./frame-tap.js";
import { RELAY_ERROR_CODES, RelayError, decodeClientMessage, encodeControl, type RelayMessage } from "./relay-wire.js";

/** Limits and settings of a {@link RelayService}. */
export interface RelayServiceOptions {
  /** @default tcpTransport() */
  transport?: Transport;
  /** Reservations held at once. @default 64 */
  maxReservations?: number;
  /** Reservations held at once from one IP address (one host cannot take every slot). @default 8 */
  maxReservationsPerIp?: number;
  /** Circuits open at once. @default 32 */
  maxCircuits?: number;
  /** Circuits open at once to or from one IP address. @default 8 */
  maxCircuitsPerIp?: number;
  /** Bytes one circuit may carry (both directions together); then it is closed. @default 64 MiB */
  maxCircuitBytes?: number;
  /**
   * Bytes a second one circuit may carry in each direction (a token bucket
   * holding one second's worth); past it the relay stops reading that side
   * until the rate allows more. `Infinity` turns it off.
   * @default 4 MiB
   */
  maxCircuitBytesPerSecond?: number;
  /** How long one circuit may stay open, in ms. @default 30 minutes */
  maxCircuitDurationMs?: number;
  /** Time for a new connection's first message, and for a reserved peer to accept a circuit. @default 5000 */
  setupTimeoutMs?: number;
  /** How long a reservation lasts unless renewed (the client renews at half-time). @default 1 hour */
  reservationTtlMs?: number;
  /** Dial-backs per IP address per minute (a peer asks "can you reach me?"). @default 4 */
  dialbacksPerIpPerMinute?: number;
  /** Time a dial-back may take. @default 1500 */
  dialbackTimeoutMs?: number;
}

/** What a {@link RelayService} counts. */
export interface RelayStats {
  reservations: number;
  circuits: number;
  circuitsOpened: number;
  /** Bytes carried over all circuits, both directions. */
  bytesRelayed: number;
  refused: number;
  dialbacks: number;
  /** Reservations renewed (a reservation lasts `reservationTtlMs` unless renewed). */
  renewals: number;
  /** Times a circuit's side was paused for going over `maxCircuitBytesPerSecond`. */
  throttled: number;
}

interface Reservation {
  readonly id: string;
  readonly control: Connection;
  readonly ip: string;
}

interface Pending {
  readonly dialer: Connection;
  readonly tap: FrameTap;
  readonly target: Reservation;
  readonly timer: NodeJS.Timeout;
}

/** A relay on a transport's listener. `start` it, read `stats`, `close` it. */
export class RelayService {
  readonly stats: RelayStats = { reservations: 0, circuits: 0, circuitsOpened: 0, bytesRelayed: 0, refused: 0, dialbacks: 0, renewals: 0, throttled: 0 };
  readonly #transport: Transport;
  readonly #o: Required<Omit<RelayServiceOptions, "transport">>;
  readonly #reservations = new Map<string, Reservation>();
  readonly #pending = new Map<string, Pending>();
  readonly #circuits = new Set<{ a: Connection; b: Connection; ips: string[] }>();
  readonly #perIp = new Map<string, number>();
  readonly #dialbacks = new Map<string, number[]>();
  readonly #connections = new Set<Connection>();
  #listener: Listener | undefined;

  constructor(options: RelayServiceOptions = {}) {
    this.#transport = options.transport ?? tcpTransport();
    this.#o = {
      maxReservations: options.maxReservations ?? 64,
      maxReservationsPerIp: options.maxReservationsPerIp ?? 8,
      maxCircuits: options.maxCircuits ?? 32,
      maxCircuitsPerIp: options.maxCircuitsPerIp ?? 8,
      maxCircuitBytes: options.maxCircuitBytes ?? 64 * 1024 * 1024,
      maxCircuitDurationMs: options.maxCircuitDurationMs ?? 30 * 60_000,
      maxCircuitBytesPerSecond: options.maxCircuitBytesPerSecond ?? 4 * 1024 * 1024,
      setupTimeoutMs: options.setupTimeoutMs ?? 5000,
      reservationTtlMs: options.reservationTtlMs ?? 3_600_000,
      dialbacksPerIpPerMinute: options.dialbacksPerIpPerMinute ?? 4,
      dialbackTimeoutMs: options.dialbackTimeoutMs ?? 1500,
    };
  }

  /** Listens on `address` (`tcp://0.0.0.0:4100`); resolves with the listener's address. */
  async start(address: string): Promise<string> {
    this.#listener = await this.#transport.listen(address, (c) => this.#accept(c));
    return this.#listener.address;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    await this.#listener?.close();
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    await Promise.all([...this.#connections].map((c) => c.close()));
  }

  #accept(connection: Connection): void {
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
    const tap = new FrameTap(connection);
    const timer = setTimeout(() => void connection.close(new RelayError(RELAY_ERROR_CODES.TIMEOUT, "No relay request in time.")), this.#o.setupTimeoutMs);
    timer.unref();
    tap.take(
      (frame) => {
        clearTimeout(timer);
        tap.release();
        this.#request(connection, tap, frame);
      },
      () => clearTimeout(timer),
    );
  }

  #request(connection: Connection, tap: FrameTap, frame: Uint8Array): void {
    const message = decodeClientMessage(frame);
    const observed = hostPort(connection.remoteAddress);
    if (message === undefined || observed === undefined) return this.#refuse(connection, "malformed request");
    if (message.t === "reserve") {
      if (this.#reservations.has(message.id)) return this.#refuse(connection, "that peer id already holds a reservation here");
      if (this.#reservations.size >= this.#o.maxReservations) return this.#refuse(connection, "no reservation slots left");
      let fromIp = 0;
      for (const r of this.#reservations.values()) if (r.ip === observed.host) fromIp++;
      if (fromIp >= this.#o.maxReservationsPerIp) return this.#refuse(connection, "no reservation slots left for this address");
      const reservation: Reservation = { id: message.id, control: connection, ip: observed.host };
      this.#reservations.set(message.id, reservation);
      this.stats.reservations = this.#reservations.size;
      void connection.closed.then(() => {
        if (this.#reservations.get(message.id) === reservation) this.#reservations.delete(message.id);
        this.stats.reservations = this.#reservations.size;
        // Circuits still waiting for this peer will not be accepted now.
        for (const [id, p] of this.#pending) {
          if (p.target !== reservation) continue;
          this.#pending.delete(id);
          clearTimeout(p.timer);
          this.#refuse(p.dialer, "the peer's reservation ended");
        }
      });
      const ttlMs = this.#o.reservationTtlMs;
      const reserved = (): void => send(connection, { t: "reserved", observed: `${observed.host}:${observed.port}`, ttlMs });
      // Unrenewed, the reservation ends with its lifetime.
      let expiry = setTimeout(() => this.#refuse(connection, "the reservation expired"), ttlMs);
      expiry.unref();
      void connection.closed.then(() => clearTimeout(expiry));
      reserved();
      // Later requests on the control connection: renewals (the same id) and dial-backs.
      tap.take((next) => {
        const m = decodeClientMessage(next);
        if (m?.t === "dialback") void this.#dialback(connection, observed.host, m.port, true);
        else if (m?.t === "reserve" && m.id === message.id) {
          clearTimeout(expiry);
          expiry = setTimeout(() => this.#refuse(connection, "the reservation expired"), ttlMs);
          expiry.unref();
          this.stats.renewals++;
          reserved();
        } else this.#refuse(connection, "only renewals and dial-back requests on a reservation");
      }, () => {});
      return;
    }
    if (message.t === "dialback") {
      tap.take(() => this.#refuse(connection, "one request per connection"), () => {});
      void this.#dialback(connection, observed.host, message.port);
      return;
    }
    if (message.t === "connect") {
      const target = this.#reservations.get(message.to);
      if (target === undefined) return this.#refuse(connection, "no reservation for that peer");
      if (this.#circuits.size + this.#pending.size >= this.#o.maxCircuits) return this.#refuse(connection, "circuit limit reached");
      if (!this.#ipHasRoom(observed.host) || !this.#ipHasRoom(target.ip)) return this.#refuse(connection, "circuit limit per address reached");
      const circuit = randomBytes(16).toString("hex");
      const timer = setTimeout(() => {
        this.#pending.delete(circuit);
        this.#refuse(connection, "the peer did not accept the circuit in time");
      }, this.#o.setupTimeoutMs);
      timer.unref();
      this.#pending.set(circuit, { dialer: connection, tap, target, timer });
      tap.take(() => this.#refuse(connection, "data before the circuit is ready"), () => {
        clearTimeout(timer);
        this.#pending.delete(circuit);
      });
      send(target.control, { t: "incoming", circuit });
      return;
    }
    // accept: only from the reserved peer's address, for a circuit that waits
    const pending = this.#pending.get(message.circuit);
    if (pending === undefined || pending.target.ip !== observed.host) return this.#refuse(connection, "no such circuit");
    this.#pending.delete(message.circuit);
    clearTimeout(pending.timer);
    this.#splice(message.circuit, pending.dialer, pending.tap, connection, tap);
  }

  #splice(circuit: string, a: Connection, tapA: FrameTap, b: Connection, tapB: FrameTap): void {
    const ipA = hostPort(a.remoteAddress)!;
    const ipB = hostPort(b.remoteAddress)!;
    const entry = { a, b, ips: [ipA.host, ipB.host] };
    this.#circuits.add(entry);
    for (const ip of entry.ips) this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    this.stats.circuits = this.#circuits.size;
    this.stats.circuitsOpened++;
    let bytes = 0;
    let ended = false;
    const end = (error?: RelayError): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.#circuits.delete(entry);
      for (const ip of entry.ips) this.#perIp.set(ip, (this.#perIp.get(ip) ?? 1) - 1);
      this.stats.circuits = this.#circuits.size;
      void a.close(error);
      void b.close(error);
    };
    const timer = setTimeout(() => end(new RelayError(RELAY_ERROR_CODES.LIMIT, `The circuit reached the relay's time limit (${this.#o.maxCircuitDurationMs} ms).`)), this.#o.maxCircuitDurationMs);
    timer.unref();
    const rate = this.#o.maxCircuitBytesPerSecond;
    const forward = (from: Connection, to: Connection) => {
      let waiting = 0;
      let paused = false;
      // The rate: a bucket of one second's worth; when it runs dry, reading this side stops until it refills.
      let tokens = rate;
      let filledAt = performance.now();
      let throttled: NodeJS.Timeout | undefined;
      const resumeIfFree = (): void => {
        if (!paused && throttled === undefined) from.resume();
      };
      return (frame: Uint8Array): void => {
        bytes += frame.byteLength;
        this.stats.bytesRelayed += frame.byteLength;
        if (bytes > this.#o.maxCircuitBytes) return end(new RelayError(RELAY_ERROR_CODES.LIMIT, `The circuit reached the relay's byte limit (${this.#o.maxCircuitBytes}).`));
        if (Number.isFinite(rate)) {
          const now = performance.now();
          tokens = Math.min(rate, tokens + ((now - filledAt) * rate) / 1000) - frame.byteLength;
          filledAt = now;
          if (tokens < 0 && throttled === undefined) {
            this.stats.throttled++;
            from.pause();
            throttled = setTimeout(() => {
              throttled = undefined;
              resumeIfFree();
            }, Math.ceil((-tokens / rate) * 1000));
            throttled.unref();
          }
        }
        // Back-pressure: a send resolves at once while the other side's buffer has room;
        // while sends wait, stop reading this side, and read again when they all went.
        // The check is queued after the sends' own callbacks: a send that resolved at once
        // has counted itself off by then, so reading pauses only for a send that waits
        // (pausing and resuming the socket for every read cost half the bulk throughput).
        waiting++;
        to.send(frame).then(
          () => {
            waiting--;
            if (waiting === 0 && paused) {
              paused = false;
              resumeIfFree();
            }
          },
          () => end(),
        );
        if (waiting === 1 && !paused) {
          // Twice: the first check runs before the callbacks of the same read's later frames.
          queueMicrotask(() => {
            if (waiting > 0) {
              queueMicrotask(() => {
                if (waiting > 0 && !paused) {
                  paused = true;
                  from.pause();
                }
              });
            }
          });
        }
      };
    };
    tapA.take(forward(a, b), () => end());
    tapB.take(forward(b, a), () => end());
    send(a, { t: "ready", circuit, observed: `${ipA.host}:${ipA.port}`, peerObserved: `${ipB.host}:${ipB.port}` });
    send(b, { t: "ready", circuit, observed: `${ipB.host}:${ipB.port}`, peerObserved: `${ipA.host}:${ipA.port}` });
  }

  /** Dials the asker's own address only (never one it names), a few times a minute at most: no reflector. */
  async #dialback(connection: Connection, ip: string, port: number, onReservation = false): Promise<void> {
    const now = Date.now();
    const recent = (this.#dialbacks.get(ip) ?? []).filter((t) => now - t < 60_000);
    const observed = hostPort(connection.remoteAddress)!;
    if (recent.length >= this.#o.dialbacksPerIpPerMinute) {
      if (!onReservation) return this.#refuse(connection, "too many dial-back requests");
      // A reservation outlives a refused dial-back: answer, keep the slot.
      this.stats.refused++;
      send(connection, { t: "refused", reason: "too many dial-back requests" });
      return;
    }
    if (this.#dialbacks.size >= 4096 && !this.#dialbacks.has(ip)) this.#dialbacks.clear(); // bounded memory
    recent.push(now);
    this.#dialbacks.set(ip, recent);
    this.stats.dialbacks++;
    let ok: boolean;
    try {
      const probe = await this.#transport.dial(`tcp://${ip}:${port}`, { timeoutMs: this.#o.dialbackTimeoutMs });
      ok = true;
      await probe.close();
    } catch {
      ok = false;
    }
    if (!connection.isClosed) send(connection, { t: "dialback", ok, observed: `${observed.host}:${observed.port}` });
  }

  /** Room for one more circuit at `ip`, counting the circuits that still wait for their peer (at most maxCircuits: a short walk). */
  #ipHasRoom(ip: string): boolean {
    let n = this.#perIp.get(ip) ?? 0;
    for (const p of this.#pending.values()) if (p.target.ip === ip || hostPort(p.dialer.remoteAddress)?.host === ip) n++;
    return n < this.#o.maxCircuitsPerIp;
  }

  #refuse(connection: Connection, reason: string): void {
    this.stats.refused++;
    send(connection, { t: "refused", reason });
    // A clean close: the refusal goes out first.
    void connection.close();
  }
}

function send(connection: Connection, message: RelayMessage): void {
  connection.send(encodeControl(message)).catch(() => {});
}

function hostPort(address: string): { host: string; port: number } | undefined {
  const parsed = parseTcpAddress(address);
  return parsed === null ? undefined : { host: parsed.host, port: parsed.port };
}
