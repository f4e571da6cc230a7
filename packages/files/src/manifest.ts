/**
 * A manifest names a file's content: its name, size, chunk size and the
 * SHA-256 of every chunk. The content id is the SHA-256 of the manifest's
 * bytes, so a manifest from any peer is checked against the id a user
 * pasted, and each chunk against its hash in it.
 *
 * Layout: `"XPF2"`, name length (u16) and UTF-8 name, size (u64, at most
 * 2^53 - 1), chunk size (u32), then 32 bytes per chunk.
 */

import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { DEFAULT_CHUNK_SIZE, HASH_BYTES, MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_NAME_BYTES, MIN_CHUNK_SIZE } from "./constants.js";
import { FILES_ERROR_CODES, FilesError } from "./errors.js";
import { safeFileName } from "./safe-name.js";

const MAGIC = Buffer.from("XPF2");
const FIXED = MAGIC.length + 2 + 8 + 4;
/** A content id: 64 lower-case hex characters. */
export const CONTENT_ID = /^[0-9a-f]{64}$/;

/** A checked manifest. */
export interface Manifest {
  /** The content id: hex SHA-256 of `bytes`. */
  readonly contentId: string;
  /** The name the sharer gave (untrusted: make it safe before using it as a file name). */
  readonly name: string;
  readonly size: number;
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** The manifest as it travels. */
  readonly bytes: Uint8Array;
}

/** The byte length of chunk `i`. */
export function chunkLength(m: Manifest, i: number): number {
  return i === m.chunkCount - 1 ? m.size - i * m.chunkSize : m.chunkSize;
}

/** The expected SHA-256 of chunk `i` (a view into the manifest). */
export function chunkHash(m: Manifest, i: number): Uint8Array {
  const at = m.bytes.length - (m.chunkCount - i) * HASH_BYTES;
  return m.bytes.subarray(at, at + HASH_BYTES);
}

/** The chunk size for a file of `size` bytes: 256 KiB, doubled until the chunks number at most `MAX_CHUNKS`. */
export function chunkSizeFor(size: number): number {
  let c = DEFAULT_CHUNK_SIZE;
  while (c < MAX_CHUNK_SIZE && Math.ceil(size / c) > MAX_CHUNKS) c *= 2;
  return c;
}

/**
 * Reads the file once, one chunk at a time (never the whole file), and
 * builds its manifest. Throws `XPPG_ERR_FILES_READ_FAILED` when the file
 * cannot be read or changes size while it is read.
 */
export async function buildManifest(path: string, options: { chunkSize?: number; signal?: AbortSignal; /** Also hashes the whole file (a push reports its SHA-256), in the same single read. */ whole?: Hash } = {}): Promise<Manifest> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (cause) {
    throw new FilesError(FILES_ERROR_CODES.READ_FAILED, `Cannot read "${path}": ${(cause as Error).message}. Check the path.`, { cause });
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new FilesError(FILES_ERROR_CODES.READ_FAILED, `"${path}" is not a regular file; share one file at a time.`);
    const size = info.size;
    const chunkSize = options.chunkSize ?? chunkSizeFor(size);
    const count = Math.max(1, Math.ceil(size / chunkSize));
    if (count > MAX_CHUNKS || size > Number.MAX_SAFE_INTEGER) {
      throw new FilesError(FILES_ERROR_CODES.READ_FAILED, `"${path}" is ${size} bytes: too large to share in chunks of ${chunkSize} bytes (at most ${MAX_CHUNKS} chunks).`);
    }
    const name = Buffer.from(basename(path)).subarray(0, MAX_NAME_BYTES);
    const bytes = new Uint8Array(FIXED + name.length + count * HASH_BYTES);
    writeHeader(bytes, name, size, chunkSize);
    const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(size, 1)));
    let hashAt = FIXED + name.length;
    for (let i = 0; i < count; i++) {
      if (options.signal?.aborted === true) throw abortedShare(path, options.signal);
      const want = Math.min(chunkSize, size - i * chunkSize);
      const got = await readFully(fh, buf, want, i * chunkSize);
      if (got !== want) throw changed(path);
      bytes.set(createHash("sha256").update(buf.subarray(0, want)).digest(), hashAt);
      options.whole?.update(buf.subarray(0, want));
      hashAt += HASH_BYTES;
    }
    if ((await fh.stat()).size !== size) throw changed(path);
    return { contentId: createHash("sha256").update(bytes).digest("hex"), name: name.toString(), size, chunkSize, chunkCount: count, bytes };
  } finally {
    await fh.close();
  }
}

