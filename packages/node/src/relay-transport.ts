/**
 * The client side of relaying, as a {@link Transport}: listening on
 * `relay://<relay host>:<port>` reserves a slot there (peers dial
 * `relay://<relay host>:<port>/p/<peer id>`), and each circuit is a
 * {@link CircuitConnection}. After a circuit is ready both ends try a TCP
 * simultaneous open (the relay's "ready" is the start signal) and move the
 * circuit to the direct path when it works; when it does not, the circuit
 * stays relayed.
 */

import { randomInt } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Connection, ConnectionHandler, DialOptions, Listener, Transport } from "@xppg/transport";
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_SIZE, abortedError, badAddressError, dialFailedError } from "@xppg/transport/adapter";
import { parseTcpAddress, tcpConnectionFromSocket } from "@xppg/transport-tcp";
import { CircuitConnection, type CircuitPath } from "./circuit-connection.js";
import { hostKey } from "./abuse-guard.js";
import { FrameTap } from "./frame-tap.js";
import { punchTcp } from "./hole-punch.js";
import type { Reachability } from "./reachability.js";
import { PREFIX, parseRelayAddress } from "./relay-address.js";
import { RELAY_ERROR_CODES, RelayError, decodeRelayMessage, encodeControl, splitHostPort, type ClientMessage, type RelayMessage } from "./relay-wire.js";

export { parseRelayAddress } from "./relay-address.js";

/** Circuits a relay may have this node accept at once (an honest relay offers them one by one, as peers dial). */
const MAX_ACCEPTS_IN_FLIGHT = 8;

/** Options of {@link relayTransport}. */
export interface RelayTransportOptions {
  /** This node's peer id: the name it reserves under. Needed to listen. */
  peerId?: string;
  /** Try hole punching on every circuit. @default true */
  punch?: boolean;
  /** How long a punch may take. @default 3000 */
  punchTimeoutMs?: number;
  /** Time for the relay to set a circuit up or answer a reservation. @default 5000 */
  timeoutMs?: number;
  /** Largest frame on a circuit (one byte less than on the relay's connection). @default 1 MiB - 1 */
  maxFrameSize?: number;
  /**
   * Told what each relay observes of this node, and (with `dialbackPort`) whether
   * the relay reaches that port with a new connection. Several relays are
   * needed for a verdict: see {@link Reachability}.
   */
  reachability?: Reachability;
  /** The port of this node's TCP listener, for relays to dial back. */
  dialbackPort?: () => number | undefined;
  /** Called when a reservation ends (the relay closed it, went away, or refused a renewal), with its relayed address. */
  onReservationEnded?: (relayAddress: string) => void;
  /**
   * Called when a circuit's path becomes `"punched"` (both directions moved to the direct
   * connection: the relay carries nothing more), or when a punch fails or the circuit closed
   * before both directions moved (`"relayed"`, with a reason).
   */
  onPath?: (circuit: CircuitConnection, path: CircuitPath, reason?: string) => void;
  /**
   * Where a throw from `onPath` goes, and the broken close (`XPPG_ERR_TRANSPORT_CONTRACT`) of
   * a connection a circuit drops while it stays open (a second `upgrade`'s); the circuit carries on.
   * @default ignored
   */
  onListenerError?: (error: unknown) => void;
}

/** A relay reservation, as {@link RelayTransport.listen} returns it. */
export interface RelayListener extends Listener {
  /** The public address the relay sees this node's reservation come from (`ip:port`). */
  readonly observed: string;
  /**
   * Asks the relay to dial `ip:port` back (ip: the one it sees), to learn whether
   * `port` is reachable from outside; `undefined` when the relay would not try
   * (its dial-back budget for this address is spent) or the reservation ended.
   */
  dialback(port: number): Promise<boolean | undefined>;
}

/** The relay transport: `name` is `"relay"`. */
export interface RelayTransport extends Transport {
  listen(address: string, onConnection: ConnectionHandler): Promise<RelayListener>;
  /** Circuits open now. */
  readonly circuits: ReadonlySet<CircuitConnection>;
}

/**
 * Creates the relay transport. Put it next to a TCP transport and listen on
 * `relay://<relay host>:<port>` to be reachable through that relay.
 *
 * @example
 * const relay = relayTransport({ peerId: identity.peerId });
 * const pg = new Playground({ identity, transports: [tcpTransport(), relay], listen: ["tcp://0.0.0.0:0", "relay://198.18.0.1:4100"] });
 */
