import { ERROR_TEXTS, badArgumentError, valuesMessage, type XppgError } from "@xppg/errors";
import { ConnectionCore, type ConnectionLink, type LinkController } from "./adapter/connection-core.js";
import { dialWithDeadline } from "./adapter/dial.js";
import { checkInteger } from "./adapter/options.js";
import type { Connection } from "./connection.js";
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_SIZE, MAX_TIMER_MS } from "./constants.js";
import { badAddressError, connectionResetError, listenFailedError } from "./errors.js";
import type { ConnectionHandler, DialOptions, ListenOptions, Listener, Transport } from "./transport.js";

/** Options for {@link memoryTransport}. */
export interface MemoryTransportOptions {
  /**
   * Largest frame `send` accepts; a larger one rejects with `XPPG_ERR_FRAME_TOO_LARGE`.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
  /**
   * Bytes each direction buffers before `send` stays pending: frames in
   * flight plus frames waiting for a paused (or not yet reading) receiver.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * The host this transport's connections show the other end as
   * `remoteHost`: a stand-in for the machine's IP, so that tests of
   * per-host limits and bans can play several hosts (`"192.0.2.1"`).
   * @default a fresh name per transport (`"memory-1"`, `"memory-2"`, ...)
   */
  host?: string;
}

const ADDRESS_FORM = "memory://<name> (letters, digits, '.', '_', '~', '-'; up to 200 characters)";
const ADDRESS_RE = /^memory:\/\/([A-Za-z0-9._~-]{0,200})$/;
// Shared through the global symbol registry, so two installed copies of this
// package (or two transports made by the factory) reach each other.
const REGISTRY_KEY = Symbol.for("@xppg/transport/memory-registry");
const RESOLVED: Promise<void> = Promise.resolve();

interface Registry {
  listeners: Map<string, MemoryListener>;
  counter: number;
  /** Absent in a registry made by an older copy of this package. */
  hosts?: number;
}

