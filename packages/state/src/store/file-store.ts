import { STATE_ERROR_CODES, StateError } from "../errors.js";
import type { StateStore, StoredRow, StoredSlot } from "../state-store.js";
import { decodeJson, encodeJson } from "./json-codec.js";
import { encodeRecord, readRecords } from "./records.js";

// Node's own node:fs, not an ES module import of it: such an import reads each of its exports, which loads
// fs/promises and the file streams (a bulk receiver's resident set, issue 15).
const { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } = process.getBuiltinModule("node:fs");
// node:path too: an ES module import of a built-in makes a module of it for every node that loads this file (issue 15).
const { dirname } = process.getBuiltinModule("node:path");

/** The first bytes of a state log: a file without them is not one, and is never overwritten. */
export const FILE_STORE_MAGIC = "xppg-state-log 1\n";

/** Default of {@link FileStoreOptions.syncIntervalMs}: every write is on disk before it is acknowledged. */
export const DEFAULT_SYNC_INTERVAL_MS = 0;

/** A log is rewritten once it holds this many slots more than are live (and at least as many again as are live). */
const MIN_COMPACTION_SLOTS = 4096;
/** ... or once it holds more records than half the live slots (a log of many one-slot records is slow to read). */
const MIN_COMPACTION_RECORDS = 4096;
/** Slots per record in a compacted log (each record is read whole). */
const SLOTS_PER_RECORD = 4096;

/** Options of {@link openFileStore}. */
export interface FileStoreOptions {
  /**
   * The sync policy. `0`: every write is written and `fdatasync`ed before it
   * returns, so an acknowledged write (`set` returned, `apply`'s changes
   * emitted) survives a crash of the process and of the machine. Above `0`:
   * every write is written at once (it survives the process being killed)
   * and synced at most this many ms later (group commit): a power loss may
   * lose that last interval, and writes are many times faster.
   * @default 0
   */
  syncIntervalMs?: number;
}

/** The on-disk {@link StateStore} of {@link openFileStore}. */
export interface FileStore extends StateStore {
  /** The log file. */
  readonly path: string;
  /** Bytes of a torn or corrupt tail cut off when the log was opened (0 after a clean stop). */
  readonly recoveredBytes: number;
  /** Syncs what was written (a no-op with `syncIntervalMs: 0`, where every write is synced). */
  sync(): void;
}

function failed(path: string, why: string, cause?: unknown): StateError {
  return new StateError(STATE_ERROR_CODES.STORE_FAILED, `The state log ${path} ${why}.`, cause === undefined ? undefined : { cause });
}

