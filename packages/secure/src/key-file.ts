// NODE-ONLY: exported from "@xppg/secure/key-file", which browsers never load.
import { badArgumentError, isXppgError } from "@xppg/errors";
import { lazyNodeCrypto } from "./crypto/node-crypto.js";
import { SECURE_ERROR_CODES, SecureError } from "./errors.js";
import type { Identity } from "./identity.js";
import { generateIdentity, identityFromSecretKey } from "./node-api.js";

// Node's own node:fs, not an ES module import of it: such an import reads each of its exports, which loads
// fs/promises and the file streams (a bulk receiver's resident set, issue 15).
const { chmodSync, closeSync, constants, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } = process.getBuiltinModule("node:fs");
// node:path too: an ES module import of a built-in makes a module of it for every node that loads this file (issue 15).
const { basename, dirname, join } = process.getBuiltinModule("node:path");

/** The `type` field of an xppg key file. */
export const KEY_FILE_TYPE = "xppg-ed25519";

// node:crypto at its first call: a node that imports this module makes its first connection without it (issue 15).
const randomBytes = lazyNodeCrypto("randomBytes");

/**
 * The key file format: JSON `{ "type": "xppg-ed25519", "secretKey": "<base64 of the 32-byte seed>", "peerId": "xp1..." }`.
 * `peerId` is informational (for people reading the file); it is checked
 * against the key when the file is loaded.
 */
export interface KeyFileContents {
  type: typeof KEY_FILE_TYPE;
  secretKey: string;
  peerId: string;
}

function keyFileError(path: string, what: string, advice: string, cause?: unknown): SecureError {
  return new SecureError(SECURE_ERROR_CODES.KEY_FILE, `The key file ${path} ${what}. ${advice}`, { cause, details: { path } });
}

/**
 * Loads the identity stored at `path`, or, if no file is there, creates a new
 * one and stores it: the parent folder is created with mode 0700 and the
 * file written atomically (a temporary file, then a hard link that never
 * replaces an existing file) with mode 0600. An existing file is never
 * overwritten. The work is a few small file operations done at once (the
 * same code as {@link loadOrCreateIdentitySync}); the promise is for callers
 * that prefer to await.
 *
 * @throws `XPPG_ERR_KEY_FILE` when the file is readable or writable by group
 *   or others (on POSIX systems), is not a regular file, is malformed, or
 *   cannot be read or written.
 */
export async function loadOrCreateIdentity(path: string): Promise<Identity> {
  if (typeof path !== "string" || path.length === 0) throw badPathError("loadOrCreateIdentity", path);
  return loadOrCreateIdentitySync(path);
}

/**
 * Reads an identity from a key file; `null` if there is no file at `path`.
 *
 * @throws `XPPG_ERR_KEY_FILE` as {@link loadOrCreateIdentity} does.
 */
export async function readKeyFile(path: string): Promise<Identity | null> {
  return readKeyFileSync(path);
}

const O_NOFOLLOW: number | undefined = constants.O_NOFOLLOW;

function checkStats(path: string, stats: { isFile(): boolean; mode: number }): void {
  if (!stats.isFile()) throw keyFileError(path, "is not a regular file (a folder or a symbolic link)", "Point to a plain file, or to a path where one can be created.");
  if (process.platform !== "win32" && (stats.mode & 0o077) !== 0) {
    throw keyFileError(
      path,
      `can be read or written by other users (mode ${(stats.mode & 0o777).toString(8)})`,
      `Anyone who can read it can impersonate this node. Run \`chmod 600 ${path}\` if nobody else had access, or delete it to make a new identity.`,
    );
  }
}

