import type { XppgError } from "@xppg/errors";
import type { CloseInfo, Connection, FrameSink } from "./connection.js";
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_SIZE } from "./constants.js";
import {
  abortedError,
  badAddressError,
  connectionClosedError,
  connectionResetError,
  dialFailedError,
  frameTooLargeError,
  listenFailedError,
} from "./errors.js";
import { FrameInbox } from "./frame-inbox.js";
import { sendJoined } from "./parts.js";
import { SendWaiters } from "./send-waiters.js";
import type { ConnectionHandler, DialOptions, Listener, Transport } from "./transport.js";

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
}

function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (r === undefined) {
    r = { listeners: new Map(), counter: 0 };
    g[REGISTRY_KEY] = r;
  }
  return r;
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
  readonly name: string;
  readonly onConnection: ConnectionHandler;
  #closed = false;

  constructor(name: string, onConnection: ConnectionHandler) {
    this.name = name;
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
}

/** One end of an in-memory connection; the other end is {@link MemoryConnection.peer}. */
class MemoryConnection implements Connection {
  readonly transport = "memory";
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly outbound: boolean;
  readonly closed: Promise<CloseInfo>;
  peer!: MemoryConnection;
  readonly #maxFrameSize: number;
  readonly #highWaterMark: number;
  readonly #inbox: FrameInbox;
  #resolveClosed!: (info: CloseInfo) => void;
  #isClosed = false;
  #wire: Uint8Array[] = [];
  #wireBytes = 0;
  #endQueued = false;
  #transferScheduled = false;
  readonly #waiters = new SendWaiters();

  constructor(local: string, remote: string, outbound: boolean, options: Required<MemoryTransportOptions>) {
    this.localAddress = local;
    this.remoteAddress = remote;
    this.outbound = outbound;
    this.#maxFrameSize = options.maxFrameSize;
    this.#highWaterMark = options.highWaterMark;
    // The peer's pending sends wait on this inbox: wake them when it drains.
    this.#inbox = new FrameInbox({
      highWaterMark: options.highWaterMark,
      onFlowChange: (stop) => {
        if (!stop) this.peer.#checkWaiters();
      },
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  read(sink: FrameSink): void {
    this.#inbox.read(sink);
  }

  pause(): void {
    this.#inbox.pause();
  }

  resume(): void {
    this.#inbox.resume();
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(connectionClosedError(this.remoteAddress));
    if (!(frame instanceof Uint8Array)) return Promise.reject(new TypeError("send() takes a Uint8Array frame"));
    if (frame.byteLength > this.#maxFrameSize) {
      return Promise.reject(frameTooLargeError(frame.byteLength, this.#maxFrameSize, "sent"));
    }
    // Copy: the caller may reuse its buffer as soon as send returns.
    this.#wire.push(frame.slice());
    this.#wireBytes += frame.byteLength;
    this.#scheduleTransfer();
    if (this.#buffered() < this.#highWaterMark) return RESOLVED;
    return this.#waiters.wait();
  }

  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    return sendJoined(this, parts);
  }

  close(error?: XppgError): Promise<void> {
    if (this.#isClosed) return this.closed.then(() => undefined);
    this.#isClosed = true;
    if (error === undefined) {
      // Clean: what was sent goes first, then the end of stream.
      this.#endQueued = true;
      this.#scheduleTransfer();
      this.#inbox.end({ initiator: "local" }, true);
      this.#waiters.settle({ initiator: "local" }, this.remoteAddress);
    } else {
      this.#wire = [];
      this.#wireBytes = 0;
      const info: CloseInfo = { initiator: "local", error };
      this.#inbox.end(info, true);
      this.#waiters.settle(info, this.remoteAddress);
      this.#resolveClosed(info);
      const peer = this.peer;
      queueMicrotask(() => peer.#remoteEnded(connectionResetError(this.localAddress, error)));
    }
    return this.closed.then(() => undefined);
  }

  #buffered(): number {
    return this.#wireBytes + this.peer.#inbox.queuedBytes;
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
    for (const frame of frames) peer.#receive(frame);
    if (this.#endQueued) {
      this.#endQueued = false;
      peer.#remoteEnded(undefined);
      this.#resolveClosed({ initiator: "local" });
    } else {
      this.#checkWaiters();
    }
  }

  #receive(frame: Uint8Array): void {
    if (this.#isClosed) return;
    this.#inbox.push(frame);
  }

  #remoteEnded(error: XppgError | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#wire = [];
    this.#wireBytes = 0;
    this.#endQueued = false;
    const info: CloseInfo = error === undefined ? { initiator: "remote" } : { initiator: "remote", error };
    this.#inbox.end(info);
    this.#waiters.settle(info, this.remoteAddress);
    this.#resolveClosed(info);
  }

  #checkWaiters(): void {
    if (this.#waiters.empty || this.#isClosed) return;
    if (this.#buffered() >= this.#highWaterMark) return;
    this.#waiters.release();
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
  const resolved: Required<MemoryTransportOptions> = {
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
  };
  checkPositiveInteger("maxFrameSize", resolved.maxFrameSize, 0);
  checkPositiveInteger("highWaterMark", resolved.highWaterMark, 1);

  return {
    name: "memory",
    maxFrameSize: resolved.maxFrameSize,
    canDial(address: string): boolean {
      const name = parseName(address);
      return name !== null && name !== "" && name !== "0";
    },
    async listen(address: string, onConnection: ConnectionHandler): Promise<Listener> {
      let name = parseName(address);
      if (name === null) throw badAddressError("memory", address, ADDRESS_FORM);
      if (typeof onConnection !== "function") throw new TypeError("listen() needs an onConnection function");
      if (name === "" || name === "0") name = freshName("listener");
      const r = registry();
      if (r.listeners.has(name)) {
        throw listenFailedError(address, new Error(`the name "${name}" is already in use by another memory listener`));
      }
      const listener = new MemoryListener(name, onConnection);
      r.listeners.set(name, listener);
      return listener;
    },
    async dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
      const name = parseName(address);
      if (name === null || name === "" || name === "0") throw badAddressError("memory", address, ADDRESS_FORM);
      const signal = dialOptions.signal;
      if (isAborted(signal)) throw abortedError(address, signal?.reason);
      // Connecting takes a turn of the event loop, as on a network.
      await Promise.resolve();
      if (isAborted(signal)) throw abortedError(address, signal?.reason);
      const listener = registry().listeners.get(name);
      if (listener === undefined) throw dialFailedError(address, new Error(`no memory listener is named "${name}"`));
      const local = `memory://${freshName("dialer")}`;
      const client = new MemoryConnection(local, listener.address, true, resolved);
      const server = new MemoryConnection(listener.address, local, false, resolved);
      client.peer = server;
      server.peer = client;
      // The listener hears of it asynchronously, as it would from a socket: an
      // exception in its handler is its own, not the dialler's.
      queueMicrotask(() => listener.onConnection(server));
      return client;
    },
  };
}

function checkPositiveInteger(option: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`memoryTransport: ${option} must be an integer of at least ${min}, got ${String(value)}.`);
  }
}

// A function, not an inline test: TypeScript would narrow `aborted` to false
// after the first check and miss that an await can change it.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