function writeHeader(bytes: Uint8Array, name: Uint8Array, size: number, chunkSize: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.set(MAGIC, 0);
  view.setUint16(4, name.length);
  bytes.set(name, 6);
  view.setUint32(6 + name.length, Math.floor(size / 2 ** 32));
  view.setUint32(10 + name.length, size >>> 0);
  view.setUint32(14 + name.length, chunkSize);
}

async function readFully(fh: import("node:fs/promises").FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

function changed(path: string): FilesError {
  return new FilesError(FILES_ERROR_CODES.READ_FAILED, `"${path}" changed while it was being read. Share it again once it is complete.`);
}

function abortedShare(path: string, signal: AbortSignal): FilesError {
  return new FilesError(FILES_ERROR_CODES.ABORTED, `share("${path}") was aborted by its signal.`, { cause: signal.reason });
}

/** Limits a received manifest must keep. */
export interface ManifestLimits {
  /** Largest content size accepted. */
  maxFileSize: number;
}

/**
 * Checks manifest bytes from a peer against the content id asked for and the
 * limits; returns the manifest or throws `XPPG_ERR_FILES_INVALID_MANIFEST`
 * (`XPPG_ERR_FILES_TOO_LARGE` for content over `maxFileSize`).
 */
export function parseManifest(bytes: Uint8Array, contentId: string, limits: ManifestLimits): Manifest {
  const bad = (why: string): FilesError => new FilesError(FILES_ERROR_CODES.INVALID_MANIFEST, `The manifest of ${contentId} is invalid: ${why}. Check the content id; the peer that sent it may be faulty.`);
  if (createHash("sha256").update(bytes).digest("hex") !== contentId) throw bad("its hash is not the content id");
  if (bytes.length < FIXED || !MAGIC.equals(bytes.subarray(0, 4))) throw bad("it does not start with the manifest header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameLength = view.getUint16(4);
  if (nameLength === 0 || nameLength > MAX_NAME_BYTES || bytes.length < FIXED + nameLength) throw bad(`a name of ${nameLength} bytes`);
  const name = Buffer.from(bytes.buffer, bytes.byteOffset + 6, nameLength).toString();
  const high = view.getUint32(6 + nameLength);
  const size = high * 2 ** 32 + view.getUint32(10 + nameLength);
  const chunkSize = view.getUint32(14 + nameLength);
  if (!Number.isSafeInteger(size)) throw bad(`a size of ${size} bytes`);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || (chunkSize & (chunkSize - 1)) !== 0) throw bad(`a chunk size of ${chunkSize} bytes`);
  const chunkCount = Math.max(1, Math.ceil(size / chunkSize));
  if (chunkCount > MAX_CHUNKS) throw bad(`${chunkCount} chunks (at most ${MAX_CHUNKS})`);
  if (bytes.length !== FIXED + nameLength + chunkCount * HASH_BYTES) throw bad("its length does not match its chunk count");
  if (size > limits.maxFileSize) {
    throw new FilesError(FILES_ERROR_CODES.TOO_LARGE, `The content ${contentId} ("${safeFileName(name).slice(0, 100)}") is ${size} bytes, over maxFileSize (${limits.maxFileSize}). Raise maxFileSize to download it.`, { details: { size, maxFileSize: limits.maxFileSize } });
  }
  return { contentId, name, size, chunkSize, chunkCount, bytes };
}
