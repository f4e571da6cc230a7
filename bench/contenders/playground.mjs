// xppg full stack: Playground over TCP (handshake done, envelope encoding,
// dispatch to a pg.on handler). The per-peer rate limit is turned off, since
// the bench floods on purpose; every other limit keeps its default.
import { Playground } from "@xppg/node";
import { tcpTransport } from "@xppg/transport-tcp";

const APP = "xppg-bench";
const KIND = "bench";
/** The bench floods on purpose: the message rate limit is OFF (printed with the results). */
const LIMITS = { messagesPerSecond: Infinity };

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "playground",
  label: "xppg Playground",
  compareTo: "raw-tcp",
  notes: [
    "Playground over tcpTransport(): limits.messagesPerSecond = Infinity (the rate limit is OFF for this bench), other limits default",
    `payloads travel as a Uint8Array in a "${KIND}" message sent with { to: peerId }`,
  ],

  async listen({ host, onMessage }) {
    const pg = await startNode(host, onMessage);
    const connected = new Promise((resolve) => {
      pg.events.on("peer:joined", (peer) => resolve(peerOf(pg, peer.peerId)));
    });
    return { port: pg.port, connected, close: () => pg.stop() };
  },

  async dial({ host, port, onMessage }) {
    const pg = await startNode(host, onMessage);
    const peer = await pg.join(host, port);
    return peerOf(pg, peer.peerId);
  },
};

async function startNode(host, onMessage) {
  const pg = new Playground(APP, { host, port: 0, transports: [tcpTransport()], limits: LIMITS });
  pg.on(KIND, (_src, _kind, payload) => onMessage(payload));
  pg.events.on("error", (error) => process.stderr.write(`\n[playground] ${error.code}: ${error.message}\n`));
  await pg.start();
  return pg;
}

function peerOf(pg, peerId) {
  const to = { to: peerId };
  return { send: (payload) => pg.send(KIND, payload, to), close: () => pg.stop() };
}
