// The hand-written framing both RAW contenders share (raw-tcp over node:net,
// raw-tls over node:tls): a 4-byte big-endian length prefix; the frames of
// one event-loop tick go out in one socket.write, frames that lie inside one
// received chunk are handed out as views (no copy), and `send` honours
// backpressure with the same contract as an xppg Connection (resolves at once
// below the high-water mark, later otherwise). No limits, no validation: that
// is what it saves. Not a contender itself (not listed in index.mjs).

import { once } from "node:events";
import { createServer } from "node:net";

/** Same high-water mark as @xppg/transport-tcp's default, so the send policy is identical. */
const HIGH_WATER_MARK = 1024 * 1024;
const HEADER = 4;
const RESOLVED = Promise.resolve();
/** Payloads this large are written by reference (writev), not copied into the tick's buffer. */
const BY_REFERENCE = 16 * 1024;
/** Size of the buffers small frames are copied into (the rest of one is used by the next tick). */
const BATCH_BYTES = 256 * 1024;

/** The batching policy, printed under the table. */
export const RAW_FRAMING_NOTE = "4-byte length prefix; the frames of one tick leave in one write (small ones copied into a 256 KiB batch buffer as they are sent, payloads >= 16 KiB by reference in the same writev); HWM 1 MiB";

/** A framed peer over a connected node:net or node:tls socket. */
export class RawPeer {
  #socket;
  /** Bytes of this tick: small frames are copied in at once; large payloads are kept by reference. */
  #parts = [];
  #batch = Buffer.allocUnsafe(BATCH_BYTES);
  #batchStart = 0;
  #batchEnd = 0;
  #pendingBytes = 0;
  #scheduled = false;
  #waiters = [];

  constructor(socket, onMessage) {
    this.#socket = socket;
    socket.on("data", frameReader(onMessage));
    socket.on("drain", () => this.#wake());
    socket.on("error", () => {}); // the bench ends connections abruptly
  }

  send(payload) {
    const length = payload.byteLength;
    const large = length >= BY_REFERENCE;
    const need = large ? HEADER : HEADER + length;
    if (this.#batch.length - this.#batchEnd < need) this.#newBatch(need);
    const b = this.#batch;
    const at = this.#batchEnd;
    b[at] = length >>> 24;
    b[at + 1] = (length >>> 16) & 0xff;
    b[at + 2] = (length >>> 8) & 0xff;
    b[at + 3] = length & 0xff;
    if (large) {
      this.#batchEnd = at + HEADER;
      this.#cut();
      this.#parts.push(payload);
    } else {
      b.set(payload, at + HEADER);
      this.#batchEnd = at + need;
    }
    this.#pendingBytes += HEADER + length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
    if (this.#socket.writableLength + this.#pendingBytes < HIGH_WATER_MARK) return RESOLVED;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close() {
    this.#socket.destroy();
  }

  /** Ends the current run of copied bytes as one part. */
  #cut() {
    if (this.#batchEnd > this.#batchStart) this.#parts.push(this.#batch.subarray(this.#batchStart, this.#batchEnd));
    this.#batchStart = this.#batchEnd;
  }

  #newBatch(need) {
    this.#cut();
    this.#batch = Buffer.allocUnsafe(Math.max(need, BATCH_BYTES));
    this.#batchStart = 0;
    this.#batchEnd = 0;
  }

  // One write per tick (a writev when large payloads ride by reference).
  #flush = () => {
    this.#scheduled = false;
    this.#cut();
    const parts = this.#parts;
    this.#parts = [];
    this.#pendingBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || parts.length === 0) return;
    if (parts.length === 1) socket.write(parts[0], this.#afterWrite);
    else {
      socket.cork();
      for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i]);
      socket.write(parts.at(-1), this.#afterWrite);
      socket.uncork();
    }
    this.#wake();
  };

  #afterWrite = () => this.#wake();

  #wake() {
    if (this.#waiters.length === 0 || this.#socket.writableLength + this.#pendingBytes >= HIGH_WATER_MARK) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** A minimal incremental length-prefix reader: views for whole frames, one copy for split ones. */
function frameReader(onMessage) {
  const header = Buffer.alloc(HEADER);
  let headerFill = 0;
  let body = null;
  let bodyFill = 0;
  return (chunk) => {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (body !== null) {
        const take = Math.min(body.length - bodyFill, end - pos);
        chunk.copy(body, bodyFill, pos, pos + take);
        bodyFill += take;
        pos += take;
        if (bodyFill === body.length) {
          const whole = body;
          body = null;
          onMessage(whole);
        }
        continue;
      }
      let length;
      if (headerFill === 0 && end - pos >= HEADER) {
        length = chunk.readUInt32BE(pos);
        pos += HEADER;
      } else {
        while (headerFill < HEADER && pos < end) header[headerFill++] = chunk[pos++];
        if (headerFill < HEADER) return;
        length = header.readUInt32BE(0);
        headerFill = 0;
      }
      if (end - pos >= length) {
        onMessage(chunk.subarray(pos, pos + length));
        pos += length;
      } else {
        body = Buffer.allocUnsafe(length);
        bodyFill = 0;
      }
    }
  };
}

/** A receiver on loopback for the bench tools that feed it frames: a RawPeer per connection, each frame to `onMessage`; `stop` ends them all. */
export async function listenRawReceiver(onMessage) {
  const sockets = new Set();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    new RawPeer(socket, onMessage);
  });
  server.listen({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const stop = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise((closed) => server.close(closed));
  };
  return { port: server.address().port, stop };
}

// Setup phase helpers: a server that accepts many connections and reads nothing.

/** Keeps a server-side socket until it closes; errors of abrupt client closes are expected. */
export function trackSocket(sockets, socket) {
  sockets.add(socket);
  socket.on("error", () => {});
  socket.on("end", () => socket.destroy());
  socket.once("close", () => sockets.delete(socket));
  socket.resume(); // nothing is read in the setup phase: drain whatever comes
}

export async function closeServer(server, sockets) {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(() => resolve()));
}
