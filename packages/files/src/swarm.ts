/**
 * The files room of a node: what it shares, what it downloads, and the
 * messages between them and the neighbours (capability `files/2`).
 */

import { FileContent, type Content } from "./content.js";
import { FILES_ERROR_CODES, FilesError, invalidArgument, violation } from "./errors.js";
import type { FilesHost } from "./host.js";
import { CONTENT_ID, buildManifest, chunkLength } from "./manifest.js";
import { MANIFEST_PIECE_BYTES, MESSAGE_OVERHEAD } from "./constants.js";
import { Download, type DownloadResult } from "./download.js";
import { PartialFile } from "./partial-file.js";
import type { DownloadProgress } from "./progress.js";
import { RequestPacer } from "./pacer.js";
import { Pushes, type PushReceiver, type PushResult } from "./push.js";
import type { PushProgress } from "./push-progress.js";
import { Uploader } from "./uploader.js";
import { MSG, decodeMessage, encodeBare, encodeBitfield, encodeHave, encodeManifest } from "./wire.js";

/** Options of a {@link FileSwarm}. */
export interface FileSwarmOptions {
  /**
   * Largest content this node downloads (a manifest announcing more is refused before anything is written).
   * @default 4 GiB
   */
  maxFileSize?: number;
  /**
   * Upload rate of all neighbours together, bytes a second.
   * @default Infinity (no limit)
   */
  uploadBytesPerSecond?: number;
  /**
   * A download fails with `XPPG_ERR_FILES_NOT_FOUND` when, for this long, no neighbour has anything it lacks.
   * @default 30000
   */
  findTimeoutMs?: number;
  /**
   * The shortest deadline of a chunk request (longer for a source measured slow); a request past it is fetched elsewhere.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /**
   * Most chunk requests in flight to one neighbour (a fast one; slow ones get fewer).
   * @default 16
   */
  maxInFlightPerPeer?: number;
  /** How this node takes files pushed to it (`push`); without it every push is refused. */
  pushes?: PushReceiver;
  /**
   * Most bytes a second this node asks of one neighbour, all downloads
   * together (a token bucket of one second's worth). Set it under the bytes
   * a second the host lets a neighbour send (`@xppg/node` sets 90% of its
   * `limits.bytesPerSecond`), so that a fast source is never dropped for
   * sending what it was asked.
   * @default Infinity (no pacing)
   */
  requestBytesPerSecond?: number;
}

/** What `share` resolves with. */
export interface SharedContent {
  /** The content id: give it to others (it is all they need to `download`). */
  contentId: string;
  name: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  path: string;
}

/** Options of `download`. */
export interface DownloadOptions {
  /** The folder the file goes to (created if missing); its partial file and sidecar live there until the end. */
  dir: string;
  /** Stops the download; the verified part is kept for a later `download` to resume. */
  signal?: AbortSignal;
  /** Called with the progress at most every 200 ms, and once at the end. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called for each chunk verified and written, with the neighbour it came from (a map of pieces, a count per source). */
  onChunk?: (index: number, from: string) => void;
  /** Decides once the manifest is known, before anything is written: a sentence declines the download (`XPPG_ERR_FILES_REFUSED`). */
  accept?: (manifest: import("./manifest.js").Manifest) => string | undefined;
}

interface Served {
  content: Content;
  /** Neighbours in this content's swarm: they hear of each chunk this node gains. */
  interested: Set<string>;
  file?: FileContent;
}

const DEFAULTS = { maxFileSize: 4 * 1024 ** 3, uploadBytesPerSecond: Infinity, findTimeoutMs: 30_000, requestTimeoutMs: 5_000, maxInFlightPerPeer: 16, requestBytesPerSecond: Infinity };

/**
 * Shares files by content id and downloads them from every neighbour that
 * has them. Runs over any {@link FilesHost}; `@xppg/node`'s `pg.files` is one.
 */
export class FileSwarm {
  readonly #host: FilesHost;
  readonly #o: Required<Omit<FileSwarmOptions, "pushes">>;
  readonly #served = new Map<string, Served>();
  readonly #downloads = new Map<string, Download>();
  /** Neighbours that asked for a content this node is downloading but has no manifest of yet: told once it has. */
  readonly #early = new Map<string, Set<string>>();
  readonly #uploader: Uploader;
  readonly #pacer: RequestPacer;
  readonly #pushes: Pushes;
  /** Contents the user shared (a push's own share ends with the push). */
  readonly #userShared = new Set<string>();
  readonly #unlisten: () => void;
  #closed = false;

