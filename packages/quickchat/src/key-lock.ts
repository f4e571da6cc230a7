/**
 * One chat per key file: two processes with one key would be one peer, and
 * each would see "connected to itself". A lock file beside the key
 * (`<key>.lock`, holding the process id) is taken at start and removed at
 * stop or exit; a lock whose process is gone is taken over.
 */

import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** Key files locked by this process, so two chats in one process are caught too. */
const held = new Set<string>();

/**
 * Takes the lock of `keyFile`; returns the function that releases it.
 * @throws `XPPG_ERR_KEY_FILE_IN_USE` when another running chat holds it.
 */
export function lockKeyFile(keyFile: string): () => void {
  const lock = `${keyFile}.lock`;
  if (held.has(lock)) throw inUse(keyFile, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx", 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(lock);
      const release = (): void => {
        if (!held.delete(lock)) return;
        process.off("exit", release);
        try {
          if (readFileSync(lock, "utf8").trim() === String(process.pid)) unlinkSync(lock);
        } catch {
          // Gone already: nothing to release.
        }
      };
      process.once("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") return () => {}; // no lock possible here (a read-only folder): run without
      const owner = lockOwner(lock);
      if (owner !== undefined && owner !== process.pid && alive(owner)) throw inUse(keyFile, owner);
      // No owner yet in a fresh lock: another process made it and is writing its pid. It is in use, not stale.
      if (owner === undefined && lockAgeMs(lock) < FRESH_LOCK_MS) throw inUse(keyFile, undefined);
      // The process that held it is gone (or it holds garbage): take it over.
      try {
        unlinkSync(lock);
      } catch {
        // Someone else removed it first; try again.
      }
    }
  }
  throw inUse(keyFile, lockOwner(lock));
}

function lockOwner(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(keyFile: string, pid: number | undefined): QuickChatError {
  return new QuickChatError(
    QUICKCHAT_ERROR_CODES.KEY_FILE_IN_USE,
    `The key file ${keyFile} is in use by another chat${pid === undefined ? "" : ` (process ${pid})`}: two chats with one key would be the same peer. ` +
      "Give this one another name (--name) or key file (--key-file), or leave it out to use a new key for this run.",
    { details: { keyFile, pid } },
  );
}

/** A lock younger than this with no pid in it is being written, not left behind. */
const FRESH_LOCK_MS = 2000;

function lockAgeMs(lock: string): number {
  try {
    return Date.now() - statSync(lock).mtimeMs;
  } catch {
    return Infinity; // gone already
  }
}
