import { MAX_VERSION, UPDATE_FORMAT } from "./constants.js";
import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import { checkKey, isReplicaId } from "./key.js";
import { MAX_SIGNATURE_LENGTH, type SignedWriter } from "./ownership.js";
import { checkValue, isBytes, type StateValue } from "./value.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/**
 * One row of an update: a write of `key` at `version` by the replica
 * `writer`. Four elements carry a value; three are a delete (a tombstone).
 * A signed write (keys `@<writer>/...`) has `[writer, signature]` in place
 * of the writer id.
 *
 * Rows are independent: any subset of an update, in any order, is itself a
 * valid update, which is what lets {@link splitUpdate} cut one in pieces.
 */
export type UpdateEntry =
  | readonly [key: string, version: number, writer: string | SignedWriter, value: StateValue]
  | readonly [key: string, version: number, writer: string | SignedWriter];

/**
 * What {@link SharedState.snapshot} and {@link SharedState.delta} return and
 * {@link SharedState.apply} takes: plain data, ready for MessagePack.
 *
 * ```
 * { format: 3, seq: 42, entries: [["height", 1843200000000000, "peer-a", 2], ["old", 1843200000000003, "peer-b"]] }
 * ```
 */
export interface StateUpdate {
  /** Layout version: {@link UPDATE_FORMAT}. */
  readonly format: typeof UPDATE_FORMAT;
  /**
   * The sender's local sequence number when it made the update. The sender
   * passes it to `delta()` next time; a receiver has no use for it.
   */
  readonly seq: number;
  /** The rows; a key may appear more than once (ties are carried whole). */
  readonly entries: readonly UpdateEntry[];
}

/** The bounds a received update is checked against; all come from the state's options. */
export interface UpdateLimits {
  /** Most rows in one update. */
  readonly maxEntriesPerUpdate: number;
  /** Longest key, in UTF-16 code units. */
  readonly maxKeyLength: number;
  /** Longest writer id. */
  readonly maxReplicaIdLength: number;
  /** Largest approximate encoded size of one value, in bytes. */
  readonly maxValueSize: number;
  /** Deepest nesting of arrays and objects in one value. */
  readonly maxValueDepth: number;
}

function invalid(why: ErrorText, details?: Record<string, unknown>): StateError {
  return new StateError(
    STATE_ERROR_CODES.INVALID_UPDATE,
    ERROR_TEXTS ? `Received a malformed state update: ${why}. Nothing was applied; the sender is not speaking this protocol.` : [why],
    details === undefined ? undefined : { details },
  );
}

function own(record: object, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, name) ? (record as Record<string, unknown>)[name] : undefined;
}

/** One checked row and the approximate encoded size of its value (0 for a delete). */
interface ParsedEntry {
  readonly entry: UpdateEntry;
  readonly size: number;
}

function parseEntry(row: unknown, index: number, limits: UpdateLimits): ParsedEntry {
  if (!Array.isArray(row) || (row.length !== 3 && row.length !== 4)) {
    throw invalid(ERROR_TEXTS ? `entry ${index} is not an array [key, version, writer] or [key, version, writer, value]` : [index], { index });
  }
  const [rawKey, version, rawWriter] = row as unknown[];
  const key = checkKey(rawKey, limits.maxKeyLength, `Received state update entry ${index}`);
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1 || version > MAX_VERSION) {
    throw invalid(ERROR_TEXTS ? `entry ${index} (key "${key}") has version ${String(version)}; a version is an integer from 1 to ${MAX_VERSION}` : [index, key, String(version), MAX_VERSION], { index, key });
  }
  const signed = Array.isArray(rawWriter);
  const writer: unknown = signed ? (rawWriter as unknown[])[0] : rawWriter;
  const sig: unknown = signed ? (rawWriter as unknown[])[1] : undefined;
  if (signed && ((rawWriter as unknown[]).length !== 2 || !isBytes(sig) || sig.length === 0 || sig.length > MAX_SIGNATURE_LENGTH)) {
    throw invalid(ERROR_TEXTS ? `entry ${index} (key "${rawKey as string}") has a signed writer that is not [writer, signature of 1 to ${MAX_SIGNATURE_LENGTH} bytes]` : [index, rawKey, MAX_SIGNATURE_LENGTH], { index });
  }
  if (!isReplicaId(writer, limits.maxReplicaIdLength)) {
    throw invalid(ERROR_TEXTS ? `entry ${index} (key "${key}") names no valid writer (a non-empty string of at most ${limits.maxReplicaIdLength} characters)` : [index, key, limits.maxReplicaIdLength], {
      index,
      key,
    });
  }
  const who: string | SignedWriter = signed ? Object.freeze([writer, new Uint8Array(sig as Uint8Array)] as const) : writer;
  if (row.length === 3) return { entry: Object.freeze([key, version, who] as const), size: 0 };
  const { value, size } = checkValue((row as unknown[])[3], limits, `The value of key "${key}" in received state update entry ${index}`);
  return { entry: Object.freeze([key, version, who, value] as const), size };
}

