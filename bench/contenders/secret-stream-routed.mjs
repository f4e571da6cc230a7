// The ceiling anchor for routed unicast (issue 9): the best known design on
// the same path, measured in the same run. Four processes, A - R1 - R2 - B,
// node:net between them, @hyperswarm/secret-stream on each link (each relay
// opens every message and seals it again for the next link) and an end to
// end secret-stream from A to B inside the links, as libp2p's circuit relay
// or a Tor-like chain carries a secure channel over per-link ones. Per byte,
// each process does two crypto passes (A and B: the end to end one and their
// link's; R1 and R2: open one link, seal the next), eight in all against two
// on a direct link: on two shared cores the ceiling is about a quarter of the
// direct rate, on a core per process about half.
import { createConnection, createServer } from "node:net";
import { once } from "node:events";
import SecretStream from "@hyperswarm/secret-stream";
import { startChain } from "./hop-chain.mjs";

const RESOLVED = Promise.resolve();
const KEY_PAIR = SecretStream.keyPair();

/** The receiver B: a server whose every connection is a link from R2 carrying one end to end channel. */
async function receiverEnd(host, onChannel) {
  const server = createServer({ noDelay: true }, (socket) => onChannel(open(false, open(false, socket))));
  server.listen({ host, port: 0, backlog: 511 });
  await once(server, "listening");
  const chain = await startChain("secret-stream", host, server.address().port).catch((error) => {
    server.close();
    throw error;
  });
  return { server, chain };
}

/** The sender A: a link to R1, and the end to end channel to B inside it; resolves once both handshakes are done. */
async function senderEnd(host, port, onMessage = () => {}) {
  const link = open(true, createConnection({ host, port, noDelay: true }));
  const channel = open(true, link);
  channel.on("data", onMessage);
  await once(channel, "connect");
  return channel;
}

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "secret-stream-routed",
  label: "secret-stream, 3 hops",
  compareTo: "secret-stream",
  alsoCompareTo: ["playground"],
  notes: [
    "the routed ceiling anchor: A - R1 - R2 - B in four processes (the relays forked by the receiver), secret-stream on each node:net link (opened and sealed again at each relay), an end to end secret-stream inside; eight crypto passes per byte against two direct",
  ],

  async listen({ host, onMessage }) {
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const { server, chain } = await receiverEnd(host, (channel) => {
      server.close(); // one peer per run
      channel.on("data", onMessage);
      channel.once("connect", () => resolveConnected({ ...peerOf(channel), hopCpuSeconds: chain.hopCpuSeconds }));
    });
    return { port: chain.port, connected, close: async () => { server.close(); await chain.close(); } };
  },

  async dial({ host, port, onMessage }) {
    return peerOf(await senderEnd(host, port, onMessage));
  },

  async setupServer({ host }) {
    const channels = new Set();
    const { server, chain } = await receiverEnd(host, (channel) => {
      channels.add(channel);
      channel.once("close", () => channels.delete(channel));
    });
    return {
      port: chain.port,
      close: async () => {
        for (const c of channels) c.destroy();
        await new Promise((resolve) => server.close(() => resolve()));
        await chain.close();
      },
    };
  },

  async setupClient() {
    let channel = null;
    return {
      async connect({ host, port }) {
        channel = await senderEnd(host, port);
      },
      close: async () => channel?.destroy(),
    };
  },
};

function open(isInitiator, raw) {
  const stream = new SecretStream(isInitiator, raw, { keyPair: KEY_PAIR });
  stream.on("error", () => {}); // the bench ends connections abruptly
  raw.on("error", () => {});
  return stream;
}

function peerOf(stream) {
  return {
    send(payload) {
      if (stream.write(payload)) return RESOLVED;
      return new Promise((resolve) => stream.once("drain", resolve));
    },
    close: async () => stream.destroy(),
  };
}
