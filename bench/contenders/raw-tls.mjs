// RAW, encrypted: node:tls over loopback with exactly raw-tcp's framing and
// batching (raw-peer.mjs): the encrypted ceiling. TLS 1.3 only, with one
// AEAD suite (ChaCha20-Poly1305 by default, the AEAD of @xppg/secure's
// Noise_XX_25519_ChaChaPoly_SHA256; `--tlssuite=TLS_AES_128_GCM_SHA256` or
// `TLS_AES_256_GCM_SHA384` for AES-GCM; node:tls takes TLS 1.3 suites in `ciphers`). The certificate is a throwaway
// self-signed ECDSA P-256 one made with the openssl command line at bench
// start; the client verifies it (as its only CA) and the address it names.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer } from "node:tls";
import { closeServer, RAW_FRAMING_NOTE, RawPeer, trackSocket } from "./raw-peer.mjs";

const DEFAULT_SUITE = "TLS_CHACHA20_POLY1305_SHA256";
const SUITES = ["TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"];
const OPENSSL_TIMEOUT_MS = 10_000;
const HOST = "127.0.0.1";

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "raw-tls",
  label: "RAW node:tls",
  compareTo: "raw-tcp",
  notes: [`${RAW_FRAMING_NOTE}; over node:tls, TLS 1.3 only, self-signed ECDSA P-256 certificate verified by the client, no session resumption`],

  /**
   * Runs once in the parent before any measurement: makes the certificate
   * and checks that the suite is what a loopback handshake negotiates.
   * Returns the options every listen/dial/serve/connect gets, or `{ skip }`.
   */
  async prepare({ args }) {
    const suite = args.tlssuite ?? DEFAULT_SUITE;
    if (!SUITES.includes(suite)) throw new Error(`--tlssuite must be one of ${SUITES.join(", ")}, got ${suite}`);
    const cert = makeCertificate();
    if (cert.skip !== undefined) return { skip: cert.skip };
    const options = { cert: cert.cert, key: cert.key, suite };
    const negotiated = await probe(options);
    return { options, notes: [`negotiated ${negotiated.version} ${negotiated.standardName} (${cert.openssl}; certificate made at bench start, its temp dir already removed)`] };
  },

  async listen({ host, onMessage, options }) {
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const server = createServer(serverOptions(options), (socket) => {
      server.close(); // one peer per run
      socket.setNoDelay(true);
      resolveConnected(new RawPeer(socket, onMessage));
    });
    server.on("tlsClientError", () => {});
    server.listen({ host, port: 0 });
    await once(server, "listening");
    return { port: server.address().port, connected, close: async () => server.close() };
  },

  async dial({ host, port, onMessage, options }) {
    const socket = await handshake(host, port, options);
    return new RawPeer(socket, onMessage);
  },

  // Setup phase: TCP connect and the full TLS 1.3 handshake (the client's "secureConnect").
  async setupServer({ host, options }) {
    const sockets = new Set();
    const server = createServer(serverOptions(options), (socket) => trackSocket(sockets, socket));
    server.on("tlsClientError", () => {});
    server.listen({ host, port: 0, backlog: 511 });
    await once(server, "listening");
    return { port: server.address().port, close: () => closeServer(server, sockets) };
  },

  async setupClient({ options }) {
    let socket = null;
    return {
      async connect({ host, port }) {
        socket = await handshake(host, port, options);
      },
      close: async () => socket?.destroy(),
    };
  },
};

function serverOptions({ cert, key, suite }) {
  return { cert, key, minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: suite, noDelay: true };
}

async function handshake(host, port, { cert, suite }) {
  // servername is for SNI only; the certificate is checked against `host`, an IP in its subjectAltName.
  const socket = tlsConnect({ host, port, ca: cert, minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: suite, servername: "localhost" });
  socket.on("error", () => {}); // the bench ends connections abruptly
  await once(socket, "secureConnect");
  socket.setNoDelay(true);
  return socket;
}

/** One handshake in this process: the suite that is actually negotiated. */
async function probe(options) {
  const server = await contender.setupServer({ host: HOST, options });
  try {
    const socket = await handshake(HOST, server.port, options);
    const cipher = socket.getCipher();
    socket.destroy();
    return { version: cipher.version, standardName: cipher.standardName ?? cipher.name };
  } finally {
    await server.close();
  }
}

/** A throwaway self-signed certificate from the openssl command line, or `{ skip }` if there is none. */
function makeCertificate() {
  let openssl;
  try {
    openssl = execFileSync("openssl", ["version"], { encoding: "utf8", timeout: OPENSSL_TIMEOUT_MS }).trim().split(" ").slice(0, 2).join(" ");
  } catch {
    return { skip: "the openssl command is not installed (Debian: apt-get install openssl), so no certificate can be made" };
  }
  const dir = mkdtempSync(join(tmpdir(), "xppg-bench-tls-"));
  try {
    const keyFile = join(dir, "key.pem");
    const certFile = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", keyFile, "-out", certFile],
      { stdio: ["ignore", "ignore", "pipe"], timeout: OPENSSL_TIMEOUT_MS },
    );
    return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), openssl };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
