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
  } as Transport & { server: Identity; client: Identity; handshakeErrors: unknown[] };
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
