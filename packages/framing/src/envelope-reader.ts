/**
 * The receiving half of {@link EnvelopeCodec}: reads and validates one
 * envelope from the network's bytes. Every input is hostile: each length is
 * checked against the bytes present, strings must be valid UTF-8 within
 * their limits, unknown flags are refused, and a MessagePack payload has its
 * structure and depth checked as it is read (what it builds before a refusal
 * is bounded by the bytes read, whatever the lengths it declares).
 */

import type { MsgpackCodec } from "./msgpack-codec.js";
import { ENVELOPE_VERSION, MAX_KIND_LENGTH, MAX_PEER_ID_LENGTH } from "./constants.js";
import type { Envelope, EnvelopeLink } from "./envelope.js";
import { FLAG_SIGNATURE } from "./envelope-peek.js";
import { FIXED_HEADER, FLAG_BYTES, FLAG_DESTINATION, FLAG_LINK_DESTINATION, FLAG_LINK_SOURCE, KNOWN_FLAGS, LEAN_BYTES, LEAN_MARKER, MAX_UTF8_PER_CHAR, SIGNATURE_LENGTH, STRING_FLAGS, malformed } from "./envelope-layout.js";
import { FRAMING_ERROR_CODES, FramingError, frameTooLargeError } from "./errors.js";
import { DecodeCache } from "./string-cache.js";
import { ERROR_TEXTS } from "@xppg/errors";
import { LEAN, readLeanKind } from "#lean";
import { SCOPED_READS } from "#alloc";

const EMPTY_BUFFER = new ArrayBuffer(0);
/**
 * A reaction on this schedules a microtask with no more than a promise:
 * Node's `queueMicrotask` makes an async resource and a bound function for
 * each call, which a ping-pong paid on every message it read.
 */
const SETTLED: Promise<void> = Promise.resolve();
const TWO_32 = 0x1_0000_0000;
/** How many {@link scopeReads} calls are running: the reads made meanwhile end as the outermost returns, not at a microtask. */
let withinDepth = 0;
/** What ends the reads of the first reader that read while {@link scopeReads} runs (see `EnvelopeReader.read`). */
let withinEnd: (() => void) | null = null;
/**
 * What ends the reads of the others, rarely any: each reader once per scope
 * (its `#scope`), however many turns the readers take. Kept, not
 * emptied by its length: that would give up its memory and the next push
 * would allocate again.
 */
const withinEnds: Array<(() => void) | null> = [];
let withinCount = 0;
/** Outermost {@link scopeReads} calls begun: a reader is put in the list once per scope (see `EnvelopeReader.read`). */
let scopes = 0;

/** @internal For tests: how many readers the running {@link scopeReads} will end (each once, whatever its reads). */
export function scopedReaders(): number {
  return (withinEnd === null ? 0 : 1) + withinCount;
}

/**
 * Calls `target.read(data)` and ends, as it returns (or throws), the reads
 * any codec made during it: what a read leaves (see `EnvelopeCodec.envelopeOf`)
 * goes then, at once, instead of at the first microtask after the read,
 * and no microtask is scheduled for them. For a receiver that reads all of
 * a frame's envelopes synchronously: it lets go of the frame sooner, and a
 * stream of small messages costs one microtask less each.
 * Calls may nest; the outermost one's return ends the reads.
 */
export function scopeReads<T>(target: FrameTarget<T>, data: T): void {
  if (withinDepth++ === 0) scopes++;
  try {
    target.read(data);
  } finally {
    if (--withinDepth === 0 && withinEnd !== null) {
      withinEnd();
      withinEnd = null;
      for (let i = 0; i < withinCount; i++) {
        withinEnds[i]!();
        withinEnds[i] = null;
      }
      withinCount = 0;
    }
  }
}

/** `forget` ends a reader's reads as the outermost {@link scopeReads} returns (a reader's `#forgetView`, once a scope). */
function enlist(forget: () => void): void {
  if (withinEnd === null) withinEnd = forget;
  else withinEnds[withinCount++] = forget;
}

/** What {@link scopeReads} runs: `read(data)`, whose envelope reads end as it returns. */
export interface FrameTarget<T> {
  read(data: T): void;
}

