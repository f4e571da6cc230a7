import type { Connection, ConnectionHandler, DialOptions, Listener, Transport } from "@xppg/transport";
import { generateIdentity, secureConnection, type Identity, type SecureConnection, type SecureConnectionOptions } from "../src/index.js";

export type SecureOptions = Omit<SecureConnectionOptions, "identity">;

/**
 * A transport whose listen and dial wrap every connection with
 * secureConnection: the shape the compliance suite and the tests use.
 */
export function secureTransport(
  inner: Transport,
  options: { server?: Identity; client?: Identity; serverOptions?: SecureOptions; clientOptions?: SecureOptions; maxFrameSize?: number } = {},
): Transport & { server: Identity; client: Identity; handshakeErrors: unknown[] } {
  const server = options.server ?? generateIdentity();
  const client = options.client ?? generateIdentity();
  const handshakeErrors: unknown[] = [];
  const maxFrameSize = options.maxFrameSize;
  const extra = maxFrameSize === undefined ? {} : { maxFrameSize };
  return {
    name: inner.name,
    maxFrameSize,
    server,
    client,
    handshakeErrors,
    canDial: (address) => inner.canDial(address),
    listen(address: string, onConnection: ConnectionHandler): Promise<Listener> {
      return inner.listen(address, (conn) => {
        secureConnection(conn, { identity: server, ...extra, ...options.serverOptions }).then(onConnection, (err: unknown) => handshakeErrors.push(err));
      });
    },
    async dial(address: string, dialOptions?: DialOptions): Promise<Connection> {
      const conn = await inner.dial(address, dialOptions);
      return secureConnection(conn, { identity: client, ...extra, ...options.clientOptions });
    },
  };
}

/** Resolves with a connected pair of secure connections over `transport`. */
export async function securePair(
  transport: Transport,
  listenAddress: string,
  serverOptions: SecureConnectionOptions,
  clientOptions: SecureConnectionOptions,
): Promise<{ server: SecureConnection; client: SecureConnection; listener: Listener }> {
  let accept!: (c: SecureConnection) => void;
  let refuse!: (e: unknown) => void;
  const accepted = new Promise<SecureConnection>((res, rej) => {
    accept = res;
    refuse = rej;
  });
  const listener = await transport.listen(listenAddress, (conn) => {
    secureConnection(conn, serverOptions).then(accept, refuse);
  });
  const raw = await transport.dial(listener.address);
  const client = await secureConnection(raw, clientOptions);
  const server = await accepted;
  return { server, client, listener };
}

import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { encodeHandshakePayload } from "../src/handshake-payload.js";
import { HandshakeState, type HandshakeResult } from "../src/noise/handshake-state.js";
import { within } from "@xppg/transport/compliance";

/** Frames received on a raw connection, with waits. */
export class RawInbox {
  readonly frames: Uint8Array[] = [];
  #waiters: Array<{ n: number; resolve: () => void }> = [];
  constructor(conn: Connection) {
    conn.read({
      frame: (f) => {
        this.frames.push(f.slice());
        this.#waiters = this.#waiters.filter((w) => (this.frames.length >= w.n ? (w.resolve(), false) : true));
      },
    });
  }
  async next(index: number): Promise<Uint8Array> {
    if (this.frames.length <= index) await within(new Promise<void>((resolve) => this.#waiters.push({ n: index + 1, resolve })), `raw frame ${index}`);
    return this.frames[index]!;
  }
}

/**
 * Plays the Noise handshake by hand on a raw connection (a well-behaved
 * peer at the handshake level), so a test can then send arbitrary records.
 */
export async function rawHandshake(conn: Connection, identity: Identity): Promise<{ session: HandshakeResult; inbox: RawInbox }> {
  const inbox = new RawInbox(conn);
  const staticKeyPair = nodeCryptoProvider.x25519Generate();
  const hs = new HandshakeState(nodeCryptoProvider, { initiator: conn.outbound, staticKeyPair });
  const payload = encodeHandshakePayload(identity, staticKeyPair.publicKey);
  if (conn.outbound) {
    await conn.send(await hs.writeMessage(new Uint8Array(0)));
    await hs.readMessage(await inbox.next(0));
    await conn.send(await hs.writeMessage(payload));
  } else {
    await hs.readMessage(await inbox.next(0));
    await conn.send(await hs.writeMessage(payload));
    await hs.readMessage(await inbox.next(1));
  }
  return { session: await hs.split(), inbox };
}

/** The length-prefixed plaintext of some frames, as a record carries it. */
export function plaintextOf(...frames: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += 4 + f.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    view.setUint32(at, f.byteLength);
    out.set(f, at + 4);
    at += 4 + f.byteLength;
  }
  return out;
}

/** A promise that settles with the code of the error `promise` rejects with (or "resolved"). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).name);
  }
}

/**
 * `conn`, stating a `maxFrameSize` of `limit`: a Proxy over a real
 * connection, so a test can state a limit the handshake's messages would
 * exceed (the record layer reads it after the handshake), or one no
 * transport of this project would take (too small, no integer).
 */
export function statingLimit(conn: Connection, limit: number): Connection {
  return new Proxy(conn, {
    get(target, key) {
      if (key === "maxFrameSize") return limit;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Reads `conn`'s frames into `got` (copies); `received(n)` resolves once `n` have arrived, within the suite's deadline. */
export function collectFrames(conn: Connection): { got: Uint8Array[]; received: (n: number) => Promise<void> } {
  const got: Uint8Array[] = [];
  let arrived: () => void = () => {};
  conn.read({
    frame: (f) => {
      got.push(f.slice());
      arrived();
    },
  });
  const received = (n: number): Promise<void> =>
    within(
      new Promise<void>((resolve) => {
        arrived = () => {
          if (got.length >= n) resolve();
        };
        arrived();
      }),
      `${n} frames`,
    );
  return { got, received };
}

/** Bytes 0, 1, 2, ... (mod 251) from `seed`: a frame whose every byte is checked at the other end. */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed + i) % 251;
  return bytes;
}
