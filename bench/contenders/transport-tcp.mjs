// xppg at the Connection level: tcpTransport().listen/dial, conn.send, conn.read.
import { tcpTransport } from "@xppg/transport-tcp";

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "transport-tcp",
  label: "xppg transport-tcp",
  compareTo: "raw-tcp",
  notes: ["tcpTransport() with its defaults (1 MiB maxFrameSize and highWaterMark, noDelay)"],

  async listen({ host, onMessage }) {
    const transport = tcpTransport();
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const listener = await transport.listen(`tcp://${host}:0`, (conn) => {
      conn.read({ frame: onMessage });
      resolveConnected(peerOf(conn));
    });
    return { port: listener.port, connected, close: () => listener.close() };
  },

  async dial({ host, port, onMessage }) {
    const conn = await tcpTransport().dial(`tcp://${host}:${port}`);
    conn.read({ frame: onMessage });
    return peerOf(conn);
  },

  // Setup phase: a tcpTransport dial (TCP connect, no handshake of its own).
  async setupServer({ host }) {
    const conns = new Set();
    const listener = await tcpTransport().listen(`tcp://${host}:0`, (conn) => {
      conns.add(conn);
      conn.read({ frame() {}, close: () => conns.delete(conn) });
    });
    return { port: listener.port, close: () => closeAll(listener, conns) };
  },

  async setupClient() {
    let conn = null;
    return {
      async connect({ host, port }) {
        conn = await tcpTransport().dial(`tcp://${host}:${port}`);
      },
      close: async () => conn?.close(),
    };
  },
};

/** Closes the listener and whatever connections are still open (bounded by the caller's exit timeout). */
export async function closeAll(listener, conns) {
  await Promise.all([...conns].map((c) => c.close().catch(() => {})));
  await listener.close();
}

/** A bench peer over any xppg Connection. */
export function peerOf(conn) {
  return { send: (payload) => conn.send(payload), close: () => conn.close() };
}
