// A hand-driven xppg peer for the abuse bench: the real protocol
// (packages/node/INTERNALS.md) built from the public packages, so an attack
// can send what a Playground never would (a version jump, a repeated id, a
// frame past the limit) and stop reading when it likes.
import { EnvelopeCodec } from "@xppg/framing";
import { PROTOCOL_VERSION } from "@xppg/node";
import { secureConnection } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";

const BROADCAST_SIGNATURE_PREFIX = new TextEncoder().encode("xppg-broadcast-v1:");
/** Broadcast ids carry their time: ms since the epoch times this, plus a counter (packages/node/src/message-id.ts). */
const IDS_PER_MS = 1024;

function joinParts(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Dials a Playground and completes both handshakes. Resolves with a peer
 * object; `peer.closed` resolves with the code that ended the link.
 * @param {{ port: number, app: string, encrypted: boolean, identity: import("@xppg/secure").Identity,
 *   maxFrameSize?: number, onMessage?: (envelope: object) => void, waitOpen?: boolean }} options
 */
export async function rawPeer(options) {
  const maxFrameSize = options.maxFrameSize ?? 1024 * 1024;
  const transport = tcpTransport({ maxFrameSize, closeTimeoutMs: 500 });
  let conn = await transport.dial(`tcp://127.0.0.1:${options.port}`, { timeoutMs: 5000 });
  if (options.encrypted) {
    try {
      conn = await secureConnection(conn, { identity: options.identity, maxFrameSize, handshakeTimeoutMs: 5000 });
    } catch (error) {
      void conn.close();
      throw error;
    }
  }
  const myId = options.identity.peerId;
  const codec = new EnvelopeCodec({ maxSize: maxFrameSize - 4, maxPayloadDepth: 64 });
  let nextId = 1 + Math.floor(Math.random() * 1e9);
  let lastBroadcastId = 0;
  /** A fresh broadcast id, as a node makes them: the time, strictly increasing. */
  const nextBroadcastId = () => {
    const fromClock = Date.now() * IDS_PER_MS;
    lastBroadcastId = fromClock > lastBroadcastId ? fromClock : lastBroadcastId + 1;
    return lastBroadcastId;
  };
  let remoteId = null;
  let gotWelcome = false;
  let byeCode = null;
  let resolveOpen;
  let rejectOpen;
  const open = new Promise((resolve, reject) => {
    resolveOpen = resolve;
    rejectOpen = reject;
  });
  open.catch(() => {});
  const peer = {
    id: myId,
    conn,
    bytesIn: 0,
    framesIn: 0,
    /** Frames this peer could not decode (they would hide what the victim sent). */
    undecodable: 0,
    get remoteId() {
      return remoteId;
    },
    /** The bye code the victim sent, or the close error's code, or "closed". */
    closed: conn.closed.then((info) => byeCode ?? info.error?.code ?? "closed"),
    get isClosed() {
      return conn.isClosed;
    },
    nextId: () => nextId++,
    /** Encodes one envelope (direct when `to` is given, else an unsigned broadcast). */
    envelope(kind, payload, { to = remoteId, id = nextId++ } = {}) {
      return codec.encode({ version: 1, kind, source: myId, destination: to, id, hopLimit: 0, payload });
    },
    /** Encodes a broadcast signed by `identity` (default: this peer's); its id carries the time, as a node's do. */
    signed(kind, payload, { id = nextBroadcastId(), identity = options.identity } = {}) {
      const env = { version: 1, kind, source: identity.peerId, destination: null, id, hopLimit: 0, payload };
      return codec.encodeSigned(env, (b) => identity.sign(joinParts(BROADCAST_SIGNATURE_PREFIX, b)));
    },
    /** Sends encoded envelopes as one bundle (one frame). */
    sendBundle(encoded) {
      let size = 0;
      for (const e of encoded) size += 4 + e.length;
      const frame = new Uint8Array(size);
      const view = new DataView(frame.buffer);
      let at = 0;
      for (const e of encoded) {
        view.setUint32(at, e.length);
        frame.set(e, at + 4);
        at += 4 + e.length;
      }
      return conn.send(frame).catch(() => {});
    },
    send(kind, payload, opts) {
      return peer.sendBundle([peer.envelope(kind, payload, opts)]);
    },
    close() {
      return conn.close().catch(() => {});
    },
  };
  conn.read({
    frame(data) {
      peer.bytesIn += data.length;
      peer.framesIn++;
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = 0;
      while (at + 4 <= data.length) {
        const len = view.getUint32(at);
        let env;
        try {
          // Once open, the victim leaves out the two ids it knows we know (INTERNALS.md, flags 0x08 and 0x10).
          env = codec.decode(data, at + 4, at + 4 + len, remoteId === null ? undefined : { local: myId, remote: remoteId });
        } catch {
          peer.undecodable++;
          return;
        }
        at += 4 + len;
        onEnvelope(env);
      }
    },
  });
  function onEnvelope(env) {
    if (env.kind === "xppg/hello") {
      remoteId = env.payload.peerId;
      void peer.send("xppg/welcome", null);
    } else if (env.kind === "xppg/welcome") {
      gotWelcome = true;
    } else if (env.kind === "xppg/bye") {
      byeCode = env.payload?.code ?? "bye";
      rejectOpen(new Error(`refused: ${byeCode}`));
    } else if (env.kind === "xppg/ping") {
      void peer.send("xppg/pong", null);
    }
    if (remoteId !== null && gotWelcome) resolveOpen();
    options.onMessage?.(env);
  }
  void peer.closed.then((code) => rejectOpen(new Error(`closed during the handshake: ${code}`)));
  void peer.sendBundle([codec.encode({ version: 1, kind: "xppg/hello", source: myId, destination: null, id: nextId++, hopLimit: 0, payload: { app: options.app, protocol: PROTOCOL_VERSION, peerId: myId, listen: [], agent: "abuse-bench" } })]);
  if (options.waitOpen !== false) await withTimeout(open, 6000, "the xppg handshake");
  peer.open = open;
  return peer;
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
