/**
 * A relay any reachable node can run: peers behind NATs reserve a slot on it,
 * others open circuits to them through it, each end on a TCP connection of its
 * own, and once a circuit is ready it splices the two sockets byte for byte
 * (`relay-splice.ts`). It sees only the end-to-end secure channel's records.
 * Every limit is on by default.
 */

import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { XppgError } from "@xppg/errors";
import type { Connection, Listener, Transport } from "@xppg/transport";
import { badAddressError, closeGuarded } from "@xppg/transport/adapter";
import { formatTcpAddress, parseTcpAddress, tcpConnectionFromSocket, tcpTransport } from "@xppg/transport-tcp";
import { FrameTap } from "./frame-tap.js";
import type { RelayServiceOptions, RelayStats } from "./relay-options.js";
import { closeSocket, readFirstFrame, sendOnSocket } from "./relay-socket.js";
import { forwardFrames, spliceSockets } from "./relay-splice.js";
import { MAX_CONTROL_BYTES, RELAY_ERROR_CODES, RelayError, decodeClientMessage, encodeControl, type ClientMessage, type RelayMessage } from "./relay-wire.js";

export type { RelayServiceOptions, RelayStats } from "./relay-options.js";

interface Reservation {
  readonly id: string;
  readonly control: FrameTap;
  readonly ip: string;
}

/** One end of a circuit: a raw socket (the relay's own TCP listener) or a framed connection (another transport). */
type End = { readonly socket: Socket; readonly tap?: undefined } | { readonly socket?: undefined; readonly tap: FrameTap };

interface Pending {
  readonly dialer: End;
  readonly dialerIp: string;
  readonly target: Reservation;
  readonly timer: NodeJS.Timeout;
  /** Stops watching the waiting dialer (before its splice). */
  readonly detach: () => void;
}

/** A relay on TCP (or another transport's listener). `start` it, read `stats`, `close` it. */
export class RelayService {
  readonly stats: RelayStats = { reservations: 0, circuits: 0, circuitsOpened: 0, bytesRelayed: 0, refused: 0, dialbacks: 0, renewals: 0, throttled: 0, badTokens: 0, dropped: 0 };
  readonly #transport: Transport | undefined;
  readonly #o: Required<Omit<RelayServiceOptions, "transport" | "onError">>;
  readonly #onError: ((error: XppgError) => void) | undefined;
  readonly #reservations = new Map<string, Reservation>();
  readonly #pending = new Map<string, Pending>();
  readonly #circuits = new Set<{ ips: string[] }>();
  readonly #perIp = new Map<string, number>();
  readonly #unread = new Map<string, number>();
  #unreadTotal = 0;
  readonly #dialbacks = new Map<string, number[]>();
  readonly #connections = new Set<Connection>();
  readonly #sockets = new Set<Socket>();
  #listener: Listener | undefined;
  #server: Server | undefined;