function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (r === undefined) {
    r = { listeners: new Map(), counter: 0, hosts: 0 };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

function freshHost(): string {
  const r = registry();
  r.hosts = (r.hosts ?? 0) + 1;
  return `memory-${r.hosts}`;
}

function freshName(prefix: string): string {
  const r = registry();
  r.counter++;
  return `${prefix}-${r.counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Reads the name out of a `memory://name` address; `null` if the address is malformed. */
function parseName(address: string): string | null {
  if (typeof address !== "string") return null;
  const m = ADDRESS_RE.exec(address);
  return m === null ? null : m[1]!;
}

class MemoryListener implements Listener {
  readonly address: string;
  readonly port = undefined;
  readonly pendingConnections = 0;
  readonly name: string;
  /** The host of the transport that listens: what its dialers see as `remoteHost`. */
  readonly host: string;
  readonly onConnection: ConnectionHandler;
  #closed = false;

  constructor(name: string, host: string, onConnection: ConnectionHandler) {
    this.name = name;
    this.host = host;
    this.address = `memory://${name}`;
    this.onConnection = onConnection;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const r = registry();
      if (r.listeners.get(this.name) === this) r.listeners.delete(this.name);
    }
    return RESOLVED;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The socket code of one end of an in-memory connection; the other end is
 * {@link MemoryLink.peer}. Frames wait on "the wire" until a microtask
 * moves them into the peer's inbox, as a network would deliver them.
 */
class MemoryLink implements ConnectionLink {
  peer!: MemoryLink;
  readonly controller: LinkController;
  readonly #localAddress: string;
  readonly #highWaterMark: number;
  #wire: Uint8Array[] = [];
  #wireBytes = 0;
  #endQueued = false;
  #transferScheduled = false;

  constructor(controller: LinkController, localAddress: string, highWaterMark: number) {
    this.controller = controller;
    this.#localAddress = localAddress;
    this.#highWaterMark = highWaterMark;
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    // Copy: the caller may reuse its buffer as soon as send returns. `new Uint8Array(frame)` reads the frame's
    // own bytes (its `slice` may be a subclass's); `length` is the core's reading of their number.
    this.#wire.push(new Uint8Array(frame));
    this.#wireBytes += length;
    this.#scheduleTransfer();
    if (this.#buffered() < this.#highWaterMark) return RESOLVED;
    return this.controller.wait();
  }

  /** Our inbox drained below its high-water mark: the peer's senders may go on. */
  resumeReading(): void {
    this.peer.#checkWaiters();
  }

  end(): void {
    // Clean: what was sent goes first, then the end of stream.
    this.#endQueued = true;
    this.#scheduleTransfer();
  }

  abort(error: XppgError): void {
    this.#wire = [];
    this.#wireBytes = 0;
    this.controller.closed();
    const peer = this.peer;
    const reset = connectionResetError(this.#localAddress, error);
    queueMicrotask(() => peer.#remoteGone(reset));
  }

  destroy(): void {
    this.abort(connectionResetError(this.#localAddress));
  }

  #buffered(): number {
    return this.#wireBytes + this.peer.controller.queuedBytes;
  }

  #scheduleTransfer(): void {
    if (this.#transferScheduled) return;
    this.#transferScheduled = true;
    // Delivery is always asynchronous, as on a real network.
    queueMicrotask(() => this.#transfer());
  }

  #transfer(): void {
    this.#transferScheduled = false;
    const frames = this.#wire;
    this.#wire = [];
    this.#wireBytes = 0;
    const peer = this.peer;
    for (const frame of frames) peer.controller.frame(frame);
    if (this.#endQueued) {
      this.#endQueued = false;
      peer.#remoteGone(undefined);
      this.controller.closed();
    } else {
      this.#checkWaiters();
    }
  }

  #remoteGone(error: XppgError | undefined): void {
    this.#wire = [];
    this.#wireBytes = 0;
    this.#endQueued = false;
    this.controller.closed(error);
  }

  #checkWaiters(): void {
    if (!this.controller.waiting || this.#buffered() >= this.#highWaterMark) return;
    this.controller.release();
  }
}

/**
 * An in-memory transport for tests of the layers above a connection. It
 * behaves like a network one: ordered, asynchronous delivery, bounded
 * buffers with backpressure, `maxFrameSize`, close from either side, dial
 * errors. Addresses are `memory://<name>`; listening on `memory://` or
 * `memory://0` picks a fresh name (read it from `listener.address`).
 *
 * All memory transports in a process share one namespace of names.
 */
export function memoryTransport(options: MemoryTransportOptions = {}): Transport {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  checkInteger("memoryTransport", "maxFrameSize", maxFrameSize, 0, Number.MAX_SAFE_INTEGER);
  checkInteger("memoryTransport", "highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  const host = options.host ?? freshHost();
  if (typeof host !== "string" || host.length === 0 || host.length > 200) {
    throw badArgumentError(RangeError, "memoryTransport", "host", ERROR_TEXTS && ["a string of 1 to 200 characters", host, true]);
  }

  /** Two connected ends, each the other's peer. */
  function connect(listener: MemoryListener): { client: Connection; server: Connection } {
    const local = `memory://${freshName("dialer")}`;
    let clientLink!: MemoryLink;
    let serverLink!: MemoryLink;
    const base = { transport: "memory", maxFrameSize, highWaterMark };
    const client = new ConnectionCore(
      { ...base, localAddress: local, remoteAddress: listener.address, remoteHost: listener.host, outbound: true },
      (controller) => (clientLink = new MemoryLink(controller, local, highWaterMark)),
    );
    const server = new ConnectionCore(
      { ...base, localAddress: listener.address, remoteAddress: local, remoteHost: host, outbound: false },
      (controller) => (serverLink = new MemoryLink(controller, listener.address, highWaterMark)),
    );
    clientLink.peer = serverLink;
    serverLink.peer = clientLink;
    return { client, server };
  }

  return {
    name: "memory",
    maxFrameSize,
    canDial(address: string): boolean {
      const name = parseName(address);
      return name !== null && name !== "" && name !== "0";
    },
    async listen(address: string, onConnection: ConnectionHandler, listenOptions?: ListenOptions): Promise<Listener> {
      let name = parseName(address);
      if (name === null) throw badAddressError("memory", address, ADDRESS_FORM);
      if (typeof onConnection !== "function") throw badArgumentError(TypeError, "listen(address, onConnection)", "onConnection", ERROR_TEXTS && ["a function that takes each new connection", onConnection]);
      // Accepted for the interface; a memory listener hands every connection over at once.
      if (listenOptions?.maxPendingConnections !== undefined) {
        checkInteger("listen", "maxPendingConnections", listenOptions.maxPendingConnections, 1, Number.MAX_SAFE_INTEGER);
      }
      if (name === "" || name === "0") name = freshName("listener");
      const r = registry();
      if (r.listeners.has(name)) {
        throw listenFailedError(address, new Error(ERROR_TEXTS ? `the name "${name}" is already in use by another memory listener` : valuesMessage("", [name])));
      }
      const listener = new MemoryListener(name, host, onConnection);
      r.listeners.set(name, listener);
      return listener;
    },
    dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      const name = parseName(address);
      if (name === null || name === "" || name === "0") return Promise.reject(badAddressError("memory", address, ADDRESS_FORM));
      return dialWithDeadline(address, dialOptions, MAX_TIMER_MS, (attempt) => {
        let cancelled = false;
        // Connecting takes a turn of the event loop, as on a network.
        queueMicrotask(() => {
          if (cancelled) return;
          const listener = registry().listeners.get(name);
          if (listener === undefined) {
            attempt.failed(new Error(ERROR_TEXTS ? `no memory listener is named "${name}"` : valuesMessage("", [name])));
            return;
          }
          const { client, server } = connect(listener);
          // The listener hears of it asynchronously, as it would from a socket (an
          // exception in its handler is its own, not the dialler's), and first.
          queueMicrotask(() => listener.onConnection(server));
          attempt.connected(client);
        });
        return () => {
          cancelled = true;
        };
      });
    },
  };
}
