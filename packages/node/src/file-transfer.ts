import { now as nowMs } from "@xppg/errors";
import type { Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
// The one file-name helper, shared with the swarm; its module loads nothing else of `@xppg/files` (issue 15).
import { safeFileName } from "@xppg/files/safe-name";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { KIND_FILE_ABORT, KIND_FILE_CHUNK, KIND_FILE_END, KIND_FILE_OFFER, isRecord } from "./protocol.js";
import type { PeerSession } from "./peer-session.js";

// node:crypto at the first file sent or received, not with the node: a first connection needs none (about 3 to
// 4 ms of CPU to load in a fresh process, issue 15).
const randomBytes = (size: number): Buffer => process.getBuiltinModule("node:crypto").randomBytes(size);
const createHash = (algorithm: string): Hash => process.getBuiltinModule("node:crypto").createHash(algorithm);
// node:fs and its promises at the first file too, as Node's own objects: an ES module import of node:fs reads each
// of its exports, which loads fs/promises and the file streams into every node (its resident set, issue 15).
const files = (): typeof import("node:fs/promises") => process.getBuiltinModule("node:fs/promises");
// node:path as Node's own object too: an ES module import of a built-in is a module more in every node's load.
const paths = (): typeof import("node:path") => process.getBuiltinModule("node:path");

/** A file that arrived completely and matched its checksum. */
export interface ReceivedFile {
  /** The file name the sender gave, made safe for this file system. */
  name: string;
  size: number;
  /** Hex SHA-256 of the content, checked against the sender's. */
  sha256: string;
  /** Where it was written. */
  path: string;
}

/** What `shareFile` resolves with. */
export interface SharedFile {
  name: string;
  size: number;
  sha256: string;
  /** Peers the whole file was sent to. */
  peers: string[];
}

/** Payload chunk size: large enough for disk and socket efficiency, well under the frame limit. */
const CHUNK_SIZE = 64 * 1024;
/** Room for the envelope and chunk fields around the data. */
const CHUNK_OVERHEAD = 512;
/** Unwritten bytes held per connection before reading from it pauses. */
const WRITE_PAUSE_BYTES = 8 * 1024 * 1024;
const WRITE_RESUME_BYTES = 2 * 1024 * 1024;
const TRANSFER_ID = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

interface Incoming {
  key: string;
  /** The transfer id the sender chose. */
  t: string;
  session: PeerSession;
  name: string;
  size: number;
  received: number;
  nextSeq: number;
  tmpPath: string;
  handle: Promise<FileHandle>;
  hash: Hash;
  /** Every write, in order; a failure short-circuits the rest. */
  chain: Promise<void>;
  failed: boolean;
  /** When the offer or the last chunk arrived (`now()` of @xppg/errors). */
  lastActivity: number;
  /** All data arrived and checked; the file is being closed and moved into place (still counts against the per-peer limit). */
  finishing: boolean;
  /** Settles when a finishing transfer is in place (or failed). */
  done?: Promise<void>;
}

interface Outgoing {
  sessions: Set<PeerSession>;
  refusals: Map<PeerSession, string>;
}

/** What the file module needs from the node. */
export interface FileHost {
  readonly downloadDir: string;
  readonly maxFrameSize: number;
  readonly maxFileSize: number;
  readonly maxIncomingPerPeer: number;
  /** An incoming transfer with nothing received for this long is cancelled. */
  readonly idleTimeoutMs: number;
  acceptFile(offer: { from: string; name: string; size: number }): boolean;
  delivered(from: string, file: ReceivedFile): void;
  failed(error: PlaygroundError, from: string): void;
  /** A connection's reading was paused or resumed for disk back-pressure. */
  setPaused(session: PeerSession, paused: boolean): void;
}

/**
 * Streams files between peers: offer, numbered chunks, end with SHA-256.
 * The receiver writes to a hidden temporary file and renames it only once
 * the size and checksum match, so a failed transfer never leaves a partial
 * file under the final name; memory stays bounded by back-pressure on both
 * sides.
 */
export class FileTransfers {
  readonly #host: FileHost;
  readonly #incoming = new Map<string, Incoming>();
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #pendingWriteBytes = new Map<PeerSession, number>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: FileHost) {
    this.#host = host;
  }

  /**
   * Sends the file at `path` to every session given; resolves when all of it
   * has been handed to the transports. An aborted `signal` stops it: the
   * receivers get an abort and discard what they got.
   */
  async send(path: string, sessions: PeerSession[], signal?: AbortSignal): Promise<SharedFile> {
    let info;
    try {
      info = await files().stat(path);
    } catch (cause) {
      throw new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `Cannot read "${path}": ${(cause as Error).message}. Check the path.`, { cause });
    }
    if (!info.isFile()) {
      throw new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `"${path}" is not a regular file; shareFile sends one file at a time.`);
    }
    const name = paths().basename(path);
    const size = info.size;
    const t = randomBytes(16).toString("hex");
    const out: Outgoing = { sessions: new Set(sessions), refusals: new Map() };
    this.#outgoing.set(t, out);
    const chunkSize = Math.max(1, Math.min(CHUNK_SIZE, this.#host.maxFrameSize - CHUNK_OVERHEAD));
    const hash = createHash("sha256");
    try {
      for (const s of out.sessions) void s.sendMessage(KIND_FILE_OFFER, { t, name, size });
      let seq = 0;
      let sent = 0;
      const stream = process.getBuiltinModule("node:fs").createReadStream(path, { highWaterMark: chunkSize });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        sent += chunk.byteLength;
        if (sent > size) break;
        const live = this.#live(out);
        // Every receiver refused or left: stop reading. (With no peers at all the file is
        // still read to the end for its checksum, and `send` resolves with no peers.)
        if (live.length === 0 && sessions.length > 0) {
          stream.destroy();
          throw noPeerReceived(name, out);
        }
        if (signal?.aborted) {
          stream.destroy();
          for (const s of live) void s.sendMessage(KIND_FILE_ABORT, { t, reason: "the sender cancelled it" });
          throw new PlaygroundError(NODE_ERROR_CODES.ABORTED, `shareFile() was aborted by its signal; "${name}" was not sent completely.`, { cause: signal.reason });
        }
        const data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        await Promise.all(live.map((s) => s.sendMessage(KIND_FILE_CHUNK, { t, seq, data })));
        seq++;
      }
      // Read to the end (or past the size): a different count means the file changed.
      if (sent !== size) {
        for (const s of this.#live(out)) void s.sendMessage(KIND_FILE_ABORT, { t, reason: "the file changed while it was being sent" });
        throw new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `"${path}" changed size while it was being sent (${size} bytes expected, ${sent} read). Send it again.`);
      }
      const sha256 = hash.digest("hex");
      const live = this.#live(out);
      await Promise.all(live.map((s) => s.sendMessage(KIND_FILE_END, { t, size, sha256 })));
      const done = this.#live(out).filter((s) => s.isOpen);
      if (done.length === 0 && sessions.length > 0) throw noPeerReceived(name, out);
      return { name, size, sha256, peers: done.map((s) => s.peerId!) };
    } finally {
      this.#outgoing.delete(t);
    }
  }

  #live(out: Outgoing): PeerSession[] {
    return [...out.sessions].filter((s) => s.isOpen && !out.refusals.has(s));
  }

  /** Handles a file control message; throws a typed error for a malformed one (the peer is dropped). */
  handle(session: PeerSession, kind: string, payload: unknown): void {
    switch (kind) {
      case KIND_FILE_OFFER:
        return this.#onOffer(session, payload);
      case KIND_FILE_CHUNK:
        return this.#onChunk(session, payload);
      case KIND_FILE_END:
        return this.#onEnd(session, payload);
      case KIND_FILE_ABORT:
        return this.#onAbort(session, payload);
    }
  }

  #onOffer(session: PeerSession, payload: unknown): void {
    if (!isRecord(payload)) throw bad("file offer", "not an object");
    const { t, name, size } = payload;
    if (typeof t !== "string" || !TRANSFER_ID.test(t)) throw bad("file offer", "invalid transfer id");
    if (typeof name !== "string" || name.length === 0 || name.length > 255) throw bad("file offer", "invalid name");
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad("file offer", "invalid size");
    const from = session.peerId!;
    const key = `${from}/${t}`;
    if (this.#incoming.has(key)) throw bad("file offer", "transfer id reused");
    const refuse = (reason: string): void => {
      void session.sendMessage(KIND_FILE_ABORT, { t, reason });
      this.#host.failed(new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `Refused "${name}" from ${from}: ${reason}.`), from);
    };
    if (size > this.#host.maxFileSize) return refuse(`it is ${size} bytes, over this node's maxFileSize of ${this.#host.maxFileSize}`);
    let active = 0;
    for (const inc of this.#incoming.values()) if (inc.session === session) active++;
    if (active >= this.#host.maxIncomingPerPeer) return refuse(`${active} transfers from this peer are already running`);
    const safeName = safeFileName(name);
    let accepted: boolean;
    try {
      accepted = this.#host.acceptFile({ from, name: safeName, size });
    } catch {
      accepted = false;
    }
    if (!accepted) return refuse("the receiver declined it");
    const dir = this.#host.downloadDir;
    // A local random name: a peer cannot pick (or collide with) another transfer's file.
    const tmpPath = paths().join(dir, `.xppg-${randomBytes(12).toString("hex")}.part`);
    // 'wx': never follow or overwrite an existing file; 0o600: private until renamed.
    const handle = files().mkdir(dir, { recursive: true, mode: 0o700 }).then(() => files().open(tmpPath, "wx", 0o600));
    const inc: Incoming = { key, t, session, name: safeName, size, received: 0, nextSeq: 0, tmpPath, handle, hash: createHash("sha256"), chain: handle.then(() => {}), failed: false, lastActivity: nowMs(), finishing: false };
    // Every promise derived here has a handler: a failed mkdir or open must never become an unhandled rejection.
    handle.catch(() => {});
    inc.chain.catch((cause: unknown) => {
      void session.sendMessage(KIND_FILE_ABORT, { t, reason: "the receiver cannot store it" });
      this.#fail(inc, `it cannot be stored in ${dir}: ${(cause as Error).message}`, cause);
    });
    this.#incoming.set(key, inc);
    this.#armIdleCheck(this.#host.idleTimeoutMs);
  }

  /** One timer for all incoming transfers, armed only while there are some. */
  #armIdleCheck(inMs: number): void {
    const ms = this.#host.idleTimeoutMs;
    if (this.#idleTimer !== undefined || !(ms > 0 && Number.isFinite(ms))) return;
    this.#idleTimer = setTimeout(this.#checkIdle, inMs);
    this.#idleTimer.unref?.();
  }

  /**
   * Cancels the transfers that received nothing for `idleTimeoutMs` (issue
   * 16, item 11): a sender that stops midway but stays connected must not
   * hold a temporary file and a transfer slot forever. A transfer whose
   * reading is paused for the disk is not idle: we are the slow side.
   */
  readonly #checkIdle = (): void => {
    this.#idleTimer = undefined;
    const ms = this.#host.idleTimeoutMs;
    const now = nowMs();
    let next = ms;
    for (const inc of [...this.#incoming.values()]) {
      if (inc.finishing) continue;
      if (this.#pendingWriteBytes.has(inc.session)) inc.lastActivity = now;
      const idle = now - inc.lastActivity;
      if (idle < ms) {
        next = Math.min(next, ms - idle);
        continue;
      }
      void inc.session.sendMessage(KIND_FILE_ABORT, { t: inc.t, reason: `nothing arrived for ${ms} ms` });
      this.#fail(inc, `nothing arrived for ${Math.round(idle)} ms (limits.fileIdleTimeoutMs is ${ms}); the partial file is deleted`);
    }
    if (this.#incoming.size > 0) this.#armIdleCheck(Math.max(1, next));
  };

  #onChunk(session: PeerSession, payload: unknown): void {
    if (!isRecord(payload)) throw bad("file chunk", "not an object");
    const { t, seq, data: view } = payload;
    if (typeof t !== "string" || !(view instanceof Uint8Array) || typeof seq !== "number") throw bad("file chunk", "missing fields");
    const inc = this.#incoming.get(`${session.peerId}/${t}`);
    // A chunk of a transfer we refused or failed may still be in flight: ignore it
    // (a failed transfer leaves the map at once).
    if (inc === undefined) return;
    if (inc.finishing) throw bad("file chunk", "data after the end");
    if (seq !== inc.nextSeq) throw bad("file chunk", `chunk ${seq} came when ${inc.nextSeq} was due`);
    if (inc.received + view.byteLength > inc.size) throw bad("file chunk", "more data than the offered size");
    // A decoded chunk is a view into its whole received frame. Waiting for the disk, a small
    // view would pin a large frame while counting only its own bytes: keep a copy instead, so
    // the pending-bytes limit (which pauses reading) bounds the memory really held.
    const data = view.byteLength * 2 < view.buffer.byteLength ? view.slice() : view;
    inc.nextSeq++;
    inc.lastActivity = nowMs();
    inc.received += data.byteLength;
    inc.hash.update(data);
    this.#adjustPending(session, data.byteLength);
    inc.chain = inc.chain.then(async () => {
      if (inc.failed) return;
      const fh = await inc.handle;
      await fh.write(data);
    });
    inc.chain
      .catch((cause) => this.#fail(inc, `writing it failed: ${(cause as Error).message}`, cause))
      .finally(() => this.#adjustPending(session, -data.byteLength));
  }

  #adjustPending(session: PeerSession, delta: number): void {
    const before = this.#pendingWriteBytes.get(session) ?? 0;
    const after = before + delta;
    if (after <= 0) this.#pendingWriteBytes.delete(session);
    else this.#pendingWriteBytes.set(session, after);
    if (before < WRITE_PAUSE_BYTES && after >= WRITE_PAUSE_BYTES) this.#host.setPaused(session, true);
    else if (before >= WRITE_RESUME_BYTES && after < WRITE_RESUME_BYTES) this.#host.setPaused(session, false);
  }

  #onEnd(session: PeerSession, payload: unknown): void {
    if (!isRecord(payload)) throw bad("file end", "not an object");
    const { t, sha256, size } = payload;
    if (typeof t !== "string" || typeof sha256 !== "string" || !SHA256_HEX.test(sha256) || typeof size !== "number") throw bad("file end", "missing fields");
    const inc = this.#incoming.get(`${session.peerId}/${t}`);
    if (inc === undefined) return;
    if (inc.finishing) throw bad("file end", "a second end");
    inc.finishing = true;
    const digest = inc.hash.digest("hex");
    if (inc.received !== inc.size || size !== inc.size) {
      this.#fail(inc, `${inc.received} bytes arrived of the ${inc.size} offered`);
      return;
    }
    if (digest !== sha256) {
      this.#fail(inc, "its SHA-256 does not match the sender's (the data was corrupted)");
      return;
    }
    const from = session.peerId!;
    inc.done = (async () => {
      try {
        await inc.chain;
        const fh = await inc.handle;
        await fh.close();
        // Loaded here, with a received file: a node that gets none does not load `@xppg/files` (issue 15).
        const { placeUnique } = await import("@xppg/files");
        const path = await placeUnique(inc.tmpPath, this.#host.downloadDir, inc.name);
        // Delivered only if the node was not stopped (and the entry dropped) meanwhile.
        if (this.#incoming.delete(inc.key)) this.#host.delivered(from, { name: inc.name, size: inc.size, sha256: digest, path });
      } catch (cause) {
        this.#fail(inc, `saving it failed: ${(cause as Error).message}`, cause);
      }
    })();
  }

  #onAbort(session: PeerSession, payload: unknown): void {
    if (!isRecord(payload) || typeof payload.t !== "string") throw bad("file abort", "missing transfer id");
    const reason = typeof payload.reason === "string" ? payload.reason.slice(0, 300) : "no reason given";
    const out = this.#outgoing.get(payload.t);
    if (out !== undefined && out.sessions.has(session)) {
      out.refusals.set(session, `${session.peerId} refused it (${reason})`);
      return;
    }
    const inc = this.#incoming.get(`${session.peerId}/${payload.t}`);
    if (inc !== undefined) this.#fail(inc, `the sender cancelled it (${reason})`);
  }

  #fail(inc: Incoming, why: string, cause?: unknown): void {
    if (inc.failed) return;
    inc.failed = true;
    this.#incoming.delete(inc.key);
    void this.#discard(inc);
    const from = inc.session.peerId ?? "?";
    this.#host.failed(
      new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `Receiving "${inc.name}" from ${from} failed: ${why}. No file was saved.`, cause === undefined ? undefined : { cause }),
      from,
    );
  }

  async #discard(inc: Incoming): Promise<void> {
    inc.failed = true;
    await inc.chain.catch(() => {});
    try {
      const fh = await inc.handle;
      await fh.close().catch(() => {});
    } catch {
      // never opened
    }
    await files().unlink(inc.tmpPath).catch(() => {});
  }

  /** Drops the transfers of a session that ended, deleting their partial files. */
  async sessionEnded(session: PeerSession): Promise<void> {
    this.#pendingWriteBytes.delete(session);
    // A transfer that is finishing has all its data, checked: it completes even though the sender left.
    const mine = [...this.#incoming.values()].filter((i) => i.session === session && !i.finishing);
    for (const inc of mine) this.#incoming.delete(inc.key);
    await Promise.all(mine.map((i) => this.#discard(i)));
  }

  /** Drops every incoming transfer (the node stops). */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const all = [...this.#incoming.values()];
    const finishing = all.filter((i) => i.finishing).map((i) => i.done);
    const partial = all.filter((i) => !i.finishing);
    for (const inc of partial) this.#incoming.delete(inc.key);
    // Complete files land before the node reports it stopped; partial ones are deleted.
    await Promise.all([...partial.map((i) => this.#discard(i)), ...finishing]);
  }
}

/** Every receiver of an outgoing transfer refused it or left. */
function noPeerReceived(name: string, out: Outgoing): PlaygroundError {
  const reasons = [...out.refusals.values()];
  return new PlaygroundError(
    NODE_ERROR_CODES.FILE_TRANSFER_FAILED,
    `No peer received "${name}": ${reasons.length > 0 ? reasons.join("; ") : "the peers left during the transfer"}.`,
  );
}

function bad(what: string, why: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer sent a malformed ${what} (${why}). It is disconnected.`);
}
