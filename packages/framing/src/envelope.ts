import { createMsgpackCodec, type MsgpackCodec } from "./msgpack-codec.js";
import { toError } from "@xppg/errors";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  ENVELOPE_VERSION,
  MAX_HOP_LIMIT,
  MAX_KIND_LENGTH,
  MAX_PEER_ID_LENGTH,
} from "./constants.js";
import { FLAG_SIGNATURE } from "./envelope-peek.js";
import { FRAMING_ERROR_CODES, FramingError, frameTooLargeError } from "./errors.js";
import { scanMsgpack } from "./msgpack-scan.js";
import { DecodeCache, EncodeCache } from "./string-cache.js";

/** Bytes in an Ed25519 signature, the one kind envelopes carry. */
export const SIGNATURE_LENGTH = 64;

/**
 * One message between peers. Payloads are plain data: objects, arrays,
 * strings, numbers, booleans, null, and `Uint8Array`, which travels as raw
 * bytes (never inflated to base64).
 */
export interface Envelope<P = unknown> {
  /** Layout version; {@link ENVELOPE_VERSION} for envelopes this code writes. */
  version: number;
  /** What the message is about (`"text"`, `"move"`); the receiver dispatches on it. */
  kind: string;
  /** The peer id of the sender that created the message. */
  source: string;
  /** The peer id it is for; `null` means everyone (a broadcast). */
  destination: string | null;
  /** Unique per source: with `source`, it identifies a message (for dedupe and replies). */
  id: number;
  /** How many more times the message may be forwarded; 0 means deliver, never forward. */
  hopLimit: number;
  /** The message body. */
  payload: P;
  /**
   * The origin's signature (64 bytes) over {@link Envelope.signedBytes}, for
   * messages that may travel beyond one hop.
   */
  signature?: Uint8Array | undefined;
  /**
   * Set by `decode` when a signature is present: the bytes it signs (the
   * envelope as encoded without the signature and with hopLimit 0, since
   * relays lower it). Verify against these.
   */
  signedBytes?: Uint8Array | undefined;
}

/**
 * The two ends of a direct link. Envelopes on a link whose source is the
 * sender and whose destination is the receiver leave those ids out (they
 * are known from the link): a small message shrinks by two peer ids.
 * Signed envelopes always carry their source.
 */
export interface EnvelopeLink {
  /** This end's peer id. */
  local: string;
  /** The other end's peer id. */
  remote: string;
}

/** An envelope measured and ready to write. */
interface Prepared {
  prefix: Uint8Array;
  body: Uint8Array;
  flags: number;
  total: number;
}

/** Options for {@link EnvelopeCodec}. */
export interface EnvelopeCodecOptions {
  /**
   * Largest encoded envelope, in bytes (keep it equal to the transport's maxFrameSize).
   * @default 1048576 (1 MiB)
   */
  maxSize?: number;
  /**
   * Deepest nesting of arrays and maps accepted in a received payload.
   * @default 32
   */
  maxPayloadDepth?: number;
}

// Layout (all integers big-endian):
//   0  u8  version
//   1  u8  flags (FLAG_*)
//   2  u8  hopLimit
//   3  u32 id, high 21 bits   \ a safe integer, split so each part fits a u32
//   7  u32 id, low 32 bits    /
//   11 u16 kind length, kind (UTF-8)
//      u16 source length, source                unless FLAG_LINK_SOURCE
//      [u16 destination length, destination]   when FLAG_DESTINATION and not FLAG_LINK_DESTINATION
//      [64-byte signature]                      when FLAG_SIGNATURE
//      payload: the rest; raw bytes when FLAG_BYTES, else one MessagePack value
const FLAG_DESTINATION = 0x01;
const FLAG_BYTES = 0x04;
/** The source is not written: it is the peer at the other end of the link. */
const FLAG_LINK_SOURCE = 0x08;
/** The destination is not written: it is the receiver at the other end of the link. */
const FLAG_LINK_DESTINATION = 0x10;
const KNOWN_FLAGS = FLAG_DESTINATION | FLAG_SIGNATURE | FLAG_BYTES | FLAG_LINK_SOURCE | FLAG_LINK_DESTINATION;
/** The flags that decide which strings follow the fixed header. */
const STRING_FLAGS = FLAG_DESTINATION | FLAG_LINK_SOURCE | FLAG_LINK_DESTINATION;
const FIXED_HEADER = 11;
const EMPTY_BUFFER = new ArrayBuffer(0);
/** Most UTF-8 bytes a string of `n` characters (UTF-16 units) can take. */
const MAX_UTF8_PER_CHAR = 3;