export function relayTransport(options: RelayTransportOptions = {}): RelayTransport {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE - 1;
  const circuits = new Set<CircuitConnection>();

  const circuit = (tap: FrameTap, ready: Extract<RelayMessage, { t: "ready" }>, outbound: boolean, remoteAddress: string): CircuitConnection => {
    const peer = splitHostPort(ready.peerObserved);
    const conn = new CircuitConnection(tap, {
      outbound,
      remoteAddress,
      localAddress: tap.connection.localAddress,
      remoteHost: peer.host,
      maxFrameSize,
      highWaterMark: DEFAULT_HIGH_WATER_MARK,
      token: Buffer.from(ready.circuit, "hex"),
      // After an upgrade: "punched" once both directions moved, not when this end's punch
      // worked (until the other's switch mark came through the relay, losing the relay still
      // ends the circuit); "relayed" with the reason if the circuit closed before that.
      onPath: (path, reason) => options.onPath?.(conn, path, reason),
      ...(options.onListenerError === undefined ? {} : { onListenerError: options.onListenerError }),
    });
    circuits.add(conn);
    void conn.closed.then(() => circuits.delete(conn));
    if (options.punch ?? true) void punch(conn, tap, peer, outbound);
    return conn;
  };

  const punch = async (conn: CircuitConnection, tap: FrameTap, peer: { host: string; port: number }, outbound: boolean): Promise<void> => {
    const local = parseTcpAddress(tap.connection.localAddress);
    if (local === null) return;
    const result = await punchTcp({ localPort: local.port, remoteHost: peer.host, remotePort: peer.port, timeoutMs: options.punchTimeoutMs ?? 3000 });
    if (result.socket === undefined || conn.isClosed) {
      result.socket?.destroy();
      conn.reportRelayed(result.socket === undefined ? result.reason : "the circuit closed before this end's punch connected");
      return;
    }
    // The circuit reports the rest ("punched", or "relayed" if it closes first).
    conn.upgrade(tcpConnectionFromSocket(result.socket, { outbound, maxFrameSize }));
  };

  return {
    name: "relay",
    maxFrameSize,
    circuits,

    canDial(address: string): boolean {
      return parseRelayAddress(address)?.peerId !== undefined;
    },

    async dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      const target = parseRelayAddress(address);
      if (target?.peerId === undefined) throw badAddressError("relay", String(address), "relay://<relay host>:<port>/p/<peer id>");
      const signal = dialOptions?.signal;
      if (signal?.aborted) throw abortedError(address, signal.reason);
      let tap: FrameTap | undefined;
      const onAbort = (): void => void tap?.connection.close();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        tap = await open(target.host, target.port, dialOptions?.timeoutMs ?? timeoutMs, signal);
        if (signal?.aborted) throw new Error("aborted");
        send(tap.connection, { t: "connect", to: target.peerId });
        const ready = await answer(tap, "ready", timeoutMs);
        if (signal?.aborted) throw new Error("aborted");
        return circuit(tap, ready, true, address);
      } catch (err) {
        void tap?.connection.close();
        if (signal?.aborted) throw abortedError(address, signal.reason);
        throw dialFailedError(address, err);
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    },

    async listen(address: string, onConnection: ConnectionHandler): Promise<RelayListener> {
      const target = parseRelayAddress(address);
      if (target === undefined || target.peerId !== undefined) throw badAddressError("relay", String(address), "relay://<relay host>:<port>");
      const peerId = options.peerId;
      if (peerId === undefined) throw new RelayError(RELAY_ERROR_CODES.NO_PEER_ID, "relayTransport needs { peerId } to listen: the relay reserves a slot under that id.");
      const control = await open(target.host, target.port, timeoutMs);
      send(control.connection, { t: "reserve", id: peerId });
      const reserved = await answer(control, "reserved", timeoutMs);
      const relayAddress = `${PREFIX}${target.relay}/p/${peerId}`;
      const dialbacks: ((ok: boolean | undefined) => void)[] = [];
      // Renew at half the lifetime the relay gave; the timer never keeps the process alive.
      let renewal: NodeJS.Timeout | undefined;
      const scheduleRenewal = (ttlMs: number): void => {
        clearTimeout(renewal);
        renewal = setTimeout(() => send(control.connection, { t: "reserve", id: peerId }), Math.floor(ttlMs / 2));
        renewal.unref();
      };
      scheduleRenewal(reserved.ttlMs);
      control.take(
        (frame) => {
          const m = decodeRelayMessage(frame);
          if (m?.t === "reserved") scheduleRenewal(m.ttlMs);
          else if (m?.t === "dialback") dialbacks.shift()?.(m.ok);
          else if (m?.t === "refused" && dialbacks.length > 0) dialbacks.shift()?.(undefined);
          // A relay cannot make this node open connections without bound: a few accepts at a time, each circuit once.
          else if (m?.t === "incoming") {
            if (accepting.size < MAX_ACCEPTS_IN_FLIGHT && !accepting.has(m.circuit)) void acceptCircuit(m.circuit);
          }
          else void control.connection.close(new RelayError(RELAY_ERROR_CODES.PROTOCOL, "The relay sent a message it should not have on a reservation."));
        },
        () => {
          clearTimeout(renewal);
          for (const d of dialbacks.splice(0)) d(undefined);
          options.reachability?.relay(relayAddress, false);
          options.onReservationEnded?.(relayAddress);
        },
      );
      const accepting = new Set<string>();
      const acceptCircuit = async (id: string): Promise<void> => {
        accepting.add(id);
        try {
          const tap = await open(target.host, target.port, timeoutMs);
          send(tap.connection, { t: "accept", circuit: id });
          const ready = await answer(tap, "ready", timeoutMs);
          onConnection(circuit(tap, ready, false, `${PREFIX}${target.relay}/c/${id}`));
        } catch {
          // The dialer sees the relay's refusal or timeout; nothing to do here.
        } finally {
          accepting.delete(id);
        }
      };
      const listener: RelayListener = {
        address: relayAddress,
        port: undefined,
        observed: reserved.observed,
        get pendingConnections() {
          return 0;
        },
        dialback: (port) =>
          new Promise<boolean | undefined>((resolve) => {
            if (control.connection.isClosed) return resolve(undefined);
            dialbacks.push(resolve);
            send(control.connection, { t: "dialback", port });
          }),
        close: () => control.connection.close(),
        [Symbol.asyncDispose]: () => control.connection.close(),
      };
      const reach = options.reachability;
      if (reach !== undefined) {
        // One observer per relay host, as for peers' observations.
        reach.observe(`host:${hostKey(target.host)}`, reserved.observed);
        reach.relay(relayAddress, true);
        const port = options.dialbackPort?.();
        if (port !== undefined) {
          void listener.dialback(port).then((ok) => {
            if (ok !== undefined) reach.dialback(`relay:${hostKey(target.host)}`, ok);
          });
        }
      }
      return listener;
    },
  };
}

