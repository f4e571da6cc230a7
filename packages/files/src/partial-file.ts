/**
 * A download on disk: `<dir>/.xppg-<id>.part` holds the chunks at their
 * offsets, `<dir>/.xppg-<id>.manifest` the manifest (written once) and
 * `<dir>/.xppg-<id>.state` (the sidecar) which chunks were verified, saved
 * every few chunks. The sidecar has a fixed size and is rewritten in place
 * (no new disk blocks: it is still saved when the disk is full); on resume
 * every chunk it lists is read back and verified again, so a sidecar torn
 * or ahead of the data (a crash between the two) costs a refetch, never a
 * wrong byte. Both names come from the content id alone: a
 * peer's name never reaches the file system before the final rename.
 */

import { constants, type Stats } from "node:fs";
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rm, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Bitfield } from "./bitfield.js";
import { readFully } from "./content.js";
import { FILES_ERROR_CODES, FilesError } from "./errors.js";
import { chunkHash, chunkLength, parseManifest, type Manifest } from "./manifest.js";
import { placeUnique } from "./place.js";
import { safeFileName } from "./safe-name.js";

const STATE_MAGIC = Buffer.from("XPS2");
/** The sidecar is saved this long after a chunk arrives, or sooner after `SAVE_EVERY_CHUNKS`. */
const SAVE_EVERY_MS = 250;
const SAVE_EVERY_CHUNKS = 8;
/** Write, create, truncate, and never follow a symbolic link planted under our name. */
const WRITE_OWN = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** Where a content's partial download lives in `dir`. */
export function partialPaths(dir: string, contentId: string): { part: string; state: string; manifest: string } {
  const stem = join(dir, `.xppg-${contentId.slice(0, 32)}`);
  return { part: `${stem}.part`, state: `${stem}.state`, manifest: `${stem}.manifest` };
}

/** Deletes a content's partial download in `dir`, if any (a push its sender cancelled). */
export async function removePartial(dir: string, contentId: string): Promise<void> {
  const paths = partialPaths(dir, contentId);
  await Promise.all([rm(paths.part, { force: true }), rm(paths.state, { force: true }), rm(paths.manifest, { force: true })]);
}

/** Turns a failed disk operation into a typed error that says the partial download is kept. */
export function diskError(cause: unknown, dir: string, contentId: string): FilesError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new FilesError(FILES_ERROR_CODES.DISK_FULL, `The disk holding ${dir} is full. The verified part of ${contentId} is kept: free some space and download it again to resume.`, { cause, details: { dir } });
  }
  return new FilesError(FILES_ERROR_CODES.WRITE_FAILED, `Writing ${contentId} in ${dir} failed: ${(cause as Error).message}. The verified part is kept: fix the cause and download it again to resume.`, { cause, details: { dir } });
}