function syncDirectory(path: string): void {
  const fd = openSync(dirname(path), "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

type Record = [key: string, version: number, owner: string | null | undefined, rows: StoredRow[]];

function toRecord(slot: StoredSlot): Record {
  // A tombstone's owner is undefined, which JSON writes as null: loading ignores a tombstone's owner.
  return [slot.key, slot.version, slot.owner ?? null, slot.rows as StoredRow[]];
}

function isWriter(w: unknown): boolean {
  return typeof w === "string" || (Array.isArray(w) && w.length === 2 && typeof w[0] === "string" && w[1] instanceof Uint8Array);
}

function fromRecord(path: string, raw: unknown): StoredSlot {
  if (!Array.isArray(raw) || raw.length !== 4) throw failed(path, "holds a record that is not a slot: it was not written by this code");
  const [key, version, owner, rows] = raw as unknown[];
  const ownerOk = owner === undefined || owner === null || typeof owner === "string";
  const rowsOk = Array.isArray(rows) && rows.every((r) => Array.isArray(r) && (r.length === 1 || r.length === 2) && isWriter(r[0]));
  if (typeof key !== "string" || typeof version !== "number" || !Number.isSafeInteger(version) || version < 1 || !ownerOk || !rowsOk) {
    throw failed(path, "holds a malformed slot record: it was not written by this code");
  }
  return { key, version, owner: owner, rows: rows as StoredRow[] };
}

/**
 * A {@link StateStore} in one append-only file: a magic line, then records
 * (`[u32 length][u32 CRC-32][payload]`), each payload the slots of one write
 * as JSON (see `json-codec.ts`). A write is one record, so it is on disk whole
 * or not at all; on open, a torn or corrupt tail (a crash in the middle of
 * an append) is cut off, never an error. When the log holds far more slots
 * than are live, it is rewritten to a temporary file, synced, and renamed
 * over the log (atomic on POSIX), and the directory is synced.
 *
 * One process at a time per file. Throws `XPPG_ERR_STATE_STORE_FAILED` for
 * a file that is not a state log (it is left untouched).
 */
export function openFileStore(path: string, options: FileStoreOptions = {}): FileStore {
  if (typeof path !== "string" || path.length === 0) {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, `openFileStore takes a file path, not ${String(path)}.`);
  }
  const syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  if (typeof syncIntervalMs !== "number" || !Number.isSafeInteger(syncIntervalMs) || syncIntervalMs < 0) {
    throw new StateError(STATE_ERROR_CODES.INVALID_ARGUMENT, `openFileStore option syncIntervalMs must be an integer of at least 0, not ${String(syncIntervalMs)}.`);
  }
  return new LogFile(path, syncIntervalMs);
}

const MAGIC = Buffer.from(FILE_STORE_MAGIC, "utf8");

class LogFile implements FileStore {
  readonly path: string;
  readonly recoveredBytes: number;
  readonly #syncIntervalMs: number;
  readonly #loaded: StoredSlot[] = [];
  #fd: number | undefined;
  #offset: number;
  /** Slots in the log: what compaction would leave, plus every slot appended since. */
  #slotsInLog = 0;
  #recordsInLog = 0;
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(path: string, syncIntervalMs: number) {
    this.path = path;
    this.#syncIntervalMs = syncIntervalMs;
    try {
      mkdirSync(dirname(path), { recursive: true });
      // A compaction cut short by a crash leaves its temporary file: the log itself is whole.
      rmSync(`${path}.tmp`, { force: true });
      if (!existsSync(path)) this.#writeFresh(path, []);
    } catch (error) {
      throw failed(path, "cannot be created", error);
    }
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (error) {
      throw failed(path, "cannot be read", error);
    }
    if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw failed(path, `is not a state log (it does not start with "xppg-state-log"); it was left untouched. Give another path`);
    }
    const { payloads, validLength } = readRecords(data, MAGIC.length);
    for (const payload of payloads) {
      let batch: unknown;
      try {
        batch = decodeJson(payload);
      } catch (error) {
        throw failed(path, "holds a record that passes its checksum but is not JSON: it was not written by this code", error);
      }
      if (!Array.isArray(batch)) throw failed(path, "holds a record that is not a batch of slots: it was not written by this code");
      for (const raw of batch) this.#loaded.push(fromRecord(path, raw));
    }
    this.#slotsInLog = this.#loaded.length;
    this.#recordsInLog = payloads.length;
    this.recoveredBytes = data.length - validLength;
    let fd: number | undefined;
    try {
      fd = openSync(path, "r+");
      if (this.recoveredBytes > 0) {
        // Cut the torn tail, so the next append follows the last whole record.
        ftruncateSync(fd, validLength);
        fsyncSync(fd);
      }
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      throw failed(path, "cannot be opened for writing", error);
    }
    this.#fd = fd;
    this.#offset = validLength;
    if (syncIntervalMs > 0) {
      this.#timer = setInterval(() => this.sync(), syncIntervalMs);
      this.#timer.unref?.();
    }
  }

  load(): Iterable<StoredSlot> {
    const loaded = this.#loaded.splice(0);
    return loaded;
  }

  write(slots: readonly StoredSlot[]): void {
    const fd = this.#open();
    const record = encodeRecord(encodeJson(slots.map(toRecord)));
    let written = 0;
    while (written < record.length) written += writeSync(fd, record, written, record.length - written, this.#offset + written);
    this.#offset += record.length;
    this.#slotsInLog += slots.length;
    this.#recordsInLog++;
    if (this.#syncIntervalMs === 0) fdatasyncSync(fd);
    else this.#dirty = true;
  }

  wantsCompaction(live: number): boolean {
    return this.#slotsInLog - live > Math.max(MIN_COMPACTION_SLOTS, live) || this.#recordsInLog > Math.max(MIN_COMPACTION_RECORDS, live / 2);
  }

  compact(slots: Iterable<StoredSlot>): void {
    const fd = this.#open();
    const all = [...slots];
    const tmp = `${this.path}.tmp`;
    const length = this.#writeFresh(tmp, all);
    renameSync(tmp, this.path);
    // The new log has the name now: move to it before anything else can throw,
    // so no later write lands in the old file, which has no name any more.
    closeSync(fd);
    this.#fd = openSync(this.path, "r+");
    this.#offset = length;
    this.#slotsInLog = all.length;
    this.#recordsInLog = Math.ceil(all.length / SLOTS_PER_RECORD);
    this.#dirty = false;
    syncDirectory(this.path);
  }

  sync(): void {
    if (!this.#dirty || this.#fd === undefined) return;
    this.#dirty = false;
    fdatasyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd === undefined) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.sync();
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): number {
    if (this.#fd === undefined) throw failed(this.path, "is closed; open a new store to write again");
    return this.#fd;
  }

  /** Writes a whole log (magic and these slots) to `file`, syncs it, and returns its length. */
  #writeFresh(file: string, slots: readonly StoredSlot[]): number {
    const fd = openSync(file, "w");
    try {
      const parts: Buffer[] = [MAGIC];
      for (let i = 0; i < slots.length; i += SLOTS_PER_RECORD) parts.push(encodeRecord(encodeJson(slots.slice(i, i + SLOTS_PER_RECORD).map(toRecord))));
      const data = Buffer.concat(parts);
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written, written);
      fsyncSync(fd);
      return data.length;
    } finally {
      closeSync(fd);
      syncDirectory(file);
    }
  }
}
