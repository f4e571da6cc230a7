/**
 * Fetching a content's manifest from one neighbour, a piece at a time, and
 * checking it against the content id. A neighbour that sends a piece out of
 * place or a manifest that does not match is reported; one that is too slow
 * is given up for another.
 */

import { now as nowMs } from "@xppg/errors";
import { MANIFEST_PIECE_BYTES, MAX_MANIFEST_BYTES, MESSAGE_OVERHEAD } from "./constants.js";
import { FILES_ERROR_CODES, type FilesError } from "./errors.js";
import { parseManifest, type Manifest } from "./manifest.js";
import { encodeManifestRequest } from "./wire.js";

/**
 * The smallest piece a neighbour may send but for the last: every node can
 * send more (frames are at least 4 KiB), and a peer answering in tiny
 * pieces, each one resetting the deadline, would hold the fetch for hours.
 */
export const MIN_MANIFEST_PIECE_BYTES = 2048;

/** What a manifest fetch needs from its download. */
export interface ManifestFetchHost {
  readonly contentId: string;
  readonly maxMessageSize: number;
  readonly maxFileSize: number;
  readonly requestTimeoutMs: number;
  send(peer: string, bytes: Uint8Array): void;
  /** The peer sent an invalid manifest (`why`): drop it, then ask another. */
  invalid(peer: string, why: string): void;
  /** The manifest arrived and matches the id. */
  got(manifest: Manifest): void;
  /** It matches the id but cannot be downloaded here (too large): the download ends. */
  fail(error: FilesError): void;
}

export class ManifestFetch {
  readonly #host: ManifestFetchHost;
  /** The fetch under way; `total` is the size its first piece declared (0 before it). */
  #f: { peer: string; parts: Buffer[]; got: number; total: number; deadline: number } | undefined;

  constructor(host: ManifestFetchHost) {
    this.#host = host;
  }

  /** True while a manifest is on its way. */
  get active(): boolean {
    return this.#f !== undefined;
  }

  /** The neighbour asked now, if any. */
  get peer(): string | undefined {
    return this.#f?.peer;
  }

  /** Asks `peer` for the manifest from its start. */
  ask(peer: string): void {
    this.#f = { peer, parts: [], got: 0, total: 0, deadline: nowMs() + this.#host.requestTimeoutMs };
    this.#host.send(peer, encodeManifestRequest(this.#host.contentId, 0, this.#pieceSize()));
  }

  /** Stops waiting (the manifest is known, the peer left, or the download ended). */
  stop(): void {
    this.#f = undefined;
  }

  /** The neighbour asked, if its deadline passed (it is given up); else undefined. */
  expired(now: number): string | undefined {
    const f = this.#f;
    if (f === undefined || now <= f.deadline) return undefined;
    this.#f = undefined;
    return f.peer;
  }

  onPiece(peer: string, offset: number, total: number, data: Uint8Array): void {
    const f = this.#f;
    if (f === undefined || f.peer !== peer) return;
    if (f.total === 0) {
      if (total > MAX_MANIFEST_BYTES || total === 0) return this.#invalid(peer, `a manifest of ${total} bytes`);
      f.total = total;
    } else if (total !== f.total) {
      return this.#invalid(peer, `a manifest whose size changed from ${f.total} to ${total} bytes between pieces`);
    }
    if (offset !== f.got || data.length === 0 || offset + data.length > total) return this.#invalid(peer, "a manifest piece out of place");
    if (data.length < MIN_MANIFEST_PIECE_BYTES && offset + data.length < total) {
      return this.#invalid(peer, `a manifest piece of ${data.length} bytes (at least ${MIN_MANIFEST_PIECE_BYTES} but for the last)`);
    }
    f.parts.push(Buffer.from(data));
    f.got += data.length;
    if (f.got < total) {
      f.deadline = nowMs() + this.#host.requestTimeoutMs;
      this.#host.send(peer, encodeManifestRequest(this.#host.contentId, f.got, this.#pieceSize()));
      return;
    }
    this.#f = undefined;
    let manifest: Manifest;
    try {
      manifest = parseManifest(Buffer.concat(f.parts), this.#host.contentId, { maxFileSize: this.#host.maxFileSize });
    } catch (error) {
      // Its hash matched: content too large is the truth, not a lie.
      if ((error as FilesError).code === FILES_ERROR_CODES.TOO_LARGE) return this.#host.fail(error as FilesError);
      return this.#invalid(peer, (error as Error).message);
    }
    this.#host.got(manifest);
  }

  #invalid(peer: string, why: string): void {
    this.#f = undefined;
    this.#host.invalid(peer, why);
  }

  #pieceSize(): number {
    return Math.min(MANIFEST_PIECE_BYTES, this.#host.maxMessageSize - MESSAGE_OVERHEAD);
  }
}