export class PartialFile {
  readonly manifest: Manifest;
  readonly have: Bitfield;
  readonly dir: string;
  /** Chunks found verified on disk when it was opened. */
  readonly resumed: number;
  readonly #fh: FileHandle;
  readonly #stateFh: FileHandle;
  readonly #paths: { part: string; state: string; manifest: string };
  #unsaved = 0;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(manifest: Manifest, dir: string, fh: FileHandle, stateFh: FileHandle, have: Bitfield) {
    this.manifest = manifest;
    this.dir = dir;
    this.#fh = fh;
    this.#stateFh = stateFh;
    this.have = have;
    this.resumed = have.count;
    this.#paths = partialPaths(dir, manifest.contentId);
  }

  /** The manifest a sidecar in `dir` holds for this content, if any (so a resume needs no peer for it). */
  static async savedManifest(dir: string, contentId: string, maxFileSize: number): Promise<Manifest | undefined> {
    const saved = await readSidecar(partialPaths(dir, contentId), contentId, maxFileSize);
    return saved?.manifest;
  }

  /** Opens (or creates) the partial file, keeping every chunk that verifies. */
  static async open(manifest: Manifest, dir: string, maxFileSize: number): Promise<PartialFile> {
    const paths = partialPaths(dir, manifest.contentId);
    let fh: FileHandle;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // No symlink is followed: the partial file is always this node's own.
      fh = await open(paths.part, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (cause) {
      throw diskError(cause, dir, manifest.contentId);
    }
    const saved = await readSidecar(paths, manifest.contentId, maxFileSize);
    const have = new Bitfield(manifest.chunkCount);
    let stateFh: FileHandle | undefined;
    try {
      if (saved !== undefined) await verifyOnDisk(fh, manifest, saved.have, have);
      if (saved === undefined) await writeFile(paths.manifest, manifest.bytes, { mode: 0o600, flag: WRITE_OWN });
      stateFh = await open(paths.state, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      const file = new PartialFile(manifest, dir, fh, stateFh, have);
      await file.save();
      return file;
    } catch (cause) {
      await Promise.all([fh.close().catch(() => {}), stateFh?.close().catch(() => {})]);
      throw diskError(cause, dir, manifest.contentId);
    }
  }

  /** Writes a verified chunk at its place and marks it held. */
  async write(index: number, data: Uint8Array): Promise<void> {
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.#fh.write(data, done, data.length - done, index * this.manifest.chunkSize + done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw diskError(cause, this.dir, this.manifest.contentId);
    }
    this.have.set(index);
    if (++this.#unsaved >= SAVE_EVERY_CHUNKS) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      void this.save().catch(() => {});
      return;
    }
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = undefined;
      void this.save().catch(() => {});
    }, SAVE_EVERY_MS);
  }

  /** Reads held bytes from `position` on into each of `into` in turn. */
  read(position: number, into: readonly Uint8Array[]): Promise<void> {
    return readFully(this.#fh, position, into, "the partial download");
  }

  /** Writes the sidecar in place (same size every time). */
  save(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#closed) return;
      this.#unsaved = 0;
      const bytes = Buffer.concat([STATE_MAGIC, this.have.bytes]);
      try {
        await this.#stateFh.write(bytes, 0, bytes.length, 0);
      } catch (cause) {
        throw diskError(cause, this.dir, this.manifest.contentId);
      }
    };
    this.#saving = this.#saving.then(run, run);
    return this.#saving;
  }

  /** Stops, keeping the partial file and its sidecar for a later resume. */
  async close(): Promise<void> {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    await this.save().catch(() => {});
    this.#closed = true;
    await Promise.all([this.#fh.close().catch(() => {}), this.#stateFh.close().catch(() => {})]);
  }

  /**
   * All chunks are held: moves the file to its (safe) name in `dir` and removes the sidecar. Returns the final path.
   * The file stays open for `read` (chunks are still served from it) until `close`.
   */
  async finish(): Promise<string> {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    await this.#saving.catch(() => {});
    this.#closed = true;
    try {
      await this.#fh.sync();
      await this.#stateFh.close();
      const path = await placeUnique(this.#paths.part, this.dir, safeFileName(this.manifest.name));
      await rm(this.#paths.state, { force: true });
      await rm(this.#paths.manifest, { force: true });
      return path;
    } catch (cause) {
      await this.#fh.close().catch(() => {});
      throw diskError(cause, this.dir, this.manifest.contentId);
    }
  }
}

/** Marks in `have` each chunk `listed` whose bytes on disk match the manifest (a read error is thrown: the caller closes the file). */
async function verifyOnDisk(fh: FileHandle, manifest: Manifest, listed: Bitfield, have: Bitfield): Promise<void> {
  const info: Stats = await fh.stat();
  const buf = Buffer.allocUnsafe(manifest.chunkSize);
  for (let i = 0; i < manifest.chunkCount; i++) {
    if (!listed.has(i)) continue;
    const len = chunkLength(manifest, i);
    if (i * manifest.chunkSize + len > info.size) continue;
    const { bytesRead } = await fh.read(buf, 0, len, i * manifest.chunkSize);
    if (bytesRead === len && createHash("sha256").update(buf.subarray(0, len)).digest().equals(chunkHash(manifest, i))) have.set(i);
  }
}

async function readSidecar(paths: { state: string; manifest: string }, contentId: string, maxFileSize: number): Promise<{ manifest: Manifest; have: Bitfield } | undefined> {
  let bytes: Buffer;
  let manifestBytes: Buffer;
  try {
    [bytes, manifestBytes] = await Promise.all([readFile(paths.state), readFile(paths.manifest)]);
  } catch {
    return undefined;
  }
  if (bytes.length < 4 || !STATE_MAGIC.equals(bytes.subarray(0, 4))) return undefined;
  try {
    const manifest = parseManifest(manifestBytes, contentId, { maxFileSize });
    const bits = bytes.subarray(4);
    if (bits.length !== Math.ceil(manifest.chunkCount / 8)) return undefined;
    return { manifest, have: new Bitfield(manifest.chunkCount, bits) };
  } catch {
    return undefined;
  }
}
