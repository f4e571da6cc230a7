// RAW: a node:net socket with a 4-byte big-endian length prefix, the ceiling
// every xppg contender is compared with. It does what a good hand-written
// implementation does and nothing more: the frames of one event-loop tick go
// out in one socket.write, frames that lie inside one received chunk are
// handed out as views (no copy), and `send` honours backpressure with the
// same contract as an xppg Connection (resolves at once below the high-water
// mark, later otherwise). No limits, no validation: that is what it saves.
import { createConnection, createServer } from "node:net";
import { once } from "node:events";

/** Same high-water mark as @xppg/transport-tcp's default, so the send policy is identical. */
const HIGH_WATER_MARK = 1024 * 1024;
const HEADER = 4;
const RESOLVED = Promise.resolve();
/** Payloads this large are written by reference (writev), not copied into the tick's buffer. */
const BY_REFERENCE = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "raw-tcp",
  label: "RAW node:net",
  compareTo: null,
  notes: ["4-byte length prefix; the frames of one tick leave in one write (small ones copied into one buffer, payloads >= 16 KiB by reference in the same writev); HWM 1 MiB"],

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
};

class RawPeer {
  #socket;
  #pending = [];
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
    this.#pending.push(payload);
    this.#pendingBytes += HEADER + payload.byteLength;
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

  // One write per tick: small frames are copied into one buffer; a large
  // payload is not copied but goes out by reference in the same writev.
  #flush = () => {
    this.#scheduled = false;
    const socket = this.#socket;
    const pending = this.#pending;
    this.#pending = [];
    const bytes = this.#pendingBytes;
    this.#pendingBytes = 0;
    if (socket.destroyed) return;
    let large = 0;
    for (const p of pending) if (p.byteLength >= BY_REFERENCE) large += p.byteLength;
    const out = Buffer.allocUnsafe(bytes - large);
    let at = 0;
    if (large === 0) {
      for (const p of pending) {
        out.writeUInt32BE(p.byteLength, at);
        out.set(p, at + HEADER);
        at += HEADER + p.byteLength;
      }
      socket.write(out, this.#afterWrite);
    } else {
      socket.cork();
      let from = 0;
      for (const p of pending) {
        out.writeUInt32BE(p.byteLength, at);
        at += HEADER;
        if (p.byteLength >= BY_REFERENCE) {
          socket.write(out.subarray(from, at));
          socket.write(p);
          from = at;
        } else {
          out.set(p, at);
          at += p.byteLength;
        }
      }
      if (at > from) socket.write(out.subarray(from, at));
      socket.write(EMPTY, this.#afterWrite);
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