/**
 * Encodes and decodes envelopes: a compact binary header (version, flags,
 * hop limit, id, kind, source, destination, signature) followed by the
 * payload, which is raw bytes when it is a `Uint8Array` and one MessagePack
 * value otherwise. The header's strings are cached both ways, so the hot
 * path costs little more than a copy of the payload.
 *
 * Decoding treats its input as hostile: every length is checked against the
 * bytes present, strings must be valid UTF-8 within their limits, unknown
 * flags are refused, MessagePack payloads have their structure and depth
 * checked before any value is built, sizes are capped and `__proto__` keys
 * are refused. Any failure is a {@link FramingError}; drop the connection it
 * came from. INTERNALS.md of `@xppg/node` documents the layout.
 */
export class EnvelopeCodec {
  readonly maxSize: number;
  readonly maxPayloadDepth: number;
  readonly #msgpack: MsgpackCodec;
  readonly #strings = new EncodeCache();
  readonly #texts = new DecodeCache();
  // The header strings of the last envelope encoded and decoded: a stream
  // of messages mostly repeats them, and one comparison replaces three
  // string conversions.
  #encKind = "";
  #encSource: string | null = "";
  #encDestination: string | null = null;
  #encPrefix: Uint8Array = new Uint8Array(0);
  #decPrefix: Uint8Array = new Uint8Array(0);
  #decStringFlags = 0;
  #decStrings: { kind: string; source: string | null; destination: string | null } | null = null;
  // The frame the last payload view was made of (see #view).
  #viewOf: Uint8Array | null = null;
  #viewBuffer: ArrayBufferLike = EMPTY_BUFFER;
  #viewOffset = 0;
  readonly #forgetView = (): void => {
    this.#viewOf = null;
    this.#viewBuffer = EMPTY_BUFFER;
  };

  constructor(options: EnvelopeCodecOptions = {}) {
    this.maxSize = options.maxSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxPayloadDepth = options.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH;
    this.#msgpack = createMsgpackCodec();
  }

  /** Encodes an envelope. Throws `XPPG_ERR_UNENCODABLE_PAYLOAD` or `XPPG_ERR_FRAME_TOO_LARGE`. */
  encode(envelope: Envelope): Uint8Array {
    return this.#encode(envelope, envelope.hopLimit, envelope.signature);
  }

  /**
   * Encodes an envelope signed by its origin: `sign` receives the bytes to
   * sign (see {@link Envelope.signedBytes}) and returns a 64-byte signature.
   */
  encodeSigned(envelope: Envelope, sign: (signedBytes: Uint8Array) => Uint8Array): Uint8Array {
    const signature = sign(this.#encode(envelope, 0, undefined));
    if (!(signature instanceof Uint8Array) || signature.byteLength !== SIGNATURE_LENGTH) {
      throw new FramingError(FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD, `A signature must be ${SIGNATURE_LENGTH} bytes.`);
    }
    return this.#encode(envelope, envelope.hopLimit, signature);
  }

  /**
   * Encodes an envelope straight into `out` at `offset` (no allocation, no
   * extra copy: how a sender batches many small messages into one buffer).
   * Returns the bytes written; when `out` has too little room left, writes
   * nothing and returns minus the bytes needed. Throws as
   * {@link EnvelopeCodec.encode} does.
   */
  encodeInto(envelope: Envelope, out: Uint8Array, offset: number, link?: EnvelopeLink): number {
    const prep = this.#prepare(envelope, envelope.hopLimit, envelope.signature, link);
    // `.length`, not `.byteLength`, here and below: the same for byte arrays, and V8 reads it several times faster.
    if (offset + prep.total > out.length) return -prep.total;
    this.#write(out, offset, prep, envelope.id, envelope.hopLimit, envelope.signature);
    return prep.total;
  }

  #encode(envelope: Envelope, hopLimit: number, signature: Uint8Array | undefined): Uint8Array {
    const prep = this.#prepare(envelope, hopLimit, signature);
    const out = allocate(prep.total);
    this.#write(out, 0, prep, envelope.id, hopLimit, signature);
    return out;
  }

  #prepare(envelope: Envelope, hopLimit: number, signature: Uint8Array | undefined, link?: EnvelopeLink): Prepared {
    const { kind, source, destination, id, payload } = envelope;
    checkString(kind, MAX_KIND_LENGTH, "kind");
    checkString(source, MAX_PEER_ID_LENGTH, "source");
    if (destination !== null) checkString(destination, MAX_PEER_ID_LENGTH, "destination");
    if (!Number.isSafeInteger(id) || id < 0) throw unencodable(`the id must be a non-negative safe integer, got ${id}`);
    if (!Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > MAX_HOP_LIMIT) throw unencodable(`the hop limit must be 0 to ${MAX_HOP_LIMIT}`);
    let flags = 0;
    // Signed envelopes stay whole: relays forward them to peers of other links.
    if (link !== undefined && signature === undefined) {
      if (source === link.local) flags |= FLAG_LINK_SOURCE;
      if (destination !== null && destination === link.remote) flags |= FLAG_LINK_DESTINATION;
    }
    const prefix = this.#prefix(kind, (flags & FLAG_LINK_SOURCE) !== 0 ? null : source, (flags & FLAG_LINK_DESTINATION) !== 0 ? null : destination);
    let body: Uint8Array;
    if (payload instanceof Uint8Array) {
      body = payload;
      flags |= FLAG_BYTES;
    } else {
      try {
        // A view into the encoder's buffer: copied by #write before the next encode.
        body = this.#msgpack.encodeSharedRef(payload);
      } catch (cause) {
        throw new FramingError(
          FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD,
          `The payload of a "${kind}" message cannot be encoded: ${toError(cause).message}. ` +
            "Send plain data: objects, arrays, strings, numbers, booleans, null and Uint8Array.",
          { cause },
        );
      }
    }
    if (destination !== null) flags |= FLAG_DESTINATION;
    if (signature !== undefined) flags |= FLAG_SIGNATURE;
    const total = FIXED_HEADER + prefix.length + (signature === undefined ? 0 : SIGNATURE_LENGTH) + body.length;
    if (total > this.maxSize) throw frameTooLargeError(total, this.maxSize, "sent");
    return { prefix, body, flags, total };
  }

  #write(out: Uint8Array, at: number, prep: Prepared, id: number, hopLimit: number, signature: Uint8Array | undefined): void {
    out[at] = ENVELOPE_VERSION;
    out[at + 1] = prep.flags;
    out[at + 2] = hopLimit;
    const high = Math.floor(id / 0x1_0000_0000);
    const low = id >>> 0;
    out[at + 3] = high >>> 24;
    out[at + 4] = (high >>> 16) & 0xff;
    out[at + 5] = (high >>> 8) & 0xff;
    out[at + 6] = high & 0xff;
    out[at + 7] = low >>> 24;
    out[at + 8] = (low >>> 16) & 0xff;
    out[at + 9] = (low >>> 8) & 0xff;
    out[at + 10] = low & 0xff;
    // TypedArray#set: element loops here ran several times slower once the
    // call sites saw both Buffer and Uint8Array.
    let pos = at + FIXED_HEADER;
    out.set(prep.prefix, pos);
    pos += prep.prefix.length;
    if (signature !== undefined) {
      out.set(signature, pos);
      pos += SIGNATURE_LENGTH;
    }
    out.set(prep.body, pos);
  }

  /** The encoded kind, source and destination (each a u16 length and UTF-8). */
  #prefix(kind: string, source: string | null, destination: string | null): Uint8Array {
    if (kind === this.#encKind && source === this.#encSource && destination === this.#encDestination) return this.#encPrefix;
    const k = this.#strings.get(kind);
    const src = source === null ? null : this.#strings.get(source);
    const d = destination === null ? null : this.#strings.get(destination);
    const prefix = new Uint8Array(2 + k.byteLength + (src === null ? 0 : 2 + src.byteLength) + (d === null ? 0 : 2 + d.byteLength));
    let pos = putString(prefix, 0, k);
    if (src !== null) pos = putString(prefix, pos, src);
    if (d !== null) putString(prefix, pos, d);
    this.#encKind = kind;
    this.#encSource = source;
    this.#encDestination = destination;
    this.#encPrefix = prefix;
    return prefix;
  }

  /**
   * Decodes and validates an envelope received from the network: all of
   * `bytes`, or the part from `start` to `end` (no view is made of it).
   */
  decode(bytes: Uint8Array, start = 0, end = bytes.length, link?: EnvelopeLink): Envelope {
    const size = end - start;
    if (size > this.maxSize) throw frameTooLargeError(size, this.maxSize, "received");
    if (size < FIXED_HEADER) throw malformed(`it has ${size} bytes, fewer than the ${FIXED_HEADER}-byte header`);
    const version = bytes[start]!;
    if (version !== ENVELOPE_VERSION) {
      throw new FramingError(
        FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
        `Envelope version ${version} is not supported (this code reads version ${ENVELOPE_VERSION}). Upgrade the older peer.`,
        { details: { version } },
      );
    }
    const flags = bytes[start + 1]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) throw malformed(`it has unknown flags 0x${flags.toString(16)}`);
    const hopLimit = bytes[start + 2]!;
    const high = ((bytes[start + 3]! << 24) | (bytes[start + 4]! << 16) | (bytes[start + 5]! << 8) | bytes[start + 6]!) >>> 0;
    const low = ((bytes[start + 7]! << 24) | (bytes[start + 8]! << 16) | (bytes[start + 9]! << 8) | bytes[start + 10]!) >>> 0;
    if (high > 0x1f_ffff) throw malformed("its id is not a safe integer");
    const id = high * 0x1_0000_0000 + low;
    const linkSource = (flags & FLAG_LINK_SOURCE) !== 0;
    const linkDestination = (flags & FLAG_LINK_DESTINATION) !== 0;
    if ((linkSource || linkDestination) && link === undefined) throw malformed("it leaves out ids that only a direct link supplies");
    if (linkDestination && (flags & FLAG_DESTINATION) === 0) throw malformed("it names the link as destination without a destination flag");
    if ((linkSource || linkDestination) && (flags & FLAG_SIGNATURE) !== 0) throw malformed("a signed envelope must carry its ids");
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
    // Ids left out come from the link; the cache holds only what was written.
    const source = linkSource ? link!.remote : strings!.source!;
    const destination = linkDestination ? link!.local : strings!.destination;
    let signature: Uint8Array | undefined;
    let signedBytes: Uint8Array | undefined;
    if ((flags & FLAG_SIGNATURE) !== 0) {
      if (pos + SIGNATURE_LENGTH > end) throw malformed("its signature is cut short");
      signature = this.#view(bytes, pos, SIGNATURE_LENGTH);
      // What was signed: these bytes without the signature, hopLimit 0, flag cleared.
      signedBytes = new Uint8Array(size - SIGNATURE_LENGTH);
      signedBytes.set(bytes.subarray(start, pos), 0);
      signedBytes.set(bytes.subarray(pos + SIGNATURE_LENGTH, end), pos - start);
      signedBytes[1] = flags & ~FLAG_SIGNATURE;
      signedBytes[2] = 0;
      pos += SIGNATURE_LENGTH;
    }
    // Plain Uint8Array views (not Buffer), whatever the transport handed in.
    const body = this.#view(bytes, pos, end - pos);
    let payload: unknown;
    if ((flags & FLAG_BYTES) !== 0) payload = body;
    else {
      scanMsgpack(body, this.maxPayloadDepth);
      try {
        payload = this.#msgpack.decode(body);
      } catch (cause) {
        throw malformed(`its payload is not valid MessagePack (${(cause as Error).message})`, cause);
      }
    }
    const envelope: Envelope = { version, kind: strings!.kind, source, destination, id, hopLimit, payload };
    if (signature !== undefined) {
      envelope.signature = signature;
      envelope.signedBytes = signedBytes;
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
      if (this.#viewOf === null) queueMicrotask(this.#forgetView);
      this.#viewOf = bytes;
      this.#viewBuffer = bytes.buffer;
      this.#viewOffset = bytes.byteOffset;
    }
    return new Uint8Array(this.#viewBuffer, this.#viewOffset + offset, length);
  }

  #readString(bytes: Uint8Array, pos: number, end: number, maxChars: number, what: string): { text: string; bytes: number } {
    if (pos + 2 > end) throw malformed(`its ${what} is cut short`);
    const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
    if (length === 0) throw malformed(`its ${what} is empty`);
    if (length > maxChars * MAX_UTF8_PER_CHAR) throw malformed(`its ${what} is longer than ${maxChars} characters`);
    const start = pos + 2;
    if (start + length > end) throw malformed(`its ${what} is cut short`);
    let text: string;
    try {
      text = this.#texts.get(bytes, start, start + length);
    } catch (cause) {
      throw malformed(`its ${what} is not valid UTF-8`, cause);
    }
    if (text.length > maxChars) throw malformed(`its ${what} is longer than ${maxChars} characters`);
    return { text, bytes: length };
  }
}


function checkString(value: unknown, maxChars: number, what: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > maxChars) {
    throw unencodable(`the ${what} must be a string of 1 to ${maxChars} characters`);
  }
}

function putString(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  out[pos] = bytes.byteLength >>> 8;
  out[pos + 1] = bytes.byteLength & 0xff;
  out.set(bytes, pos + 2);
  return pos + 2 + bytes.byteLength;
}

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
function allocate(size: number): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size);
}

function unencodable(why: string): FramingError {
  return new FramingError(FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD, `The envelope cannot be encoded: ${why}.`);
}

function malformed(why: string, cause?: unknown): FramingError {
  return new FramingError(
    FRAMING_ERROR_CODES.MALFORMED_ENVELOPE,
    `Received a malformed envelope: ${why}. The sender is not speaking the xppg protocol; its connection is dropped.`,
    { cause },
  );
}
