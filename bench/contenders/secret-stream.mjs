// The encrypted anchor: @hyperswarm/secret-stream (the secret channel of
// Hyperswarm: a Noise XX handshake, then libsodium's secretstream
// XChaCha20-Poly1305 through sodium-native) over a node:net socket, as
// Hyperswarm uses it. Its stream is message-framed: each write is one
// encrypted message and each "data" event one whole message. `send`
// resolves at once while the stream takes writes, otherwise on its "drain"
// (the stream's own high-water mark, its default).
import { createConnection, createServer } from "node:net";
import { once } from "node:events";
import { createRequire } from "node:module";
import SecretStream from "@hyperswarm/secret-stream";

const RESOLVED = Promise.resolve();
const require = createRequire(import.meta.url);
const VERSION = require("@hyperswarm/secret-stream/package.json").version;

// One key pair per process, made before any measurement (as a long-lived Hyperswarm node keeps one).
const KEY_PAIR = SecretStream.keyPair();

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "secret-stream",
  label: "secret-stream",
  compareTo: "raw-tcp",
  notes: [`@hyperswarm/secret-stream ${VERSION} over node:net (noDelay), defaults; one key pair per process; send awaits "drain" when write() returns false`],

  async listen({ host, onMessage }) {
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const server = createServer({ noDelay: true }, (socket) => {
      server.close(); // one peer per run
      const stream = open(false, socket, onMessage);
      stream.once("connect", () => resolveConnected(peerOf(stream)));
    });
    server.listen({ host, port: 0 });
    await once(server, "listening");
    return { port: server.address().port, connected, close: async () => server.close() };
  },

  async dial({ host, port, onMessage }) {
    const stream = open(true, createConnection({ host, port, noDelay: true }), onMessage);
    await once(stream, "connect");
    return peerOf(stream);
  },

  // Setup phase: TCP connect and the Noise XX handshake (the client's "connect" event).
  async setupServer({ host }) {
    const streams = new Set();
    const server = createServer({ noDelay: true }, (socket) => {
      const stream = open(false, socket, () => {});
      streams.add(stream);
      stream.once("close", () => streams.delete(stream));
    });
    server.listen({ host, port: 0, backlog: 511 });
    await once(server, "listening");
    return {
      port: server.address().port,
      close: async () => {
        for (const s of streams) s.destroy();
        await new Promise((resolve) => server.close(() => resolve()));
      },
    };
  },

  async setupClient() {
    let stream = null;
    return {
      async connect({ host, port }) {
        stream = open(true, createConnection({ host, port, noDelay: true }), () => {});
        await once(stream, "connect");
      },
      close: async () => stream?.destroy(),
    };
  },
};

function open(isInitiator, socket, onMessage) {
  const stream = new SecretStream(isInitiator, socket, { keyPair: KEY_PAIR });
  stream.on("data", onMessage);
  stream.on("error", () => {}); // the bench ends connections abruptly
  socket.on("error", () => {});
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
