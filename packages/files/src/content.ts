/**
 * Content this node can serve: a shared file, a finished download, or a
 * download still running (its verified chunks).
 */

import { open, type FileHandle } from "node:fs/promises";
import { Bitfield } from "./bitfield.js";
import type { Manifest } from "./manifest.js";

/** What the uploader reads from. */
export interface Content {
  readonly manifest: Manifest;
  /** The verified chunks held. */
  readonly have: Bitfield;
  /** Reads held bytes from `position` on into each of `into` in turn (one call for a run of blocks). */
  read(position: number, into: readonly Uint8Array[]): Promise<void>;
}

/** Fills `into` in turn from `position` of `fh` (readv; short reads continue); throws when the file ends first. */
export async function readFully(fh: FileHandle, position: number, into: readonly Uint8Array[], what: string): Promise<void> {
  const views = into.filter((v) => v.length > 0);
  let at = position;
  while (views.length > 0) {
    const { bytesRead } = views.length === 1 ? await fh.read(views[0]!, 0, views[0]!.length, at) : await fh.readv(views, at);
    if (bytesRead === 0) throw new Error(`${what} is shorter than when it was shared`);
    at += bytesRead;
    for (let left = bytesRead; left > 0; ) {
      const v = views[0]!;
      if (left >= v.length) views.shift();
      else views[0] = v.subarray(left);
      left -= v.length;
    }
  }
}

/** A whole file on disk, served read-only. */
export class FileContent implements Content {
  readonly manifest: Manifest;
  readonly have: Bitfield;
  readonly path: string;
  readonly #fh: FileHandle;

  private constructor(manifest: Manifest, path: string, fh: FileHandle) {
    this.manifest = manifest;
    this.path = path;
    this.#fh = fh;
    this.have = Bitfield.full(manifest.chunkCount);
  }

  static async open(manifest: Manifest, path: string): Promise<FileContent> {
    return new FileContent(manifest, path, await open(path, "r"));
  }

  read(position: number, into: readonly Uint8Array[]): Promise<void> {
    // The file shrank since it was shared: the asker's hash check would refuse what we cannot send.
    return readFully(this.#fh, position, into, `"${this.path}"`);
  }

  close(): Promise<void> {
    return this.#fh.close().catch(() => {});
  }
}