/**
 * One envelope as {@link EnvelopeCodec.read} found it (checked as
 * `decode` checks it). The codec's own object: its next read overwrites it,
 * and once the read is over (at the first await or microtask after it, or
 * once the {@link scopeReads} it was made in returns) the
 * codec lets go of its frame: `payload` is then undefined and `signed` false.
 * Take what you need synchronously.
 */
export interface ReadEnvelope {
  /** As {@link Envelope.kind}. */
  readonly kind: string;
  /** As {@link Envelope.source}. */
  readonly source: string;
  /** As {@link Envelope.destination}. */
  readonly destination: string | null;
  /** As {@link Envelope.payload}. */
  readonly payload: unknown;
  /** True when the envelope carries a signature (its bytes, and those it signs, are in the whole envelope: {@link EnvelopeCodec.envelopeOf}). */
  readonly signed: boolean;
}

class EnvelopeRead implements ReadEnvelope {
  kind = "";
  source = "";
  destination: string | null = null;
  payload: unknown = undefined;
  signed = false;
  hopLimit = 0;
  idHigh = 0;
  idLow = 0;
  signature: Uint8Array | undefined = undefined;
  signedBytes: Uint8Array | undefined = undefined;
}

/** Reads envelopes for one {@link EnvelopeCodec}. */
export class EnvelopeReader {
  readonly #maxSize: number;
  readonly #maxPayloadDepth: number;
  readonly #msgpack: MsgpackCodec;
  readonly #texts = new DecodeCache();
  // The header strings of the last envelope read: a stream of messages
  // mostly repeats them, and one comparison replaces three string conversions.
  #decPrefix: Uint8Array = new Uint8Array(0);
  #decStringFlags = 0;
  #decStrings: { kind: string; source: string | null; destination: string | null } | null = null;
  /** What the last read found (see `read`). */
  readonly #read = new EnvelopeRead();
  #viewOf: Uint8Array | null = null;
  #viewBuffer: ArrayBufferLike = EMPTY_BUFFER;
  #viewOffset = 0;
  /** The MessagePack bytes of the last payload read (a view into its frame, forgotten with it). */
  #payloadBytes: Uint8Array | undefined;
  /**
   * The last read's object holds no envelope: the read failed part-way, or
   * its reading is over (see `#forgetView`); `envelopeOf` refuses it.
   */
  #spent = true;
  /** The {@link scopeReads} this reader was last put in the list of (see `scopes`): once per scope. */
  #scope = 0;
  /**
   * Run by the first microtask after a read (or as the outermost
   * `scopeReads` returns): from then on nothing here holds a frame, not the
   * views, and not the last read's payload (a view, or a value holding
   * views) and signed bytes, which would keep the last frame a connection
   * sent alive for as long as it stays idle.
   */
  readonly #forgetView = (): void => {
    this.#spent = true;
    this.#viewOf = null;
    this.#viewBuffer = EMPTY_BUFFER;
    this.#payloadBytes = undefined;
    const r = this.#read;
    r.payload = undefined;
    r.signed = false;
    r.signature = undefined;
    r.signedBytes = undefined;
  };

  /**
   * @param kinds where `readBytes` puts the kind it reads (Node only): the
   * codec, which hands `readBytes` out as its own (one call per message, not
   * a second one to copy the kind across). Set to "" here, so that its shape
   * does not change at the first read.
   */
  constructor(maxSize: number, maxPayloadDepth: number, msgpack: MsgpackCodec, kinds: { bytesKind: string | undefined }) {
    this.#maxSize = maxSize;
    this.#msgpack = msgpack;
    this.#maxPayloadDepth = maxPayloadDepth;
    // Node only, made here, not a method: a page's build carries none of it (see `readBytes`).
    if (LEAN) {
      kinds.bytesKind = "";
      // What runs once a scope or a frame is out of line (`enlist`, `#view`): what runs per envelope stays small enough for V8 to inline it.
      (this as { readBytes: EnvelopeReader["readBytes"] }).readBytes = (bytes, start, end, link) => {
        if (end - start > this.#maxSize || start >= end || bytes[start] !== (LEAN_MARKER | LEAN_BYTES) || link === undefined || link.lean !== true) return undefined;
        if (SCOPED_READS && withinDepth !== 0 && this.#scope !== scopes) {
          // As in `read`: this reader's reads end as the outermost `scopeReads` returns.
          this.#scope = scopes;
          enlist(this.#forgetView);
        }
        kinds.bytesKind = readLeanKind(bytes, start, end);
        // The read object holds no envelope from here on: `envelopeOf` refuses it.
        this.#spent = true;
        const pos = start + 2 + bytes[start + 1]!;
        return bytes === this.#viewOf ? new Uint8Array(this.#viewBuffer, this.#viewOffset + pos, end - pos) : this.#view(bytes, pos, end - pos);
      };
    }
  }

  /** See {@link EnvelopeCodec.read}. */
  read(bytes: Uint8Array, start = 0, end = bytes.length, link?: EnvelopeLink): ReadEnvelope {
    if (SCOPED_READS && withinDepth !== 0 && this.#scope !== scopes) {
      // This read, and this reader's others until then, end as the outermost `scopeReads` returns: put in once.
      this.#scope = scopes;
      enlist(this.#forgetView);
    }
    const size = end - start;
    if (size > this.#maxSize) throw frameTooLargeError(size, this.#maxSize, "received");
    // The compact layout, on a link that settled it: read as the full layout's direct message from the link's other end
    // to this one, hop limit 0, id 0, no signature, with the same checks. (A page reads its first byte as an unknown version.)
    if (LEAN && size > 0 && (bytes[start]! & ~LEAN_BYTES) === LEAN_MARKER) {
      if (link === undefined || link.lean !== true) {
        // Whatever its size: no peer sends one on a link that did not settle lean/1 (INTERNALS.md, "Compact direct envelopes").
        const marker = bytes[start]!;
        throw new FramingError(
          FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
          ERROR_TEXTS ? `The peer sent a compact direct envelope (first byte 0x${marker.toString(16)}) on a link that did not settle lean/1, ` +
            "where no peer sends one: its software is broken or hostile, not older. Check what runs there; this connection is dropped." : [marker],
          { details: { version: marker } },
        );
      }
      const kind = readLeanKind(bytes, start, end);
      const r = this.#read;
      this.#spent = true;
      r.kind = kind;
      r.source = link.remote;
      r.destination = link.local;
      r.hopLimit = 0;
      r.idHigh = 0;
      r.idLow = 0;
      if (r.signed) {
        r.signed = false;
        r.signature = undefined;
        r.signedBytes = undefined;
      }
      return this.#readBody(r, bytes, start + 2 + bytes[start + 1]!, end, (bytes[start]! & LEAN_BYTES) !== 0);
    }
    if (size < FIXED_HEADER) throw malformed(ERROR_TEXTS ? `it has ${size} bytes, fewer than the ${FIXED_HEADER}-byte header` : [size, FIXED_HEADER]);
    const version = bytes[start]!;
    if (version !== ENVELOPE_VERSION) {
      throw new FramingError(
        FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
        ERROR_TEXTS ? `Envelope version ${version} is not supported (this code reads version ${ENVELOPE_VERSION}). Upgrade the older peer.` : [version, ENVELOPE_VERSION],
        { details: { version } },
      );
    }
    const flags = bytes[start + 1]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) throw malformed(ERROR_TEXTS ? `it has unknown flags 0x${flags.toString(16)}` : [flags.toString(16)]);
    const high = ((bytes[start + 3]! << 24) | (bytes[start + 4]! << 16) | (bytes[start + 5]! << 8) | bytes[start + 6]!) >>> 0;
    if (high > 0x1f_ffff) throw malformed(ERROR_TEXTS ? "its id is not a safe integer" : []);
    const linkSource = (flags & FLAG_LINK_SOURCE) !== 0;
    const linkDestination = (flags & FLAG_LINK_DESTINATION) !== 0;
    if ((linkSource || linkDestination) && link === undefined) throw malformed(ERROR_TEXTS ? "it leaves out ids that only a direct link supplies" : []);
    if (linkDestination && (flags & FLAG_DESTINATION) === 0) throw malformed(ERROR_TEXTS ? "it names the link as destination without a destination flag" : []);
    if ((linkSource || linkDestination) && (flags & FLAG_SIGNATURE) !== 0) throw malformed(ERROR_TEXTS ? "a signed envelope must carry its ids" : []);
    let pos = start + FIXED_HEADER;
    let strings = this.#decStrings;
    const stringFlags = flags & STRING_FLAGS;
    const last = this.#decPrefix;
    // Hoisted: a length getter is not inlined in a loop over a Buffer.
    const lastLength = last.length;
    let same = strings !== null && stringFlags === this.#decStringFlags && pos + lastLength <= end;
    for (let i = 0; same && i < lastLength; i++) if (bytes[pos + i] !== last[i]) same = false;
    if (same) pos += lastLength;
    else {
      const kind = this.#readString(bytes, pos, end, MAX_KIND_LENGTH, "kind");
      pos += 2 + kind.bytes;
      let source: string | null = null;
      if (!linkSource) {
        const src = this.#readString(bytes, pos, end, MAX_PEER_ID_LENGTH, "source");
        source = src.text;
        pos += 2 + src.bytes;
      }
      let destination: string | null = null;
      if ((flags & FLAG_DESTINATION) !== 0 && !linkDestination) {
        const d = this.#readString(bytes, pos, end, MAX_PEER_ID_LENGTH, "destination");
        destination = d.text;
        pos += 2 + d.bytes;
      }
      strings = { kind: kind.text, source, destination };
      this.#decStrings = strings;
      this.#decStringFlags = stringFlags;
      this.#decPrefix = new Uint8Array(bytes.subarray(start + FIXED_HEADER, pos)); // a copy, not a view
    }
    const r = this.#read;
    // Overwritten from here on: no longer the object of an earlier read, and not yet this one's until it is whole.
    this.#spent = true;
    r.kind = strings!.kind;
    // Ids left out come from the link; the cache holds only what was written.
    r.source = linkSource ? link!.remote : strings!.source!;
    r.destination = linkDestination ? link!.local : strings!.destination;
    r.hopLimit = bytes[start + 2]!;
    // The id as its two halves: a number past 2^31 costs an allocation, and few readers want it.
    r.idHigh = high;
    r.idLow = ((bytes[start + 7]! << 24) | (bytes[start + 8]! << 16) | (bytes[start + 9]! << 8) | bytes[start + 10]!) >>> 0;
    if ((flags & FLAG_SIGNATURE) !== 0) {
      if (pos + SIGNATURE_LENGTH > end) throw malformed(ERROR_TEXTS ? "its signature is cut short" : []);
      r.signed = true;
      // A copy: whoever keeps a decode() or envelopeOf() result keeps its signature, and a view would keep the whole frame alive.
      r.signature = new Uint8Array(bytes.subarray(pos, pos + SIGNATURE_LENGTH));
      // What was signed: these bytes without the signature, hopLimit 0, flag cleared.
      const signedBytes = new Uint8Array(size - SIGNATURE_LENGTH);
      signedBytes.set(bytes.subarray(start, pos), 0);
      signedBytes.set(bytes.subarray(pos + SIGNATURE_LENGTH, end), pos - start);
      signedBytes[1] = flags & ~FLAG_SIGNATURE;
      signedBytes[2] = 0;
      r.signedBytes = signedBytes;
      pos += SIGNATURE_LENGTH;
    } else if (r.signed) {
      r.signed = false;
      r.signature = undefined;
      r.signedBytes = undefined;
    }
    return this.#readBody(r, bytes, pos, end, (flags & FLAG_BYTES) !== 0);
  }

  /**
   * `bytes[start, end)` as a compact direct envelope of raw bytes on `link`,
   * which settled `lean/1`: its payload, a view (its kind in the constructor's `kinds`,
   * its source and destination the link's two ends). Undefined, having read
   * nothing, for any other envelope: `read` reads it (and refuses what it
   * must). Throws as `read` does for a malformed kind. The view is handed
   * back, not kept here: storing it into this long-lived reader cost a write
   * barrier per message. Node only (set by the constructor, not a method: a
   * page's build, which reads no compact envelope, carries none of it).
   */
  declare readonly readBytes: ((bytes: Uint8Array, start: number, end: number, link: EnvelopeLink | undefined) => Uint8Array | undefined) | undefined;

  /** The payload, `bytes[pos, end)` (raw bytes or one MessagePack value), into `r`, which is then whole. */
  #readBody(r: EnvelopeRead, bytes: Uint8Array, pos: number, end: number, raw: boolean): EnvelopeRead {
    r.payload = undefined;
    // Plain Uint8Array views (not Buffer), whatever the transport handed in.
    const body = this.#view(bytes, pos, end - pos);
    this.#payloadBytes = undefined;
    if (raw) r.payload = body;
    else {
      r.payload = this.readPayload(body);
      this.#payloadBytes = body;
    }
    this.#spent = false;
    return r;
  }

  /** A payload's MessagePack bytes decoded within this reader's depth limit; any fault is a typed FramingError. */
  readPayload(body: Uint8Array): unknown {
    try {
      return this.#msgpack.decode(body, this.#maxPayloadDepth);
    } catch (cause) {
      // The structure's faults (truncated, too deep) are thrown as they are; what the value holds is explained.
      if (cause instanceof FramingError) throw cause;
      throw malformed(ERROR_TEXTS ? `its payload is not valid MessagePack (${(cause as Error).message})` : [(cause as Error).message], cause);
    }
  }

  /** See {@link EnvelopeCodec.payloadBytesOf}. */
  payloadBytesOf(payload: unknown): Uint8Array | undefined {
    // A copy: a view would keep the whole frame alive for as long as the caller keeps the bytes.
    return typeof payload === "object" && payload !== null && payload === this.#read.payload ? this.#payloadBytes?.slice() : undefined;
  }

  /** See {@link EnvelopeCodec.envelopeOf}. */
  envelopeOf(read: ReadEnvelope): Envelope {
    // Only this codec's own object holds the ids, hop limit and signature; any other would be read as if it did.
    // And only synchronously after a successful read: its payload and signature go at the first microtask (see #forgetView).
    if (read !== this.#read || this.#spent) throw new FramingError(FRAMING_ERROR_CODES.INVALID_ARGUMENT, ERROR_TEXTS ? "envelopeOf(read) takes what this codec's read() returned, synchronously (before any await or microtask, and before the scopeReads it was made in returns); call it at once, or decode() for a whole envelope." : []);
    const r = this.#read;
    const envelope: Envelope = { version: ENVELOPE_VERSION, kind: r.kind, source: r.source, destination: r.destination, id: r.idHigh * TWO_32 + r.idLow, hopLimit: r.hopLimit, payload: r.payload };
    if (r.signed) {
      envelope.signature = r.signature;
      envelope.signedBytes = r.signedBytes;
    }
    return envelope;
  }

  /**
   * A plain Uint8Array view of `length` bytes of `bytes` at `offset`. The
   * envelopes of one bundle share their frame, and reading a typed array's
   * `buffer` costs as much as making the view: the last frame's is kept.
   */
  #view(bytes: Uint8Array, offset: number, length: number): Uint8Array {
    if (bytes !== this.#viewOf) {
      // Forgotten once this burst of decoding is over: the codec must not keep a frame alive.
      // (Within `scopeReads`, as it returns: `read` has put this reader in its list.)
      if (this.#viewOf === null && (!SCOPED_READS || withinDepth === 0)) void SETTLED.then(this.#forgetView);
      this.#viewOf = bytes;
      this.#viewBuffer = bytes.buffer;
      this.#viewOffset = bytes.byteOffset;
    }
    return new Uint8Array(this.#viewBuffer, this.#viewOffset + offset, length);
  }

  #readString(bytes: Uint8Array, pos: number, end: number, maxChars: number, what: string): { text: string; bytes: number } {
    if (pos + 2 > end) throw malformed(ERROR_TEXTS ? `its ${what} is cut short` : [what]);
    const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
    if (length === 0) throw malformed(ERROR_TEXTS ? `its ${what} is empty` : [what]);
    if (length > maxChars * MAX_UTF8_PER_CHAR) throw malformed(ERROR_TEXTS ? `its ${what} is longer than ${maxChars} characters` : [what, maxChars]);
    const start = pos + 2;
    if (start + length > end) throw malformed(ERROR_TEXTS ? `its ${what} is cut short` : [what]);
    let text: string;
    try {
      text = this.#texts.get(bytes, start, start + length);
    } catch (cause) {
      throw malformed(ERROR_TEXTS ? `its ${what} is not valid UTF-8` : [what], cause);
    }
    if (text.length > maxChars) throw malformed(ERROR_TEXTS ? `its ${what} is longer than ${maxChars} characters` : [what, maxChars]);
    return { text, bytes: length };
  }
}