function parseKeyFile(path: string, text: string): Identity {
  const advice = `It must hold JSON {"type":"${KEY_FILE_TYPE}","secretKey":"<base64 of 32 bytes>"}; restore it from a backup, or delete it to make a new identity.`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw keyFileError(path, "is not valid JSON", advice, err);
  }
  const record = data as Partial<KeyFileContents> | null;
  if (typeof record !== "object" || record === null || record.type !== KEY_FILE_TYPE) {
    throw keyFileError(path, `is not an xppg key file (its "type" is not "${KEY_FILE_TYPE}")`, advice);
  }
  if (typeof record.secretKey !== "string" || !/^[A-Za-z0-9+/]{43}=$/.test(record.secretKey)) {
    throw keyFileError(path, "has a malformed secretKey", advice);
  }
  const seed = new Uint8Array(Buffer.from(record.secretKey, "base64"));
  const identity = identityFromSecretKey(seed);
  seed.fill(0);
  if (record.peerId !== undefined && record.peerId !== identity.peerId) {
    throw keyFileError(path, `names the peer id ${String(record.peerId)} but its key belongs to ${identity.peerId}`, advice);
  }
  return identity;
}

/**
 * {@link loadOrCreateIdentity} without awaiting: for constructors and
 * start-up code that need the peer id at once.
 */
export function loadOrCreateIdentitySync(path: string): Identity {
  if (typeof path !== "string" || path.length === 0) throw badPathError("loadOrCreateIdentitySync", path);
  const existing = readKeyFileSync(path);
  if (existing !== null) return existing;
  const identity = generateIdentity();
  if (!writeNewKeyFileSync(path, identity)) {
    const winner = readKeyFileSync(path);
    if (winner === null) throw keyFileError(path, "vanished while it was being created", "Try again.");
    return winner;
  }
  return identity;
}

/** {@link readKeyFile} without awaiting. */
export function readKeyFileSync(path: string): Identity | null {
  // One open that refuses a symbolic link, then checks and reads through
  // that descriptor: nothing can swap the file between the check and the read.
  let fd: number;
  try {
    if (O_NOFOLLOW === undefined) checkStats(path, lstatSync(path)); // no O_NOFOLLOW (Windows): check the path first
    // O_NONBLOCK: a FIFO in its place must not hang the open (fstat refuses it next).
    fd = openSync(path, constants.O_RDONLY | (O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") checkStats(path, lstatSync(path));
    if (isXppgError(err)) throw err;
    throw keyFileError(path, "cannot be opened", "Check the path and its permissions.", err);
  }
  try {
    checkStats(path, fstatSync(fd));
    let text: string;
    try {
      text = readFileSync(fd, "utf8");
    } catch (err) {
      throw keyFileError(path, "cannot be read", "Check its permissions.", err);
    }
    return parseKeyFile(path, text);
  } finally {
    closeSync(fd);
  }
}

/** Writes a new key file; false if a file appeared at `path` meanwhile (it is left alone). */
function writeNewKeyFileSync(path: string, identity: Identity): boolean {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw keyFileError(path, "cannot be created: its folder cannot be made", "Check the path and the permissions of its parent folders.", err);
  }
  const seed = identity.exportSecretKey();
  const contents: KeyFileContents = { type: KEY_FILE_TYPE, secretKey: Buffer.from(seed).toString("base64"), peerId: identity.peerId };
  seed.fill(0);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      writeSync(fd, `${JSON.stringify(contents, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o600);
    // A hard link publishes the finished file atomically and, unlike
    // rename, fails (EEXIST) instead of replacing a key file that another
    // process created since we looked.
    try {
      linkSync(temp, path);
      tryUnlinkSync(temp);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        tryUnlinkSync(temp);
        return false;
      }
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
    }
    // A file system without hard links: rename, after one last look.
    try {
      lstatSync(path);
      tryUnlinkSync(temp);
      return false;
    } catch {
      renameSync(temp, path);
      return true;
    }
  } catch (err) {
    tryUnlinkSync(temp);
    throw keyFileError(path, "cannot be written", "Check that its folder is writable.", err);
  }
}

function tryUnlinkSync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** The error for a missing key file path, in the words every bad argument gets (`badArgumentError` shows what it got). */
function badPathError(call: string, path: unknown): TypeError {
  return badArgumentError(TypeError, `${call}(path)`, "path", [`the key file's path, a non-empty string (for example "./identity.key")`, path]);
}
