// RAW: a node:net socket with a 4-byte big-endian length prefix, the
// unencrypted ceiling every xppg contender is compared with. The framing and
// batching policy live in raw-peer.mjs, shared with the encrypted twin raw-tls.
import { createConnection, createServer } from "node:net";
import { once } from "node:events";
import { closeServer, RAW_FRAMING_NOTE, RawPeer, trackSocket } from "./raw-peer.mjs";

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "raw-tcp",
  label: "RAW node:net",
  compareTo: null,
  notes: [RAW_FRAMING_NOTE],

  async listen({ host, onMessage }) {
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const server = createServer({ noDelay: true }, (socket) => {
      server.close(); // one peer per run
      resolveConnected(new RawPeer(socket, onMessage));
    });
    server.listen({ host, port: 0 });
    await once(server, "listening");
    return { port: server.address().port, connected, close: async () => server.close() };
  },

  async dial({ host, port, onMessage }) {
    const socket = createConnection({ host, port, noDelay: true });
    await once(socket, "connect");
    return new RawPeer(socket, onMessage);
  },

  // Setup phase: a plain TCP connect (SYN, SYN-ACK; the client's "connect").
  async setupServer({ host }) {
    const sockets = new Set();
    const server = createServer({ noDelay: true }, (socket) => trackSocket(sockets, socket));
    server.listen({ host, port: 0, backlog: 511 });
    await once(server, "listening");
    return { port: server.address().port, close: () => closeServer(server, sockets) };
  },

  async setupClient() {
    let socket = null;
    return {
      async connect({ host, port }) {
        socket = createConnection({ host, port, noDelay: true });
        await once(socket, "connect");
      },
      close: async () => socket?.destroy(),
    };
  },
};
