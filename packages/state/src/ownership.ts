import { STATE_ERROR_CODES, StateError, describe } from "./errors.js";
import type { UpdateEntry } from "./update.js";
import { isBytes, type StateValue } from "./value.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/**
 * A writer with its signature, as a signed row carries it on the wire:
 * `[writerId, signature]` in place of the plain writer id.
 */
export type SignedWriter = readonly [writer: string, signature: Uint8Array];

/** Longest signature accepted in a row, in bytes (Ed25519 signatures are 64). */
export const MAX_SIGNATURE_LENGTH = 128;

/** The writer id of a row's writer field, and its signature if it has one. */
export function splitWriter(writer: string | SignedWriter): [id: string, signature: Uint8Array | undefined] {
  return typeof writer === "string" ? [writer, undefined] : [writer[0], writer[1]];
}

/**
 * The peer that owns `key`, for a key in a peer's namespace (`@<peerId>/...`,
 * at least one character of id); `undefined` for a shared key.
 */
export function keyOwner(key: string): string | undefined {
  if (!key.startsWith("@")) return undefined;
  const slash = key.indexOf("/");
  return slash > 1 ? key.slice(1, slash) : undefined;
}

/**
 * Signs this replica's writes to keys it owns (the node passes its
 * identity's Ed25519 `sign`; a page's, whose signature comes later, `signAsync`).
 */
export type WriteSigner = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/**
 * Checks a signature of `data` by the replica `writer` (the node checks an
 * Ed25519 signature by the key the peer id names). Must return false, not
 * throw, for anything malformed.
 */
export type WriteVerifier = (writer: string, data: Uint8Array, signature: Uint8Array) => boolean;

/** An application rule: may `writer` write `key`? Called for local and received writes (see the README for what a writer id proves). */
export type WritePolicy = (writer: string, key: string) => boolean;

const encoder = new TextEncoder();

/** A canonical tagged form of a value: equal values give equal text, whatever order their object keys were made in. */
function canonical(value: StateValue): unknown {
  if (value === null) return ["z"];
  switch (typeof value) {
    case "boolean":
      return [value ? "t" : "f"];
    case "number":
      return ["n", String(value)];
    case "string":
      return ["s", value];
    default:
      break;
  }
  if (isBytes(value)) return ["b", Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")];
  if (Array.isArray(value)) return ["a", ...(value as readonly StateValue[]).map(canonical)];
  const object = value as Readonly<Record<string, StateValue>>;
  const out: unknown[] = ["o"];
  for (const key of Object.keys(object).sort()) out.push(key, canonical(object[key] as StateValue));
  return out;
}

/**
 * The bytes a write's signature covers: the key, the version, the writer
 * id and the value (or that it is a delete), in a canonical text form
 * behind a domain tag, so a signature for one write never fits another.
 */
export function signingBytes(key: string, version: number, writer: string, value: StateValue | undefined): Uint8Array {
  return encoder.encode(JSON.stringify(["xppg/state-write/1", key, version, writer, value === undefined ? ["d"] : canonical(value)]));
}

/** The error for a write that ownership or `canWrite` forbids. */
export function notAllowed(where: string, key: string, writer: string, why: ErrorText): StateError {
  return new StateError(
    STATE_ERROR_CODES.WRITE_NOT_ALLOWED,
    ERROR_TEXTS ? `${where}: ${writer} may not write key "${key}" (${why}). Nothing was changed; keys "@<peerId>/..." belong to that peer, and the canWrite option decides the rest.` : [where, writer, key, why],
    { details: { key, writer } },
  );
}

/** The ownership options of a state. */
export interface OwnershipRules {
  readonly sign: WriteSigner | undefined;
  readonly verify: WriteVerifier | undefined;
  readonly canWrite: WritePolicy | undefined;
}

function allowed(policy: WritePolicy, writer: string, key: string, where: string): boolean {
  try {
    return policy(writer, key) === true;
  } catch (error) {
    throw new StateError(STATE_ERROR_CODES.WRITE_NOT_ALLOWED, ERROR_TEXTS ? `${where}: the canWrite option threw (${describe(error)}) for key "${key}"; the write is refused.` : [where, describe(error), key], {
      cause: error,
      details: { key, writer },
    });
  }
}

/**
 * Throws `WRITE_NOT_ALLOWED` unless every received row may be held: with
 * `verify`, a row of a key `@<id>/...` must be written by `id` and carry
 * its valid signature (wherever it came from: the signature is the
 * writer's, not the sender's); with `canWrite`, the rule must say yes.
 *
 * `settled(entry)` says a row needs no signature check because it cannot
 * change what is held (older than the key's version, or the very write
 * already held and checked), so an update sent again, by its writer or
 * anyone who forwards it, costs no signature checks the second time.
 */
export function checkReceivedWrites(entries: readonly UpdateEntry[], rules: OwnershipRules, settled?: (entry: UpdateEntry) => boolean): void {
  if (rules.verify === undefined && rules.canWrite === undefined) return;
  const where = "Received state update";
  for (const entry of entries) {
    const [key, version, signed] = entry;
    const [writer, sig] = splitWriter(signed);
    const owner = rules.verify === undefined ? undefined : keyOwner(key);
    if (owner !== undefined && settled?.(entry) !== true) {
      if (writer !== owner) throw notAllowed(where, key, writer, ERROR_TEXTS ? `the key belongs to ${owner}` : [owner]);
      if (sig === undefined) throw notAllowed(where, key, writer, ERROR_TEXTS ? "the write is not signed" : []);
      let valid: boolean;
      try {
        valid = (rules.verify as WriteVerifier)(writer, signingBytes(key, version, writer, entry.length === 4 ? entry[3] : undefined), sig) === true;
      } catch {
        valid = false;
      }
      if (!valid) throw notAllowed(where, key, writer, ERROR_TEXTS ? "its signature is not the writer's" : []);
    }
    if (rules.canWrite !== undefined && !allowed(rules.canWrite, writer, key, where)) throw notAllowed(where, key, writer, ERROR_TEXTS ? "canWrite said no" : []);
  }
}

/**
 * Checks a local write of `key` and returns its signature (for a key this
 * replica owns, when it has `sign`), or undefined.
 */
export function authorizeLocal(key: string, version: number, writer: string, value: StateValue | undefined, rules: OwnershipRules): Uint8Array | Promise<Uint8Array> | undefined {
  const where = value === undefined ? `SharedState.delete("${key}")` : `SharedState.set("${key}")`;
  const owner = keyOwner(key);
  if (owner !== undefined && rules.verify !== undefined) {
    if (owner !== writer) throw notAllowed(where, key, writer, ERROR_TEXTS ? `the key belongs to ${owner}` : [owner]);
    if (rules.sign === undefined) throw notAllowed(where, key, writer, ERROR_TEXTS ? "this replica has no sign option to sign its own keys with" : []);
  }
  if (rules.canWrite !== undefined && !allowed(rules.canWrite, writer, key, where)) throw notAllowed(where, key, writer, ERROR_TEXTS ? "canWrite said no" : []);
  return owner === writer && rules.sign !== undefined ? rules.sign(signingBytes(key, version, writer, value)) : undefined;
}
