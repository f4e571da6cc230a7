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
  /** Reads part of a held chunk into `into` at `at`. */
  read(index: number, offset: number, length: number, into: Uint8Array, at: number): Promise<void>;
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

  async read(index: number, offset: number, length: number, into: Uint8Array, at: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#fh.read(into, at + done, length - done, index * this.manifest.chunkSize + offset + done);
      // The file shrank since it was shared: the asker's hash check will refuse what we cannot send.
      if (bytesRead === 0) throw new Error(`"${this.path}" is shorter than when it was shared`);
      done += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.#fh.close().catch(() => {});
  }
}
