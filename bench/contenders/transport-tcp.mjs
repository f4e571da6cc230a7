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
};

function peerOf(conn) {
  return { send: (payload) => conn.send(payload), close: () => conn.close() };
}
