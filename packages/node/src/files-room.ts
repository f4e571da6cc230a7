/**
 * Files, the swarm way (capability `files/2`): the node's side of
 * `@xppg/files`. This room is the swarm's `FilesHost`: it carries the
 * swarm's messages as `xppg/files` envelopes of raw bytes between
 * neighbours that settled `files/2`, tells it who joins and leaves, and
 * drops a neighbour the swarm found misbehaving (a strike).
 */

import type { DownloadOptions, DownloadResult, FileSwarm, FileSwarmOptions, FilesHost, FilesHostListener, PushProgress, SharedContent } from "@xppg/files";
import { checkFunction, checkSignal, checkString } from "./argument-checks.js";
import { abortError, checkTarget } from "./call-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import { KIND_FILES } from "./protocol.js";
import type { PushOptions, WholeFileSender } from "./file-push.js";
import type { SharedFile } from "./file-transfer.js";
import type { SendOptions, SubscribeOptions } from "./playground-types.js";

/** The capability of the swarm file protocol. */
export const FILES_CAPABILITY = "files/2";
/** The capability of pushing a file through the swarm (`offer` / `offer-end` in the files messages). */
export const FILES_PUSH_CAPABILITY = "files-push/1";
/** Room for the envelope around a files message (kind, flags, ids when a link is not yet open). */
const ENVELOPE_ROOM = 256;
/**
 * Files messages held while `@xppg/files` loads (the first message or the
 * first `pg.files` call loads it, a few milliseconds): past this many, the
 * sender is dropped, as for any other flood.
 */
const MAX_HELD_MESSAGES = 1024;
/** And past this many bytes of them. */
const MAX_HELD_BYTES = 8 * 1024 * 1024;
const NONE: ReadonlyMap<string, number> = new Map();
/** The share of a peer's byte limit that downloads ask of it: the rest is room for its other messages. */
const REQUEST_SHARE = 0.9;

/** Options of `pg.shareFile`. */
export interface ShareFileOptions extends SendOptions, SubscribeOptions {
  /**
   * How far the receivers are (those with `files-push/1`; a peer of an earlier
   * release, streamed the file whole, is not counted): at most every 200 ms,
   * and once at the end (`done`).
   */
  onProgress?: (progress: PushProgress) => void;
}

/** Tunings of `pg.files` (the `files` option). */
export type PlaygroundFilesOptions = Pick<FileSwarmOptions, "uploadBytesPerSecond" | "findTimeoutMs" | "requestTimeoutMs" | "maxInFlightPerPeer">;

/** `pg.files`: share files by content id, download them from every peer that has them. */
export interface PlaygroundFiles {
  /** Makes a file available by its content id (read once, a chunk at a time); resolves with the id to give to others. */
  share(path: string, options?: { signal?: AbortSignal }): Promise<SharedContent>;
  /** Downloads a content id from every peer that has it, into `dir` (default: the node's `downloadDir`); resumes a partial download. */
  download(contentId: string, options?: Partial<DownloadOptions>): Promise<DownloadResult>;
  /** Stops sharing a content id; false when it was not shared. */
  unshare(contentId: string): Promise<boolean>;
  /** Bytes served to each peer so far. */
  readonly uploaded: ReadonlyMap<string, number>;
}

export interface FilesRoomOptions {
  readonly table: PeerTable;
  readonly maxMessageSize: number;
  readonly maxFileSize: number;
  /** The bytes a second a peer may send this node (`limits.bytesPerSecond`, within `limits.byteBurst`): downloads ask a peer for 90% of it at most. */
  readonly peerBytesPerSecond: number;
  readonly downloadDir: string;
  readonly tunings: PlaygroundFilesOptions;
  /** How pushed files are taken (`pg.shareFile` from a peer). */
  readonly push: PushOptions;
  /** The whole-file stream, for peers without `files-push/1`. */
  readonly legacy: WholeFileSender;
}

