/** The shapes a download works with: what it needs, what it gives, and its bookkeeping of requests and sources. */

import type { Bitfield } from "./bitfield.js";
import type { Download } from "./download.js";
import type { FilesError } from "./errors.js";
import type { Manifest } from "./manifest.js";
import type { DownloadProgress } from "./progress.js";

/** What a download needs from its swarm. */
export interface DownloadHost {
  readonly maxMessageSize: number;
  /** Messages stay as they are after their call (`FilesHost.stableMessages`): a chunk that comes in one block is used where it lies. */
  readonly stableMessages: boolean;
  send(peer: string, bytes: Uint8Array): void;
  /** Takes `bytes` of what may be asked of `peer` now (see `pacer.ts`); false: ask it later. */
  pace(peer: string, bytes: number): boolean;
  misbehaved(peer: string, error: FilesError): void;
  /** The manifest is known and the partial file open: serve it, tell the interested. */
  ready(download: Download): void;
  /** A chunk was verified and written. */
  gained(download: Download, index: number): void;
}

/** Tunings of a download. */
export interface DownloadTunings {
  maxFileSize: number;
  findTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlightPerPeer: number;
}

/** The caller's hooks into a download. */
export interface DownloadHooks {
  onProgress?: ((p: DownloadProgress) => void) | undefined;
  onChunk?: ((index: number, from: string) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Decides once the manifest is known, before anything is written: a sentence declines the download (`XPPG_ERR_FILES_REFUSED`). */
  accept?: ((manifest: Manifest) => string | undefined) | undefined;
}

/** What a finished download resolves with. */
export interface DownloadResult {
  contentId: string;
  /** The name the sharer gave, made safe. */
  name: string;
  size: number;
  /** Where the file is now. */
  path: string;
  /** Chunks that were already verified on disk (a resumed download). */
  resumedChunks: number;
  /** Chunks fetched (and verified) by this run. */
  fetchedChunks: number;
  /** Verified chunks fetched from each neighbour. */
  sources: Record<string, number>;
  /** Chunks refused for a wrong length or hash. */
  rejectedChunks: number;
}

export interface Req {
  peer: string;
  index: number;
  /** The chunk's own buffer, which its blocks are copied into; undefined when the chunk comes in one block of a stable message, used where it lies. */
  buf: Buffer | undefined;
  seen: Uint8Array;
  got: number;
  startedAt: number;
  deadline: number;
}

export interface Source {
  id: string;
  bits: Bitfield | undefined;
  inflight: Map<number, Req>;
  /** Bytes a second, measured while it had requests in flight (0: not measured yet). */
  rate: number;
  bytesThisTick: number;
  /** How many times it was too slow lately; halves its slots each. */
  slow: number;
  chunks: number;
  /** When it is next sent `want` to refresh what it holds (it refused a chunk it announced); undefined: no refresh due. */
  refreshAt: number | undefined;
  /** The wait before its next refresh: doubles each refresh, back to the shortest once it delivers. */
  refreshEveryMs: number;
  /** Where the next search for a chunk to ask it starts (-1: a random place, on its first). */
  cursor: number;
}
