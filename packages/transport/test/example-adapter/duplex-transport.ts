// An example transport adapter: its own socket code over a node:stream
// Duplex pair, and everything else from @xppg/transport/adapter. It passes
// the compliance suite (../example-adapter.test.ts).
import type { Duplex } from "node:stream";
import type { XppgError } from "@xppg/errors";
import type { Connection, ConnectionHandler, DialOptions, Listener, Transport } from "@xppg/transport";
import {
  ConnectionCore,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_SIZE,
  badAddressError,
  checkInteger,
  connectionResetError,
  dialWithDeadline,
  listenFailedError,
  type ConnectionLink,
  type LinkController,
} from "@xppg/transport/adapter";
import { duplexPair } from "./duplex-pair.js";

const ADDRESS_RE = /^duplex:\/\/([a-z0-9-]{1,64})$/;
const RESOLVED: Promise<void> = Promise.resolve();
const listeners = new Map<string, DuplexListener>();
let names = 0;

/** The socket code: one end of a Duplex pair, one chunk per frame. */
class DuplexLink implements ConnectionLink {
  #buffered = 0;

  constructor(
    readonly stream: Duplex,
    readonly controller: LinkController,
    readonly options: { remoteAddress: string; highWaterMark: number },
  ) {
    // What the stream already holds (the peer wrote before this side made its connection) is handed over at once,
    // while the connection is still being made, as a link over a socket that read ahead of it does.
    for (let frame: Uint8Array | null; (frame = stream.read() as Uint8Array | null) !== null; ) controller.frame(frame);
    stream.on("data", (frame: Uint8Array) => controller.frame(frame));
    stream.on("end", () => {
      controller.ended();
      stream.end();
    });
    stream.on("error", (err: Error) => controller.error(connectionResetError(options.remoteAddress, err)));
    stream.on("close", () => controller.closed());
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    // A plain copy of the frame's bytes, `length` of them (the core's reading): the frame's own `slice`,
    // `length` or `byteLength` may lie, and a stream's write reads them.
    const copy = new Uint8Array(frame);
    this.#buffered += length;
    this.stream.write(copy, () => {
      this.#buffered -= length;
      if (this.#buffered < this.options.highWaterMark) this.controller.release();
    });
    return this.#buffered < this.options.highWaterMark ? RESOLVED : this.controller.wait();
  }

  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    this.stream.resume();
  }

  end(): void {
    this.stream.end();
    this.stream.resume();
  }

  abort(error: XppgError): void {
    this.stream.destroy(error);
  }

  destroy(): void {
    this.stream.destroy();
  }
}

class DuplexListener implements Listener {
  readonly port = undefined;
  readonly pendingConnections = 0;
  constructor(
    readonly address: string,
    readonly host: string,
    readonly onConnection: ConnectionHandler,
  ) {}

  async close(): Promise<void> {
    if (listeners.get(this.address) === this) listeners.delete(this.address);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A connection over one end of a Duplex pair (see `duplexPair`). */
export function duplexConnection(
  stream: Duplex,
  options: { localAddress: string; remoteAddress: string; remoteHost: string; outbound: boolean; maxFrameSize: number; highWaterMark: number; maxHeldBytes?: number },
): Connection {
  const { remoteAddress, highWaterMark } = options;
  return new ConnectionCore({ transport: "duplex", ...options, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS }, (controller) => new DuplexLink(stream, controller, { remoteAddress, highWaterMark }));
}

/** An in-process transport over Duplex pairs; addresses are `duplex://<name>`. */
export function duplexTransport(options: { maxFrameSize?: number; highWaterMark?: number; host?: string } = {}): Transport {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  checkInteger("duplexTransport", "maxFrameSize", maxFrameSize, 0, Number.MAX_SAFE_INTEGER);
  checkInteger("duplexTransport", "highWaterMark", highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  const host = options.host ?? `duplex-host-${++names}`;

  const wrap = (stream: Duplex, local: string, remote: string, remoteHost: string, outbound: boolean): Connection =>
    duplexConnection(stream, { localAddress: local, remoteAddress: remote, remoteHost, outbound, maxFrameSize, highWaterMark });

  return {
    name: "duplex",
    maxFrameSize,
    canDial: (address) => ADDRESS_RE.test(address) && address !== "duplex://0",
    async listen(address: string, onConnection: ConnectionHandler): Promise<Listener> {
      const match = ADDRESS_RE.exec(address);
      if (match === null) throw badAddressError("duplex", address, "duplex://<name>");
      const name = match[1] === "0" ? `listener-${++names}` : match[1]!;
      const bound = `duplex://${name}`;
      if (listeners.has(bound)) throw listenFailedError(address, new Error("the name is taken"));
      const listener = new DuplexListener(bound, host, onConnection);
      listeners.set(bound, listener);
      return listener;
    },
    dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      if (!ADDRESS_RE.test(address) || address === "duplex://0") return Promise.reject(badAddressError("duplex", address, "duplex://<name>"));
      return dialWithDeadline(address, dialOptions, 10_000, (attempt) => {
        const timer = setTimeout(() => {
          const listener = listeners.get(address);
          if (listener === undefined) return attempt.failed(new Error("nobody listens there"));
          const [mine, theirs] = duplexPair();
          const local = `duplex://dialer-${++names}`;
          listener.onConnection(wrap(theirs, address, local, host, false));
          attempt.connected(wrap(mine, local, address, listener.host, true));
        }, 0);
        return () => clearTimeout(timer);
      });
    },
  };
}