  constructor(options: RelayServiceOptions = {}) {
    this.#transport = options.transport;
    this.#onError = options.onError;
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
      maxPendingConnections: options.maxPendingConnections ?? 256,
      maxPendingConnectionsPerIp: options.maxPendingConnectionsPerIp ?? 32,
      dialbacksPerIpPerMinute: options.dialbacksPerIpPerMinute ?? 4,
      dialbackTimeoutMs: options.dialbackTimeoutMs ?? 1500,
    };
  }

  /** Listens on `address` (`tcp://0.0.0.0:4100`); resolves with the listener's address. */
  async start(address: string): Promise<string> {
    if (this.#transport !== undefined) {
      this.#listener = await this.#transport.listen(address, (c) => this.#accept(c));
      return this.#listener.address;
    }
    const at = parseTcpAddress(address);
    if (at === null) throw badAddressError("tcp", String(address), "tcp://host:port");
    const server = createServer({ noDelay: true, keepAlive: true }, (socket) => void this.#acceptSocket(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port, at.host, () => (server.off("error", reject), resolve()));
    });
    const bound = server.address();
    return formatTcpAddress(at.host, typeof bound === "object" && bound !== null ? bound.port : at.port);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    // A listener whose close fails (another transport's) still leaves nothing open: its failure is thrown after the rest closed.
    let listenerFailed: { error: unknown } | undefined;
    try {
      await this.#listener?.close();
    } catch (error) {
      listenerFailed = { error };
    }
    // The server's close waits for its sockets: start it, then close them.
    const server = this.#server;
    const stopped = server === undefined ? undefined : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    for (const s of this.#sockets) s.destroy();
    await Promise.all([...this.#connections].map((c) => this.#close(c)));
    await stopped;
    if (listenerFailed !== undefined) throw listenerFailed.error;
  }

  /** Room for one more connection that has not spoken yet; counts it. */
  #admit(ip: string): boolean {
    const fromIp = this.#unread.get(ip) ?? 0;
    if (this.#unreadTotal >= this.#o.maxPendingConnections || fromIp >= this.#o.maxPendingConnectionsPerIp) {
      this.stats.dropped++;
      return false;
    }
    this.#unreadTotal++;
    this.#unread.set(ip, fromIp + 1);
    return true;
  }

  #admitted(ip: string): void {
    this.#unreadTotal--;
    const n = (this.#unread.get(ip) ?? 1) - 1;
    if (n <= 0) this.#unread.delete(ip);
    else this.#unread.set(ip, n);
  }

  /** A socket on the relay's own listener: its first message decides whether it stays raw (a circuit's end) or becomes a connection. */
  async #acceptSocket(socket: Socket): Promise<void> {
    const ip = socket.remoteAddress ?? "";
    socket.on("error", () => socket.destroy());
    if (!this.#admit(ip)) return void socket.destroy();
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    const first = await readFirstFrame(socket, this.#o.setupTimeoutMs);
    this.#admitted(ip);
    if (socket.destroyed) return;
    // Nothing in time: closed without a word, as a framed connection's setup timeout does.
    if (first === "silent") return void socket.destroy();
    const message = first === "too-large" ? undefined : decodeClientMessage(first.frame);
    if (first === "too-large" || message === undefined) return this.#refuse({ socket }, "malformed request");
    const observed = { host: ip, port: socket.remotePort ?? 0 };
    if (message.t === "connect" || message.t === "accept") {
      // A circuit's end says nothing more until its "ready".
      if (first.rest.byteLength > 0) return this.#refuse({ socket }, "data before the circuit is ready");
      return this.#request({ socket }, message, observed);
    }
    this.#sockets.delete(socket);
    if (first.rest.byteLength > 0) socket.unshift(first.rest);
    const connection = tcpConnectionFromSocket(socket, { outbound: false, maxFrameSize: MAX_CONTROL_BYTES });
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
    const tap = new FrameTap(connection);
    // readFirstFrame paused the socket; the connection reads it from here on.
    socket.resume();
    this.#request({ tap }, message, observed);
  }

  #accept(connection: Connection): void {
    const ip = hostPort(connection.remoteAddress)?.host ?? "";
    if (!this.#admit(ip)) return void this.#close(connection);
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
    const tap = new FrameTap(connection);
    let admitted = true;
    const spoke = (): void => {
      clearTimeout(timer);
      if (admitted) this.#admitted(ip);
      admitted = false;
    };
    const timer = setTimeout(() => void this.#close(connection, new RelayError(RELAY_ERROR_CODES.TIMEOUT, "No relay request in time.")), this.#o.setupTimeoutMs);
    timer.unref();
    tap.take(
      (frame) => {
        spoke();
        tap.release();
        const message = decodeClientMessage(frame);
        const observed = hostPort(connection.remoteAddress);
        if (message === undefined || observed === undefined) return this.#refuse({ tap }, "malformed request");
        this.#request({ tap }, message, observed);
      },
      spoke,
    );
  }

  #request(end: End, message: ClientMessage, observed: { host: string; port: number }): void {
    if (message.t === "reserve" || message.t === "dialback") {
      // Only ever a framed connection (see #acceptSocket).
      return message.t === "reserve" ? this.#reserve(end.tap!, message.id, observed) : this.#standaloneDialback(end.tap!, observed, message.port);
    }
    if (message.t === "connect") {
      const target = this.#reservations.get(message.to);
      if (target === undefined) return this.#refuse(end, "no reservation for that peer");
      if (this.#circuits.size + this.#pending.size >= this.#o.maxCircuits) return this.#refuse(end, "circuit limit reached");
      if (!this.#ipHasRoom(observed.host) || !this.#ipHasRoom(target.ip)) return this.#refuse(end, "circuit limit per address reached");
      // The circuit's token: unguessable, single use (deleted when taken), valid for setupTimeoutMs.
      const circuit = randomBytes(16).toString("hex");
      const timer = setTimeout(() => {
        this.#pending.get(circuit)?.detach();
        this.#pending.delete(circuit);
        this.#refuse(end, "the peer did not accept the circuit in time");
      }, this.#o.setupTimeoutMs);
      timer.unref();
      const gone = (): void => {
        clearTimeout(timer);
        this.#pending.delete(circuit);
      };
      const early = (): void => this.#refuse(end, "data before the circuit is ready");
      let detach: () => void;
      if (end.socket !== undefined) {
        const socket = end.socket;
        socket.on("data", early);
        socket.once("close", gone);
        socket.resume();
        detach = () => (socket.off("data", early), socket.off("close", gone));
      } else {
        end.tap.take(early, gone);
        detach = () => end.tap.release();
      }
      this.#pending.set(circuit, { dialer: end, dialerIp: observed.host, target, timer, detach });
      sendOn({ tap: target.control }, { t: "incoming", circuit });
      return;
    }
    // accept: only from the reserved peer's address, for a circuit that waits
    const pending = this.#pending.get(message.circuit);
    if (pending === undefined || pending.target.ip !== observed.host || (pending.dialer.socket === undefined) !== (end.socket === undefined)) {
      this.stats.badTokens++;
      return this.#refuse(end, "no such circuit");
    }
    this.#pending.delete(message.circuit);
    clearTimeout(pending.timer);
    pending.detach();
    this.#splice(message.circuit, pending.dialer, end);
  }

  #reserve(tap: FrameTap, id: string, observed: { host: string; port: number }): void {
    const connection = tap.connection;
    if (this.#reservations.has(id)) return this.#refuse({ tap }, "that peer id already holds a reservation here");
    if (this.#reservations.size >= this.#o.maxReservations) return this.#refuse({ tap }, "no reservation slots left");
    let fromIp = 0;
    for (const r of this.#reservations.values()) if (r.ip === observed.host) fromIp++;
    if (fromIp >= this.#o.maxReservationsPerIp) return this.#refuse({ tap }, "no reservation slots left for this address");
    const reservation: Reservation = { id, control: tap, ip: observed.host };
    this.#reservations.set(id, reservation);
    this.stats.reservations = this.#reservations.size;
    void connection.closed.then(() => {
      if (this.#reservations.get(id) === reservation) this.#reservations.delete(id);
      this.stats.reservations = this.#reservations.size;
      // Circuits still waiting for this peer will not be accepted now.
      for (const [circuit, p] of this.#pending) {
        if (p.target !== reservation) continue;
        this.#pending.delete(circuit);
        clearTimeout(p.timer);
        p.detach();
        this.#refuse(p.dialer, "the peer's reservation ended");
      }
    });
    const ttlMs = this.#o.reservationTtlMs;
    const reserved = (): void => send(connection, { t: "reserved", observed: `${observed.host}:${observed.port}`, ttlMs });
    // Unrenewed, the reservation ends with its lifetime.
    let expiry = setTimeout(() => this.#refuse({ tap }, "the reservation expired"), ttlMs);
    expiry.unref();
    void connection.closed.then(() => clearTimeout(expiry));
    reserved();
    // Later requests on the control connection: renewals (the same id) and dial-backs.
    tap.take((next) => {
      const m = decodeClientMessage(next);
      if (m?.t === "dialback") void this.#dialback(connection, observed.host, m.port, true);
      else if (m?.t === "reserve" && m.id === id) {
        clearTimeout(expiry);
        expiry = setTimeout(() => this.#refuse({ tap }, "the reservation expired"), ttlMs);
        expiry.unref();
        this.stats.renewals++;
        reserved();
      } else this.#refuse({ tap }, "only renewals and dial-back requests on a reservation");
    }, () => {});
  }

  #standaloneDialback(tap: FrameTap, observed: { host: string }, port: number): void {
    tap.take(() => this.#refuse({ tap }, "one request per connection"), () => {});
    void this.#dialback(tap.connection, observed.host, port);
  }

  #splice(circuit: string, a: End, b: End): void {
    const ipA = endAddress(a);
    const ipB = endAddress(b);
    const entry = { ips: [ipA.host, ipB.host] };
    this.#circuits.add(entry);
    for (const ip of entry.ips) this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    this.stats.circuits = this.#circuits.size;
    this.stats.circuitsOpened++;
    const ended = (): void => {
      this.#circuits.delete(entry);
      for (const ip of entry.ips) this.#perIp.set(ip, (this.#perIp.get(ip) ?? 1) - 1);
      this.stats.circuits = this.#circuits.size;
    };
    // The "ready"s go out before any data: both ends send nothing until they have theirs.
    sendOn(a, { t: "ready", circuit, observed: `${ipA.host}:${ipA.port}`, peerObserved: `${ipB.host}:${ipB.port}` });
    sendOn(b, { t: "ready", circuit, observed: `${ipB.host}:${ipB.port}`, peerObserved: `${ipA.host}:${ipA.port}` });
    if (a.socket !== undefined && b.socket !== undefined) spliceSockets(a.socket, b.socket, this.#o, this.stats, ended);
    else forwardFrames(a.tap!, b.tap!, this.#o, this.stats, ended, (c, error) => void this.#close(c, error));
  }

  /** Dials the asker's own address only (never one it names), a few times a minute at most: no reflector. */
  async #dialback(connection: Connection, ip: string, port: number, onReservation = false): Promise<void> {
    const now = Date.now();
    const recent = (this.#dialbacks.get(ip) ?? []).filter((t) => now - t < 60_000);
    const observed = hostPort(connection.remoteAddress)!;
    if (recent.length >= this.#o.dialbacksPerIpPerMinute) {
      if (!onReservation) {
        this.stats.refused++;
        send(connection, { t: "refused", reason: "too many dial-back requests" });
        return void this.#close(connection);
      }
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
      const probe = await (this.#transport ?? tcpTransport()).dial(`tcp://${ip}:${port}`, { timeoutMs: this.#o.dialbackTimeoutMs });
      ok = true;
      // The dial answered the question: the answer does not wait on the probe's close (a peer that never lets it end would delay it).
      void this.#close(probe);
    } catch {
      ok = false;
    }
    if (!connection.isClosed) send(connection, { t: "dialback", ok, observed: `${observed.host}:${observed.port}` });
  }

  /** Room for one more circuit at `ip`, counting the circuits that still wait for their peer (at most maxCircuits: a short walk). */
  #ipHasRoom(ip: string): boolean {
    let n = this.#perIp.get(ip) ?? 0;
    for (const p of this.#pending.values()) if (p.target.ip === ip || p.dialerIp === ip) n++;
    return n < this.#o.maxCircuitsPerIp;
  }

  #refuse(end: End, reason: string): void {
    this.stats.refused++;
    sendOn(end, { t: "refused", reason });
    // A clean close: the refusal goes out first.
    if (end.socket !== undefined) closeSocket(end.socket);
    else void this.#close(end.tap.connection);
  }

  /**
   * Closes a connection of the transport (or of the relay's own TCP side):
   * another transport's `close` that throws or rejects goes to `onError`,
   * never into the caller nor left an unhandled rejection. Resolves once the
   * close settled.
   */
  #close(connection: Connection, error?: XppgError): Promise<void> {
    return closeGuarded(connection, error, (broken) => this.#onError?.(broken));
  }
}

function send(connection: Connection, message: RelayMessage): void {
  connection.send(encodeControl(message)).catch(() => {});
}

function sendOn(end: End, message: RelayMessage): void {
  if (end.socket !== undefined) sendOnSocket(end.socket, message);
  else send(end.tap.connection, message);
}

function endAddress(end: End): { host: string; port: number } {
  if (end.socket !== undefined) return { host: end.socket.remoteAddress ?? "", port: end.socket.remotePort ?? 0 };
  return hostPort(end.tap.connection.remoteAddress)!;
}

function hostPort(address: string): { host: string; port: number } | undefined {
  const parsed = parseTcpAddress(address);
  return parsed === null ? undefined : { host: parsed.host, port: parsed.port };
}
