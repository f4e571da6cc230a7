import { createMsgpackCodec, type MsgpackCodec } from "./msgpack-codec.js";
import { ERROR_TEXTS, checkByteArray, toError } from "@xppg/errors";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  ENVELOPE_VERSION,
  MAX_HOP_LIMIT,
  MAX_KIND_LENGTH,
  MAX_PEER_ID_LENGTH,
} from "./constants.js";
import { FLAG_SIGNATURE } from "./envelope-peek.js";
import {
  FIXED_HEADER,
  FLAG_BYTES,
  FLAG_DESTINATION,
  FLAG_LINK_DESTINATION,
  FLAG_LINK_SOURCE,
  LEAN_BYTES,
  LEAN_MARKER,
  SIGNATURE_LENGTH,
  allocate,
  checkId,
  checkString,
  putString,
  unencodable,
} from "./envelope-layout.js";
import { EnvelopeReader, type ReadEnvelope } from "./envelope-reader.js";
import { FRAMING_ERROR_CODES, FramingError, frameTooLargeError } from "./errors.js";
import { EncodeCache } from "./string-cache.js";
import { LEAN, leanKindPrefix } from "#lean";
import { SHORT_COPY_BYTES, STRAIGHT_COPIES, putBytes, putShort } from "#alloc";

export { SIGNATURE_LENGTH } from "./envelope-layout.js";
export type { ReadEnvelope } from "./envelope-reader.js";
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
  /**
   * Both ends settled the compact direct layout (`lean/1`): a message from
   * this end to the other with hop limit 0 and no signature leaves as
   * `[marker][kind length][kind][payload]` (no id, flags or hop limit), and
   * such a message is read. Unset: neither is.
   */
  lean?: boolean | undefined;
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

const TWO_32 = 0x1_0000_0000;
const NO_BODY = new Uint8Array(0);
/** No header strings checked yet: equal to no kind a caller can pass. */
const UNSET = Symbol("unset");
/** A message from one end of a link to the other: both ids left out. */
const LINK_FLAGS = FLAG_DESTINATION | FLAG_LINK_SOURCE | FLAG_LINK_DESTINATION;

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
 * checked as they are read (what is built before a refusal is bounded by the bytes read), sizes are capped and `__proto__` keys
 * are refused. Any failure is a {@link FramingError}; drop the connection it
 * came from. INTERNALS.md of `@xppg/node` documents the layout.
 */
export class EnvelopeCodec {
  readonly maxSize: number;
  readonly maxPayloadDepth: number;
  readonly #msgpack: MsgpackCodec;
  readonly #strings = new EncodeCache();
  // The header strings of the last envelope encoded (checked, with the
  // flags that left ids out): a stream of messages mostly repeats them, and
  // four comparisons replace three checks and three string conversions.
  #encKind: string | symbol = UNSET;
  #encSource = "";
  #encDestination: string | null = null;
  #encStringFlags = 0;
  #encPrefix: Uint8Array = new Uint8Array(0);
  // What #prepare measured for #write: the flags and the payload's bytes (not kept after).
  #outFlags = 0;
  #outBody: Uint8Array = NO_BODY;
  readonly #reader: EnvelopeReader;

  constructor(options: EnvelopeCodecOptions = {}) {
    this.maxSize = options.maxSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxPayloadDepth = options.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH;
    this.#msgpack = createMsgpackCodec();
    // The reader puts the kind `readBytes` reads here (Node only).
    this.#reader = new EnvelopeReader(this.maxSize, this.maxPayloadDepth, this.#msgpack, this);
    // Node only, made here, not a method: a page's build carries none of it (see `readBytes`).
    if (LEAN) {
      // The reader's own function, which puts the kind here.
      (this as { readBytes: EnvelopeCodec["readBytes"] }).readBytes = this.#reader.readBytes;
    }
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
      throw new FramingError(FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD, ERROR_TEXTS ? `A signature must be ${SIGNATURE_LENGTH} bytes.` : [SIGNATURE_LENGTH]);
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
    const { kind, source, destination, id, hopLimit, payload, signature } = envelope;
    return this.encodeFieldsInto(out, offset, kind, source, destination, id, hopLimit, payload, signature, link);
  }