  constructor(host: FilesHost, options: FileSwarmOptions = {}) {
    this.#host = host;
    const o = options;
    this.#o = {
      maxFileSize: o.maxFileSize ?? DEFAULTS.maxFileSize,
      uploadBytesPerSecond: o.uploadBytesPerSecond ?? DEFAULTS.uploadBytesPerSecond,
      findTimeoutMs: o.findTimeoutMs ?? DEFAULTS.findTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxInFlightPerPeer: o.maxInFlightPerPeer ?? DEFAULTS.maxInFlightPerPeer,
      requestBytesPerSecond: o.requestBytesPerSecond ?? DEFAULTS.requestBytesPerSecond,
    };
    this.#pacer = new RequestPacer(this.#o.requestBytesPerSecond);
    this.#pushes = new Pushes(
      {
        send: (peer, bytes) => this.#send(peer, bytes),
        sendOrFail: (peer, bytes) => this.#host.send(peer, bytes),
        share: (path, signal, whole) => this.#share(path, { signal, whole }),
        release: async (cid) => {
          if (!this.#userShared.has(cid) && !this.#pushes.pushing(cid)) await this.#unshare(cid);
        },
        download: (cid, options) => this.download(cid, options),
      },
      o.pushes,
    );
    this.#uploader = new Uploader(host, (cid) => this.#served.get(cid)?.content, this.#o.uploadBytesPerSecond, (peer, cid, bytes) => this.#pushes.sent(peer, cid, bytes));
    this.#unlisten = host.listen({
      message: (peer, bytes) => this.#onMessage(peer, bytes),
      joined: (peer) => {
        for (const d of this.#downloads.values()) this.#send(peer, encodeBare(MSG.WANT, d.contentId));
      },
      left: (peer) => this.#left(peer),
    });
  }

  /** Bytes served to each neighbour so far. */
  get uploaded(): ReadonlyMap<string, number> {
    return this.#uploader.sent;
  }

  /**
   * Makes the file at `path` available: reads it once, a chunk at a time,
   * to build its manifest, and resolves with its content id. Neighbours
   * that ask for that id get it from this node until `unshare`.
   */
  async share(path: string, options: { signal?: AbortSignal } = {}): Promise<SharedContent> {
    const shared = await this.#share(path, { signal: options.signal });
    this.#userShared.add(shared.contentId);
    return shared;
  }

  /**
   * Shares the file at `path` and offers it to `peers` (a push): each
   * downloads it the swarm way (from this node and from every other that has
   * it) into the folder its `pushes` option names, and answers. Resolves once
   * every one of them holds it, refused it or left; aborting `signal` cancels
   * it at every receiver (they delete what they got). `onProgress` gets how
   * far the receivers are at most every 200 ms, and once at the end.
   */
  async push(path: string, peers: readonly string[], options: { signal?: AbortSignal; onProgress?: (progress: PushProgress) => void } = {}): Promise<PushResult> {
    if (typeof path !== "string" || path.length === 0) throw invalidArgument("files.push(path, peers)", "path must be a file's path", 'files.push("./photo.jpg", [peerId])');
    this.#assertOpen("push");
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw invalidArgument("files.push(path, peers, { onProgress })", "onProgress must be a function", "files.push(path, [peerId], { onProgress: (p) => console.log(p.bytesDone, p.total) })");
    return this.#pushes.push(path, peers, options.signal, options.onProgress);
  }

  async #share(path: string, options: { signal?: AbortSignal | undefined; whole?: import("node:crypto").Hash }): Promise<SharedContent> {
    if (typeof path !== "string" || path.length === 0) throw invalidArgument("files.share(path)", "path must be a file's path", 'files.share("./photo.jpg")');
    this.#assertOpen("share");
    const manifest = await buildManifest(path, { signal: options.signal, whole: options.whole });
    const file = await FileContent.open(manifest, path);
    if (this.#closed) {
      // Closed while the file was read: close() already let go of what it served, so this handle is ours to close.
      await file.close();
      throw closedError("share");
    }
    const old = this.#served.get(manifest.contentId);
    this.#served.set(manifest.contentId, { content: file, file, interested: old?.interested ?? new Set() });
    await old?.file?.close();
    this.#announce(manifest.contentId);
    return { contentId: manifest.contentId, name: manifest.name, size: manifest.size, chunkSize: manifest.chunkSize, chunkCount: manifest.chunkCount, path };
  }

  /** Stops serving a content id; returns false when it was not shared. */
  async unshare(contentId: string): Promise<boolean> {
    this.#userShared.delete(contentId);
    // A push still running keeps it served until it ends.
    if (this.#pushes.pushing(contentId)) return this.#served.get(contentId)?.file !== undefined;
    return this.#unshare(contentId);
  }

  async #unshare(contentId: string): Promise<boolean> {
    const s = this.#served.get(contentId);
    if (s?.file === undefined) return false;
    this.#served.delete(contentId);
    await s.file.close();
    return true;
  }

  /**
   * Downloads a content id into `dir` from every neighbour that has it:
   * verified chunk by chunk, resumed from a partial download left in `dir`,
   * moved to its name only when complete. While it runs, the chunks it has
   * are served to the others.
   */
  download(contentId: string, options: DownloadOptions): Promise<DownloadResult> {
    const call = "files.download(contentId, { dir })";
    if (typeof contentId !== "string" || !CONTENT_ID.test(contentId)) {
      return Promise.reject(invalidArgument(call, "contentId must be the 64 hex characters that share() gave", 'files.download("9f86d0...", { dir: "./downloads" })'));
    }
    if (typeof options?.dir !== "string" || options.dir.length === 0) {
      return Promise.reject(invalidArgument(call, "options.dir must be the folder to download into", 'files.download(id, { dir: "./downloads" })'));
    }
    if (this.#closed) return Promise.reject(closedError("download"));
    if (this.#downloads.has(contentId)) return Promise.reject(invalidArgument(call, `${contentId} is already being downloaded`, "await the first download"));
    if (options.signal?.aborted === true) return Promise.reject(new FilesError(FILES_ERROR_CODES.ABORTED, `download(${contentId}) was aborted before it began.`, { cause: options.signal.reason }));
    const d: Download = new Download(contentId, options.dir, this.#downloadHost(), this.#o, options);
    this.#downloads.set(contentId, d);
    void (async () => {
      const saved = await PartialFile.savedManifest(options.dir, contentId, this.#o.maxFileSize);
      if (saved !== undefined) await d.useManifest(saved);
      for (const peer of this.#host.peers()) this.#send(peer, encodeBare(MSG.WANT, contentId));
    })();
    return d.done.then(
      async (result) => {
        this.#downloads.delete(contentId);
        await this.#serveFinished(d, result.path);
        return result;
      },
      (error: unknown) => {
        this.#downloads.delete(contentId);
        this.#early.delete(contentId);
        const served = this.#served.get(contentId);
        if (served !== undefined && served.content === d.file) this.#served.delete(contentId);
        throw error;
      },
    );
  }

  /** Stops every download (their verified parts stay for a resume) and all sharing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    this.#pushes.close(closedError("push"));
    await Promise.all([...this.#downloads.values()].map((d) => d.fail(closedError("download"))));
    await Promise.all([...this.#served.values()].map((s) => (s.file === undefined ? Promise.resolve() : s.file.close())));
    this.#served.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Serves the finished file in place of the download, which is served (from the same open file) until then. */
  async #serveFinished(d: Download, path: string): Promise<void> {
    try {
      // Already served whole (shared, or downloaded before into another folder): that copy stays.
      if (this.#served.get(d.contentId)?.file !== undefined) return;
      const interested = this.#served.get(d.contentId)?.interested ?? new Set<string>();
      try {
        const file = await FileContent.open(d.manifest!, path);
        if (this.#closed) return void (await file.close());
        this.#served.set(d.contentId, { content: file, file, interested });
      } catch {
        this.#served.delete(d.contentId);
      }
    } finally {
      await d.file?.close();
    }
  }

  #downloadHost(): ConstructorParameters<typeof Download>[2] {
    return {
      maxMessageSize: this.#host.maxMessageSize,
      stableMessages: this.#host.stableMessages === true,
      send: (peer, bytes) => this.#send(peer, bytes),
      pace: (peer, bytes) => this.#pacer.take(peer, bytes),
      misbehaved: (peer, error) => this.#host.misbehaved(peer, error),
      ready: (d) => {
        // A whole copy already served stays served; the download's chunks are not needed for that.
        if (this.#served.get(d.contentId)?.file !== undefined) return this.#announce(d.contentId);
        const interested = this.#served.get(d.contentId)?.interested ?? new Set<string>();
        for (const peer of this.#early.get(d.contentId) ?? []) interested.add(peer);
        this.#early.delete(d.contentId);
        this.#served.set(d.contentId, { content: d.file!, interested });
        this.#announce(d.contentId);
      },
      gained: (d, index) => {
        // A neighbour that holds it all (a seeder) needs no news: one message, and one write to its socket, less per chunk.
        for (const peer of this.#served.get(d.contentId)?.interested ?? []) if (!d.holdsAll(peer)) this.#send(peer, encodeHave(d.contentId, index));
      },
    };
  }

  /** Tells the neighbours in a content's swarm what this node holds of it. */
  #announce(cid: string): void {
    const s = this.#served.get(cid);
    if (s === undefined) return;
    const have = s.content.have;
    for (const peer of s.interested) this.#send(peer, encodeBitfield(cid, have.size, have.bytes));
  }

  #send(peer: string, bytes: Uint8Array): void {
    this.#host.send(peer, bytes).catch(() => {
      // The neighbour left; `left` cleans up.
    });
  }

  #left(peer: string): void {
    this.#uploader.left(peer);
    this.#pacer.forget(peer);
    this.#pushes.left(peer);
    for (const s of this.#served.values()) s.interested.delete(peer);
    for (const e of this.#early.values()) e.delete(peer);
    for (const d of this.#downloads.values()) d.peerLeft(peer);
  }

  #onMessage(peer: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    const m = decodeMessage(bytes);
    if (typeof m === "string") return this.#host.misbehaved(peer, violation(peer, m));
    const served = this.#served.get(m.cid);
    const d = this.#downloads.get(m.cid);
    if (served !== undefined) this.#pushes.heard(peer, m.cid);
    try {
      switch (m.type) {
        case MSG.WANT:
          if (served === undefined) {
            // Downloading it too, manifest not yet known: answer once it is (at most one entry per neighbour).
            if (d !== undefined) this.#early.set(m.cid, (this.#early.get(m.cid) ?? new Set()).add(peer));
            return;
          }
          served.interested.add(peer);
          this.#send(peer, encodeBitfield(m.cid, served.content.have.size, served.content.have.bytes));
          return;
        case MSG.BITFIELD:
          // It is in this content's swarm: it hears of our chunks (once we have the manifest, if not yet).
          if (served !== undefined) {
            // New to us: it learns what we already hold (it hears only of later chunks otherwise).
            if (!served.interested.has(peer)) this.#send(peer, encodeBitfield(m.cid, served.content.have.size, served.content.have.bytes));
            served.interested.add(peer);
          } else if (d !== undefined) this.#early.set(m.cid, (this.#early.get(m.cid) ?? new Set()).add(peer));
          return d?.onBitfield(peer, m.size, m.bits);
        case MSG.HAVE:
          return d?.onHave(peer, m.index);
        case MSG.MANIFEST_REQUEST: {
          if (served === undefined) return;
          const total = served.content.manifest.bytes.length;
          if (m.offset >= total || m.length === 0) throw violation(peer, `a manifest request at ${m.offset} of ${total}`);
          const length = Math.min(m.length, MANIFEST_PIECE_BYTES, this.#host.maxMessageSize - MESSAGE_OVERHEAD, total - m.offset);
          this.#send(peer, encodeManifest(m.cid, m.offset, total, served.content.manifest.bytes.subarray(m.offset, m.offset + length)));
          return;
        }
        case MSG.MANIFEST:
          return d?.onManifest(peer, m.offset, m.total, m.data);
        case MSG.REQUEST:
          if (served !== undefined && m.index >= served.content.manifest.chunkCount) throw violation(peer, `a request for chunk ${m.index} of ${served.content.manifest.chunkCount}`);
          if (served !== undefined && m.offset >= chunkLength(served.content.manifest, m.index)) throw violation(peer, `a request at ${m.offset} of chunk ${m.index}`);
          return this.#uploader.request(peer, m);
        case MSG.DATA:
          return d?.onData(peer, m.index, m.offset, m.data);
        case MSG.REJECT:
          return d?.onReject(peer, m.index);
        case MSG.CANCEL:
          return this.#uploader.cancel(peer, m.cid, m.index, m.offset);
        case MSG.OFFER:
          return this.#pushes.offered(peer, m.cid);
        case MSG.OFFER_END:
          return this.#pushes.ended(peer, m.cid, m.status, m.reason);
        default:
          return;
      }
    } catch (error) {
      this.#host.misbehaved(peer, error as FilesError);
    }
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw closedError(what);
  }
}

function closedError(what: string): FilesError {
  return new FilesError(FILES_ERROR_CODES.CLOSED, `${what}() cannot run: the file swarm was closed (its node stopped). Start a new node; a partial download resumes.`);
}

export type { DownloadResult, DownloadProgress };