/**
 * The swarm is made, and `@xppg/files` loaded, only when first needed: at
 * the first `pg.files` or `pg.shareFile` call, or the first files message
 * from a peer (held, in order, until it is made). Before that, joins and
 * leaves need no telling: a swarm with no downloads, shares or pushes has
 * nothing to send or forget (issue 15: a node that shares no file does not
 * load the file protocol).
 */
export class FilesRoom implements FilesHost {
  readonly maxMessageSize: number;
  /**
   * A files message is a view of the frame it came in, and a session never
   * releases a frame to its transport for reuse (it returns no
   * `FRAME_RELEASED`; its bundle reader keeps frames across turns too): so
   * a chunk is verified and written from where it was decrypted, not copied.
   */
  readonly stableMessages = true;
  readonly api: PlaygroundFiles;
  readonly #o: FilesRoomOptions;
  readonly #table: PeerTable;
  #swarm: FileSwarm | undefined;
  #loading: Promise<FileSwarm> | undefined;
  #held: { peer: string; bytes: Uint8Array }[] = [];
  #heldBytes = 0;
  #closed = false;
  #listener: FilesHostListener | undefined;

  constructor(o: FilesRoomOptions) {
    this.#o = o;
    this.#table = o.table;
    this.maxMessageSize = o.maxMessageSize - ENVELOPE_ROOM;
    const swarm = (): Promise<FileSwarm> => this.#load();
    const uploaded = (): ReadonlyMap<string, number> => this.#swarm?.uploaded ?? NONE;
    this.api = {
      share: async (path, options) => (await swarm()).share(path, options),
      download: async (contentId, options = {}) => (await swarm()).download(contentId, { ...options, dir: options.dir ?? o.downloadDir }),
      unshare: async (contentId) => (await swarm()).unshare(contentId),
      get uploaded() {
        return uploaded();
      },
    };
  }