/** Connects to the relay from an explicitly bound local port (so a punch can reuse it: SO_REUSEADDR). */
async function open(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<FrameTap> {
  for (let tries = 0; ; tries++) {
    try {
      const socket = await connectFrom(host, port, randomInt(20_000, 60_000), timeoutMs, signal);
      return new FrameTap(tcpConnectionFromSocket(socket, { outbound: true }));
    } catch (err) {
      // A random local port can clash with a socket already using it (EADDRINUSE), or with
      // one that already has the same four-tuple (EADDRNOTAVAIL): another port, then.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL") || tries >= 5) {
        throw new RelayError(RELAY_ERROR_CODES.TIMEOUT, `Could not reach the relay at ${host}:${port}: ${(err as Error).message}.`);
      }
    }
  }
}

function connectFrom(host: string, port: number, localPort: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localPort, noDelay: true, keepAlive: true });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new Error("aborted"));
    const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

/** Waits for the relay's answer of kind `t`; a refusal, junk, a close or silence reject. */
function answer<T extends RelayMessage["t"]>(tap: FrameTap, t: T, timeoutMs: number): Promise<Extract<RelayMessage, { t: T }>> {
  return new Promise((resolve, reject) => {
    const fail = (error: RelayError): void => {
      clearTimeout(timer);
      tap.release();
      void tap.connection.close();
      reject(error);
    };
    const timer = setTimeout(() => fail(new RelayError(RELAY_ERROR_CODES.TIMEOUT, `The relay did not answer within ${timeoutMs} ms.`)), timeoutMs);
    tap.take(
      (frame) => {
        const m = decodeRelayMessage(frame);
        if (m?.t === t) {
          clearTimeout(timer);
          tap.release();
          resolve(m as Extract<RelayMessage, { t: T }>);
        } else if (m?.t === "refused") fail(new RelayError(RELAY_ERROR_CODES.REFUSED, `The relay refused: ${m.reason}.`, { reason: m.reason }));
        else fail(new RelayError(RELAY_ERROR_CODES.PROTOCOL, `The relay sent something other than "${t}".`));
      },
      () => fail(new RelayError(RELAY_ERROR_CODES.REFUSED, "The relay closed the connection.")),
    );
  });
}

function send(connection: Connection, message: ClientMessage): void {
  connection.send(encodeControl(message)).catch(() => {});
}
