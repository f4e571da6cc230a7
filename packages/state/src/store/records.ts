import type * as Zlib from "node:zlib";

// node:zlib is loaded at the first record, not with the store's module: a
// process that never opens a store (and every node loads this module) skips
// loading it, about half a millisecond at start (issue 15).
let zlibCrc32: typeof Zlib.crc32 | undefined;

function crc32(data: Uint8Array): number {
  zlibCrc32 ??= process.getBuiltinModule("node:zlib").crc32;
  return zlibCrc32(data);
}

/**
 * The log's record framing: `[u32 length][u32 CRC-32 of the payload][payload]`,
 * little-endian. A record is whole or it is not there: a crash in the
 * middle of an append leaves a torn tail, which {@link readRecords} stops
 * before, and the store cuts off.
 */
export const RECORD_HEADER_SIZE = 8;

/** Largest payload of one record (a batch of slots); a larger length field is a torn or foreign header. */
export const MAX_RECORD_SIZE = 256 * 1024 * 1024;

/** One record, header and payload, ready to append. */
export function encodeRecord(payload: Uint8Array): Buffer {
  if (payload.length > MAX_RECORD_SIZE) throw new RangeError(`A state log record of ${payload.length} bytes is over ${MAX_RECORD_SIZE}.`);
  const out = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, RECORD_HEADER_SIZE);
  return out;
}

/** What {@link readRecords} found. */
export interface ReadRecords {
  /** The payloads of the whole, checksummed records, in order. */
  readonly payloads: Buffer[];
  /** Where the last whole record ends: the log is valid up to here. */
  readonly validLength: number;
}

/**
 * Reads records from `start` until the end, or until one is torn (short)
 * or fails its checksum: everything from there on is left out, never an
 * error, since an append cut by a crash looks exactly like that.
 */
export function readRecords(data: Buffer, start: number): ReadRecords {
  const payloads: Buffer[] = [];
  let at = start;
  while (at + RECORD_HEADER_SIZE <= data.length) {
    const length = data.readUInt32LE(at);
    const sum = data.readUInt32LE(at + 4);
    const end = at + RECORD_HEADER_SIZE + length;
    if (length > MAX_RECORD_SIZE || end > data.length) break;
    const payload = data.subarray(at + RECORD_HEADER_SIZE, end);
    if (crc32(payload) !== sum) break;
    payloads.push(payload);
    at = end;
  }
  return { payloads, validLength: at };
}