  /**
   * {@link EnvelopeCodec.encodeInto} from the envelope's fields: a sender
   * of many small messages builds no envelope object for each.
   */
  encodeFieldsInto(
    out: Uint8Array,
    offset: number,
    kind: string,
    source: string,
    destination: string | null,
    id: number,
    hopLimit: number,
    payload: unknown,
    signature: Uint8Array | undefined,
    link: EnvelopeLink | undefined,
  ): number {
    // Nearly every message on a link both ends settled `lean/1` for: the compact layout, with
    // the checks of #prepare in its order (kind, id, payload, size). A kind too long for it takes the full one.
    if (LEAN && link !== undefined && link.lean === true && hopLimit === 0 && signature === undefined && source === link.local && destination === link.remote) {
      const prefix = leanKindPrefix(kind, this.#strings);
      if (prefix !== null) {
        checkId(id);
        const raw = payload instanceof Uint8Array;
        const body = raw ? payload : this.#encodePayload(kind, payload);
        const prefixLength = prefix.length;
        // A caller's bytes measured by the language's getter (their own `length` may lie: the bundle would carry
        // bytes of the buffer past what was copied), and refused if they are not a Uint8Array's.
        const total = 1 + prefixLength + (raw ? checkByteArray(body, "send", "payload") : body.length);
        if (total > this.maxSize) throw frameTooLargeError(total, this.maxSize, "sent");
        if (offset + total > out.length) return -total;
        out[offset] = raw ? LEAN_MARKER | LEAN_BYTES : LEAN_MARKER;
        const at = offset + 1;
        // By hand for a short kind, as in #write.
        if (prefixLength <= SHORT_COPY_BYTES) putShort(out, at, prefix);
        else putBytes(out, at, prefix);
        putBytes(out, at + prefixLength, body);
        return total;
      }
    }
    let total: number;
    // Nearly every message: raw bytes from one end of a link to the other, with the strings of the last one (checked):
    // what #prepare finds, with its checks in its order (the id's, then the size's).
    if (
      payload instanceof Uint8Array &&
      hopLimit === 0 &&
      signature === undefined &&
      this.#encStringFlags === LINK_FLAGS &&
      kind === this.#encKind &&
      source === this.#encSource &&
      destination === this.#encDestination &&
      link !== undefined &&
      source === link.local &&
      destination === link.remote
    ) {
      checkId(id);
      // The language's getter, as above.
      total = FIXED_HEADER + this.#encPrefix.length + checkByteArray(payload, "send", "payload");
      if (total > this.maxSize) throw frameTooLargeError(total, this.maxSize, "sent");
      this.#outFlags = LINK_FLAGS | FLAG_BYTES;
      this.#outBody = payload;
    } else total = this.#prepare(kind, source, destination, id, hopLimit, payload, signature, link);
    // `.length`, not `.byteLength`, here and below: the same for byte arrays, and V8 reads it several times faster.
    if (offset + total > out.length) {
      // Not written: let go of the payload (or the encoder's view) now, not at the next encode.
      this.#outBody = NO_BODY;
      return -total;
    }
    this.#write(out, offset, id, hopLimit, signature);
    return total;
  }

  #encode(envelope: Envelope, hopLimit: number, signature: Uint8Array | undefined): Uint8Array {
    const { kind, source, destination, id, payload } = envelope;
    const out = allocate(this.#prepare(kind, source, destination, id, hopLimit, payload, signature, undefined));
    this.#write(out, 0, id, hopLimit, signature);
    return out;
  }

  /**
   * Checks and measures an envelope; returns its size. What `#write` needs
   * is left in `#outFlags`, `#encPrefix` and `#outBody` (fields, not an
   * object per message).
   */
  #prepare(
    kind: string,
    source: string,
    destination: string | null,
    id: number,
    hopLimit: number,
    payload: unknown,
    signature: Uint8Array | undefined,
    link: EnvelopeLink | undefined,
  ): number {
    let flags = destination === null ? 0 : FLAG_DESTINATION;
    // Signed envelopes stay whole: relays forward them to peers of other links.
    if (link !== undefined && signature === undefined) {
      if (source === link.local) flags |= FLAG_LINK_SOURCE;
      if (destination !== null && destination === link.remote) flags |= FLAG_LINK_DESTINATION;
    }
    // The same strings as the last envelope's passed the same checks: only new ones are checked (first) and encoded.
    if (kind !== this.#encKind || source !== this.#encSource || destination !== this.#encDestination || flags !== this.#encStringFlags) {
      this.#newPrefix(kind, source, destination, flags);
    }
    checkId(id);
    if (!Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > MAX_HOP_LIMIT) throw unencodable(ERROR_TEXTS ? `the hop limit must be 0 to ${MAX_HOP_LIMIT}` : [MAX_HOP_LIMIT]);
    const prefix = this.#encPrefix;
    let body: Uint8Array;
    let bodyLength: number;
    if (payload instanceof Uint8Array) {
      body = payload;
      // The language's getter: a caller's own `length` may lie.
      bodyLength = checkByteArray(payload, "send", "payload");
      flags |= FLAG_BYTES;
    } else {
      // A view into the encoder's buffer: copied by #write before the next encode.
      body = this.#encodePayload(kind, payload);
      bodyLength = body.length;
    }
    if (signature !== undefined) flags |= FLAG_SIGNATURE;
    const total = FIXED_HEADER + prefix.length + (signature === undefined ? 0 : SIGNATURE_LENGTH) + bodyLength;
    if (total > this.maxSize) throw frameTooLargeError(total, this.maxSize, "sent");
    this.#outFlags = flags;
    this.#outBody = body;
    return total;
  }

