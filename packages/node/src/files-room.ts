/**
 * Files, the swarm way (capability `files/2`): the node's side of
 * `@xppg/files`. This room is the swarm's `FilesHost`: it carries the
 * swarm's messages as `xppg/files` envelopes of raw bytes between
 * neighbours that settled `files/2`, tells it who joins and leaves, and
 * drops a neighbour the swarm found misbehaving (a strike).
 */

import { FileSwarm, type DownloadOptions, type DownloadResult, type FileSwarmOptions, type FilesHost, type FilesHostListener, type SharedContent } from "@xppg/files";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PeerSession } from "./peer-session.js";
import type { PeerTable } from "./peer-table.js";
import { KIND } from "./protocol.js";
import { FILES_PUSH_CAPABILITY, pushReceiver, shareFile, type PushOptions, type WholeFileSender } from "./file-push.js";
import type { SharedFile } from "./file-transfer.js";

/** The capability of the swarm file protocol. */
export const FILES_CAPABILITY = "files/2";
/** Room for the envelope around a files message (kind, flags, ids when a link is not yet open). */
const ENVELOPE_ROOM = 256;

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
  readonly downloadDir: string;
  readonly tunings: PlaygroundFilesOptions;
  /** How pushed files are taken (`pg.shareFile` from a peer). */
  readonly push: PushOptions;
  /** The whole-file stream, for peers without `files-push/1`. */
  readonly legacy: WholeFileSender;
}

export class FilesRoom implements FilesHost {
  readonly maxMessageSize: number;
  readonly swarm: FileSwarm;
  readonly api: PlaygroundFiles;
  readonly #table: PeerTable;
  readonly #legacy: WholeFileSender;
  #listener: FilesHostListener | undefined;

  constructor(o: FilesRoomOptions) {
    this.#table = o.table;
    this.#legacy = o.legacy;
    this.maxMessageSize = o.maxMessageSize - ENVELOPE_ROOM;
    this.swarm = new FileSwarm(this, { ...o.tunings, maxFileSize: o.maxFileSize, pushes: { ...pushReceiver(o.push), allowedFrom: (peer) => this.#pushesFrom(peer) } });
    const swarm = this.swarm;
    this.api = {
      share: (path, options) => swarm.share(path, options),
      download: (contentId, options = {}) => swarm.download(contentId, { ...options, dir: options.dir ?? o.downloadDir }),
      unshare: (contentId) => swarm.unshare(contentId),
      get uploaded() {
        return swarm.uploaded;
      },
    };
  }

  /** True for a neighbour that settled `files-push/1`: only such a peer may make this node fetch a file it offers. */
  #pushesFrom(peer: string): boolean {
    const s = this.#table.open.get(peer);
    return s !== undefined && this.#table.supports(s, FILES_CAPABILITY) && this.#table.supports(s, FILES_PUSH_CAPABILITY);
  }

  /** `pg.shareFile`: through the swarm to peers that speak `files-push/1`, streamed whole to the others. */
  shareFile(path: string, sessions: PeerSession[], signal?: AbortSignal): Promise<SharedFile> {
    const pushes = (s: PeerSession): boolean => this.#table.supports(s, FILES_CAPABILITY) && this.#table.supports(s, FILES_PUSH_CAPABILITY);
    return shareFile(this.swarm, this.#legacy, pushes, path, sessions, signal);
  }

  peers(): readonly string[] {
    return [...this.#table.open.values()].filter((s) => this.#table.supports(s, FILES_CAPABILITY)).map((s) => s.peerId!);
  }

  send(peerId: string, bytes: Uint8Array): Promise<void> {
    const session = this.#table.open.get(peerId);
    if (session === undefined || !this.#table.supports(session, FILES_CAPABILITY)) return Promise.reject(new Error(`${peerId} is not a files/2 peer`));
    return session.sendMessage(KIND.FILES, bytes);
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
    this.#listener?.message(session.peerId!, payload);
  }

  opened(session: PeerSession): void {
    if (this.#table.open.get(session.peerId!) === session && this.#table.supports(session, FILES_CAPABILITY)) this.#listener?.joined(session.peerId!);
  }

  /** Call before the peer table forgets the session. */
  ended(session: PeerSession): void {
    if (session.peerId !== undefined && this.#table.open.get(session.peerId) === session) this.#listener?.left(session.peerId);
  }

  close(): Promise<void> {
    return this.swarm.close();
  }
}
