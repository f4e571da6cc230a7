// The Node entry of the on-disk store: kept apart from the core entry so a browser bundle never loads node:fs.
export { openFileStore, FILE_STORE_MAGIC, DEFAULT_SYNC_INTERVAL_MS } from "./file-store.js";
export type { FileStore, FileStoreOptions } from "./file-store.js";
export { encodeRecord, readRecords, RECORD_HEADER_SIZE, MAX_RECORD_SIZE } from "./records.js";
export type { ReadRecords } from "./records.js";