  /** The swarm, made at the first need. */
  #load(): Promise<FileSwarm> {
    this.#loading ??= (async () => {
      const [{ FileSwarm }, { pushReceiver }] = await Promise.all([import("@xppg/files"), import("./file-push.js")]);
      const o = this.#o;
      // Asked of a peer below what this node lets it send: its own byte limit never drops a source for sending what was asked.
      const requestBytesPerSecond = REQUEST_SHARE * o.peerBytesPerSecond;
      const swarm = new FileSwarm(this, { ...o.tunings, maxFileSize: o.maxFileSize, requestBytesPerSecond, pushes: { ...pushReceiver(o.push), allowedFrom: (peer) => this.#pushesFrom(peer) } });
      this.#swarm = swarm;
      const held = this.#held;
      this.#held = [];
      this.#heldBytes = 0;
      for (const { peer, bytes } of held) {
        if (!this.#table.open.has(peer)) continue;
        try {
          this.#listener?.message(peer, bytes);
        } catch (error) {
          this.misbehaved(peer, error instanceof Error ? error : new Error(String(error)));
        }
      }
      if (this.#closed) await swarm.close();
      return swarm;
    })();
    return this.#loading;
  }

  /** True for a neighbour that settled `files-push/1`: only such a peer may make this node fetch a file it offers. */
  #pushesFrom(peer: string): boolean {
    const s = this.#table.open.get(peer);
    return s !== undefined && this.#table.supports(s, FILES_CAPABILITY) && this.#table.supports(s, FILES_PUSH_CAPABILITY);
  }

  /**
   * `pg.shareFile(path, options?)`: checks its arguments, then `targets`
   * (which throws unless the node runs) gives the peers; through the swarm
   * to those that speak `files-push/1`, streamed whole to the others.
   */
  async shareFile(path: unknown, options: unknown, targets: (to: string | undefined) => PeerSession[]): Promise<SharedFile> {
    const call = "pg.shareFile(path, options?)";
    checkString(path, "path", call, 'pg.shareFile("./photo.jpg")');
    const to = checkTarget(options, call, ["to", "signal", "onProgress"]);
    const o = typeof options === "object" ? (options as ShareFileOptions) : undefined;
    const signal = o === undefined ? undefined : checkSignal(o.signal, call);
    const onProgress = o?.onProgress === undefined ? undefined : checkFunction<ShareFileOptions["onProgress"]>(o.onProgress, "onProgress", call, "pg.shareFile(path, { onProgress: (p) => console.log(p.bytesDone, p.total) })");
    const sessions = targets(to);
    if (signal?.aborted) throw abortError("shareFile", signal);
    const pushes = (s: PeerSession): boolean => this.#table.supports(s, FILES_CAPABILITY) && this.#table.supports(s, FILES_PUSH_CAPABILITY);
    const [swarm, { shareFile }] = await Promise.all([this.#load(), import("./file-push.js")]);
    return shareFile(swarm, this.#o.legacy, pushes, path as string, sessions, signal, onProgress);
  }

  peers(): readonly string[] {
    return [...this.#table.open.values()].filter((s) => this.#table.supports(s, FILES_CAPABILITY)).map((s) => s.peerId!);
  }

  send(peerId: string, bytes: Uint8Array): Promise<void> {
    const session = this.#table.open.get(peerId);
    if (session === undefined || !this.#table.supports(session, FILES_CAPABILITY)) return Promise.reject(new Error(`${peerId} is not a files/2 peer`));
    return session.sendMessage(KIND_FILES, bytes);
  }

  listen(listener: FilesHostListener): () => void {
    this.#listener = listener;
    return () => {
      this.#listener = undefined;
    };
  }

  misbehaved(peerId: string, error: Error): void {
    this.#table.open.get(peerId)?.close(new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, error.message, { cause: error }));
  }

  /** An `xppg/files` envelope from a peer; throws for one that breaks the protocol (the session drops the peer). */
  receive(session: PeerSession, payload: unknown): void {
    if (!this.#table.supports(session, FILES_CAPABILITY) || !(payload instanceof Uint8Array)) {
      throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent a files message without settling ${FILES_CAPABILITY}, or not as bytes. It is disconnected.`);
    }
    if (this.#swarm !== undefined) return this.#listener?.message(session.peerId!, payload);
    if (this.#closed) return;
    if (this.#held.length >= MAX_HELD_MESSAGES || this.#heldBytes + payload.byteLength > MAX_HELD_BYTES) {
      throw new PlaygroundError(
        NODE_ERROR_CODES.PROTOCOL_VIOLATION,
        `The peer ${session.peerId} sent more than ${MAX_HELD_MESSAGES} files messages (or ${MAX_HELD_BYTES} bytes of them) before this node had loaded its file protocol. It is disconnected.`,
      );
    }
    // A copy: the frame the payload is a view of may hold other envelopes, which should not be kept alive while the swarm loads.
    this.#held.push({ peer: session.peerId!, bytes: payload.slice() });
    this.#heldBytes += payload.byteLength;
    void this.#load().catch(() => this.#loadFailed());
  }

  /** `@xppg/files` could not load (a broken install): the held messages are dropped; the next need tries again (and a `pg.files` call rejects with the reason). */
  #loadFailed(): void {
    this.#held = [];
    this.#heldBytes = 0;
    this.#loading = undefined;
  }

  opened(session: PeerSession): void {
    if (this.#table.open.get(session.peerId!) === session && this.#table.supports(session, FILES_CAPABILITY)) this.#listener?.joined(session.peerId!);
  }

  /** Call before the peer table forgets the session. */
  ended(session: PeerSession): void {
    if (session.peerId !== undefined && this.#table.open.get(session.peerId) === session) this.#listener?.left(session.peerId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held = [];
    this.#heldBytes = 0;
    await this.#swarm?.close();
  }
}