function parse(input: unknown, limits: UpdateLimits): SizedUpdate {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw invalid(ERROR_TEXTS ? "it is not an object" : []);
  const format = own(input, "format");
  if (format !== UPDATE_FORMAT) {
    if (typeof format === "number") {
      throw new StateError(
        STATE_ERROR_CODES.UNSUPPORTED_FORMAT,
        ERROR_TEXTS ? `Received a state update in format ${format}; this code reads format ${UPDATE_FORMAT}. Nothing was applied; upgrade the older peer.` : [format, UPDATE_FORMAT],
        { details: { format } },
      );
    }
    throw invalid(ERROR_TEXTS ? `its format is ${String(format)}, not ${UPDATE_FORMAT}` : [String(format), UPDATE_FORMAT]);
  }
  const seq = own(input, "seq");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) throw invalid(ERROR_TEXTS ? "its seq is not a non-negative integer" : []);
  const entries = own(input, "entries");
  if (!Array.isArray(entries)) throw invalid(ERROR_TEXTS ? "its entries are not an array" : []);
  // Checked before a single row is read.
  if (entries.length > limits.maxEntriesPerUpdate) {
    throw new StateError(
      STATE_ERROR_CODES.TOO_MANY_ENTRIES,
      ERROR_TEXTS ? `Received a state update of ${entries.length} entries, over maxEntriesPerUpdate (${limits.maxEntriesPerUpdate}). Nothing was applied; ` +
        "the sender should cut its updates with splitUpdate, or every replica should raise the limit." : [entries.length, limits.maxEntriesPerUpdate],
      { details: { entries: entries.length, maxEntriesPerUpdate: limits.maxEntriesPerUpdate } },
    );
  }
  const parsed: UpdateEntry[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const { entry, size } = parseEntry((entries as unknown[])[i], i, limits);
    parsed.push(entry);
    sizes.push(size);
  }
  return { update: Object.freeze({ format: UPDATE_FORMAT, seq, entries: Object.freeze(parsed) }), sizes };
}

/**
 * Checks that `input`, data decoded from the network, is a {@link StateUpdate}
 * within `limits`, and returns a frozen copy (values deep-copied).
 *
 * Throws a {@link StateError}: `XPPG_ERR_STATE_INVALID_UPDATE`,
 * `XPPG_ERR_STATE_UNSUPPORTED_FORMAT`, `XPPG_ERR_STATE_TOO_MANY_ENTRIES`,
 * `XPPG_ERR_STATE_INVALID_KEY`, `XPPG_ERR_STATE_KEY_TOO_LONG`,
 * `XPPG_ERR_STATE_INVALID_VALUE` or `XPPG_ERR_STATE_VALUE_TOO_LARGE`.
 * Never anything else.
 */
export function parseUpdate(input: unknown, limits: UpdateLimits): StateUpdate {
  return parseSizedUpdate(input, limits).update;
}

/**
 * A parsed update with, for each of its entries, the approximate encoded
 * size of the value (0 for a delete), the measure `maxValueSize` uses.
 */
export interface SizedUpdate {
  readonly update: StateUpdate;
  /** `sizes[i]` belongs to `update.entries[i]`. */
  readonly sizes: readonly number[];
}

/**
 * {@link parseUpdate}, also returning the size of each value, which checking
 * it had to compute: `SharedState.apply` stages the rows with these sizes
 * rather than walking every received value a second time with
 * `measureValue`. Internal: not exported from the package.
 */
export function parseSizedUpdate(input: unknown, limits: UpdateLimits): SizedUpdate {
  try {
    return parse(input, limits);
  } catch (error) {
    if (error instanceof StateError) throw error;
    // A getter or Proxy trap that throws: the input was never plain data.
    throw new StateError(STATE_ERROR_CODES.INVALID_UPDATE, ERROR_TEXTS ? `Received a state update that cannot be read (${describe(error)}). Nothing was applied.` : [describe(error)], {
      cause: error,
    });
  }
}