  /** A payload as one MessagePack value: a view into the encoder's buffer, good until its next encode. */
  #encodePayload(kind: string, payload: unknown): Uint8Array {
    try {
      return this.#msgpack.encodeSharedRef(payload);
    } catch (cause) {
      throw new FramingError(
        FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD,
        ERROR_TEXTS ? `The payload of a "${kind}" message cannot be encoded: ${toError(cause).message}. ` +
          "Send plain data: objects, arrays, strings, numbers, booleans, null and Uint8Array." : [kind, toError(cause).message],
        { cause },
      );
    }
  }

  #write(out: Uint8Array, at: number, id: number, hopLimit: number, signature: Uint8Array | undefined): void {
    out[at] = ENVELOPE_VERSION;
    out[at + 1] = this.#outFlags;
    out[at + 2] = hopLimit;
    // Most ids fit 32 bits (a counter from a random 32-bit start): no division for those.
    const high = id < TWO_32 ? 0 : Math.floor(id / TWO_32);
    const low = id >>> 0;
    out[at + 3] = high >>> 24;
    out[at + 4] = (high >>> 16) & 0xff;
    out[at + 5] = (high >>> 8) & 0xff;
    out[at + 6] = high & 0xff;
    out[at + 7] = low >>> 24;
    out[at + 8] = (low >>> 16) & 0xff;
    out[at + 9] = (low >>> 8) & 0xff;
    out[at + 10] = low & 0xff;
    let pos = at + FIXED_HEADER;
    const prefix = this.#encPrefix;
    const prefixLength = prefix.length;
    // A short header (a kind alone, on a link) by hand: TypedArray#set costs
    // more than the copy. Longer parts by #set: element loops here ran
    // several times slower once the call sites saw both Buffer and Uint8Array.
    if (STRAIGHT_COPIES) {
      if (prefixLength <= SHORT_COPY_BYTES) putShort(out, pos, prefix);
      else putBytes(out, pos, prefix);
    } else if (prefixLength <= 16) for (let i = 0; i < prefixLength; i++) out[pos + i] = prefix[i]!;
    else out.set(prefix, pos);
    pos += prefixLength;
    if (signature !== undefined) {
      if (STRAIGHT_COPIES) putBytes(out, pos, signature);
      else out.set(signature, pos);
      pos += SIGNATURE_LENGTH;
    }
    if (STRAIGHT_COPIES) putBytes(out, pos, this.#outBody);
    else out.set(this.#outBody, pos);
    this.#outBody = NO_BODY;
  }

  /** Checks the header strings and encodes them (each a u16 length and UTF-8; ids the link supplies left out, as `flags` say). */
  #newPrefix(kind: string, source: string, destination: string | null, flags: number): void {
    checkString(kind, MAX_KIND_LENGTH, "kind");
    checkString(source, MAX_PEER_ID_LENGTH, "source");
    if (destination !== null) checkString(destination, MAX_PEER_ID_LENGTH, "destination");
    const k = this.#strings.get(kind);
    const src = (flags & FLAG_LINK_SOURCE) !== 0 ? null : this.#strings.get(source);
    const d = destination === null || (flags & FLAG_LINK_DESTINATION) !== 0 ? null : this.#strings.get(destination);
    const prefix = new Uint8Array(2 + k.byteLength + (src === null ? 0 : 2 + src.byteLength) + (d === null ? 0 : 2 + d.byteLength));
    let pos = putString(prefix, 0, k);
    if (src !== null) pos = putString(prefix, pos, src);
    if (d !== null) putString(prefix, pos, d);
    this.#encKind = kind;
    this.#encSource = source;
    this.#encDestination = destination;
    this.#encStringFlags = flags;
    this.#encPrefix = prefix;
  }

  /**
   * Decodes and validates an envelope received from the network: all of
   * `bytes`, or the part from `start` to `end` (no view is made of it).
   */
  decode(bytes: Uint8Array, start = 0, end = bytes.length, link?: EnvelopeLink): Envelope {
    const reader = this.#reader;
    return reader.envelopeOf(reader.read(bytes, start, end, link));
  }

  /**
   * Reads and validates an envelope as {@link EnvelopeCodec.decode} does
   * (it accepts and refuses exactly the same bytes), without building the
   * envelope: its fields go into one object of the codec's own, overwritten
   * by the next `read` or `decode`, so take what you need from it at once.
   * A receiver of many small messages builds no object for each; it makes
   * the whole {@link Envelope} with {@link EnvelopeCodec.envelopeOf} only
   * when it needs one (an id, a signature to check, an envelope to keep).
   */
  read(bytes: Uint8Array, start = 0, end = bytes.length, link?: EnvelopeLink): ReadEnvelope {
    return this.#reader.read(bytes, start, end, link);
  }

  /** The kind of the envelope {@link EnvelopeCodec.readBytes} read last, "" before the first (Node only: undefined in a page's build). */
  declare bytesKind: string | undefined;

  /**
   * A compact direct envelope of raw bytes on a link that settled `lean/1`:
   * its payload (a view, valid as `read`'s), its kind in
   * {@link EnvelopeCodec.bytesKind}; undefined, having read nothing, for any
   * other envelope, read then with `read`. Throws as `read` does. For a
   * receiver of many small messages of raw bytes: the payload is handed
   * back, not stored. Node only: undefined in a page's build, which reads no
   * compact envelope.
   */
  declare readonly readBytes: ((bytes: Uint8Array, start: number, end: number, link: EnvelopeLink | undefined) => Uint8Array | undefined) | undefined;

  /**
   * The whole envelope of what {@link EnvelopeCodec.read} returned last, called synchronously after that read (before any await or microtask, before the `scopeReads` it was made in returns, and before the codec's next read or decode).
   *
   * @throws `XPPG_ERR_INVALID_ARGUMENT` when `read` is not the object this codec's own `read` returned, or when called after an await or a microtask, or once the `scopeReads` it was made in returns (the codec has let go of that read's payload and signature, so as not to keep their frame).
   */
  envelopeOf(read: ReadEnvelope): Envelope {
    return this.#reader.envelopeOf(read);
  }

  /**
   * The MessagePack bytes `payload` was read from, when it is the payload
   * (an array or object) of the envelope this codec read last, called
   * synchronously after that read (before any await or microtask, and
   * before the `scopeReads` it was made in returns); else
   * undefined. A copy, the caller's own (a view would keep the whole frame
   * alive). To keep a message as it came, for
   * {@link EnvelopeCodec.readPayload} later (decoding the value encoded again
   * would not give it back: -0, an invalid date, malformed UTF-8).
   */
  payloadBytesOf(payload: unknown): Uint8Array | undefined {
    return this.#reader.payloadBytesOf(payload);
  }

  /** The payload in bytes {@link EnvelopeCodec.payloadBytesOf} gave: the same value as when the envelope was read (its faults typed, as then). */
  readPayload(bytes: Uint8Array): unknown {
    return this.#reader.readPayload(bytes);
  }
}

