// xppg encrypted at the Connection level: secureConnection (Noise XX,
// ChaCha20-Poly1305, node:crypto) over tcpTransport(), both sides wrapping
// their end. No envelope, no Playground: what encryption alone costs.
import { tcpTransport } from "@xppg/transport-tcp";
import { NOISE_PROTOCOL_NAME, cryptoProviderName, generateIdentity, secureConnection } from "@xppg/secure";
import { closeAll, peerOf } from "./transport-tcp.mjs";

// One identity per process, made before any measurement: a long-lived node
// (its Noise static key is made and signed on the first handshake, then cached).
const IDENTITY = generateIdentity();

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "secure-tcp",
  label: "xppg secure-tcp",
  compareTo: "raw-tcp",
  alsoCompareTo: ["raw-tls"],
  targets: [{ issue: "security", phase: "setup", maxMedianMs: 15 }],
  notes: [`secureConnection(conn, { identity }) over tcpTransport() on both sides, defaults (${NOISE_PROTOCOL_NAME}, crypto provider "${cryptoProviderName}", 1 MiB maxFrameSize and highWaterMark)`],

  async listen({ host, onMessage }) {
    let resolveConnected;
    let rejectConnected;
    const connected = new Promise((resolve, reject) => {
      resolveConnected = resolve;
      rejectConnected = reject;
    });
    const listener = await tcpTransport().listen(`tcp://${host}:0`, (conn) => {
      secureConnection(conn, { identity: IDENTITY }).then((secure) => {
        secure.read({ frame: onMessage });
        resolveConnected(peerOf(secure));
      }, rejectConnected);
    });
    return { port: listener.port, connected, close: () => listener.close() };
  },

  async dial({ host, port, onMessage }) {
    const secure = await secureConnection(await tcpTransport().dial(`tcp://${host}:${port}`), { identity: IDENTITY });
    secure.read({ frame: onMessage });
    return peerOf(secure);
  },

  // Setup phase: TCP connect and the Noise XX handshake (3 messages, the client's finish after message 3).
  async setupServer({ host }) {
    const conns = new Set();
    const listener = await tcpTransport().listen(`tcp://${host}:0`, (conn) => {
      conns.add(conn);
      void conn.closed.then(() => conns.delete(conn));
      secureConnection(conn, { identity: IDENTITY }).then(
        (secure) => secure.read({ frame() {} }),
        () => {}, // a client that went away mid-handshake: nothing to count here
      );
    });
    return { port: listener.port, close: () => closeAll(listener, conns) };
  },

  async setupClient() {
    let secure = null;
    return {
      async connect({ host, port }) {
        secure = await secureConnection(await tcpTransport().dial(`tcp://${host}:${port}`), { identity: IDENTITY });
      },
      close: async () => secure?.close(),
    };
  },
};
