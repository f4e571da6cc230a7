import { Decoder, Encoder } from "@msgpack/msgpack";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  ENVELOPE_VERSION,
  MAX_HOP_LIMIT,
  MAX_KIND_LENGTH,
  MAX_PEER_ID_LENGTH,
} from "./constants.js";
import { FRAMING_ERROR_CODES, FramingError, frameTooLargeError } from "./errors.js";
import { scanMsgpack } from "./msgpack-scan.js";

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
   * messages that may travel beyond one hop. Field 8 on the wire; nil when absent.
   */
  signature?: Uint8Array | undefined;
  /**
   * Set by `decode` when a signature is present: the bytes it signs (the
   * envelope's first seven fields as a 7-element MessagePack array, with
   * hopLimit written as 0, since relays lower it). Verify against these.
   */
  signedBytes?: Uint8Array | undefined;
  /**
   * Fields after the signature, kept as they came: later protocol versions
   * append fields that older readers skip. They are not signed.
   */
  extensions?: unknown[];
}

/** Options for {@link EnvelopeCodec}. */
export interface EnvelopeCodecOptions {
  /**
   * Largest encoded envelope, in bytes (keep it equal to the transport's maxFrameSize).
   * @default 1048576 (1 MiB)
   */
  maxSize?: number;
  /**
   * Deepest nesting of arrays and maps accepted in a received envelope.
   * @default 32
   */
  maxPayloadDepth?: number;
}

/**
 * Encodes and decodes envelopes as one MessagePack array:
 * `[version, kind, source, destination, id, hopLimit, payload, ...extensions]`.
 *
 * Decoding treats its input as hostile: the structure and depth are checked
 * before any value is built, string, binary and container sizes are capped,
 * `__proto__` keys are refused, and every field is validated. Any failure is
 * a {@link FramingError}; drop the connection it came from.
 */
export class EnvelopeCodec {
  readonly maxSize: number;
  readonly maxPayloadDepth: number;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #decoder: Decoder;

  constructor(options: EnvelopeCodecOptions = {}) {
    this.maxSize = options.maxSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxPayloadDepth = options.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH;
    this.#decoder = new Decoder({
      maxStrLength: this.maxSize,
      maxBinLength: this.maxSize,
      maxArrayLength: this.maxSize,
      maxMapLength: this.maxSize,
      maxExtLength: this.maxSize,
    });
  }

  /** Encodes an envelope. Throws `XPPG_ERR_UNENCODABLE_PAYLOAD` or `XPPG_ERR_FRAME_TOO_LARGE`. */
  encode(envelope: Envelope): Uint8Array {
    const fields: unknown[] = [
      envelope.version,
      envelope.kind,
      envelope.source,
      envelope.destination,
      envelope.id,
      envelope.hopLimit,
      envelope.payload,
    ];
    if (envelope.signature !== undefined || envelope.extensions !== undefined) fields.push(envelope.signature ?? null);
    if (envelope.extensions !== undefined) fields.push(...envelope.extensions);
    let bytes: Uint8Array;
    try {
      bytes = this.#encoder.encode(fields);
    } catch (cause) {
      throw new FramingError(
        FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD,
        `The payload of a "${envelope.kind}" message cannot be encoded: ${(cause as Error).message}. ` +
          "Send plain data: objects, arrays, strings, numbers, booleans, null and Uint8Array.",
        { cause },
      );
    }
    if (bytes.byteLength > this.maxSize) throw frameTooLargeError(bytes.byteLength, this.maxSize, "sent");
    return bytes;
  }

  /**
   * Encodes an envelope signed by its origin: `sign` receives the bytes to
   * sign (see {@link Envelope.signedBytes}) and returns a 64-byte signature.
   */
  encodeSigned(envelope: Envelope, sign: (signedBytes: Uint8Array) => Uint8Array): Uint8Array {
    const unsigned = this.encode({ ...envelope, hopLimit: 0, signature: undefined, extensions: undefined });
    const signature = sign(unsigned);
    if (!(signature instanceof Uint8Array) || signature.byteLength !== SIGNATURE_LENGTH) {
      throw new FramingError(FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD, `A signature must be ${SIGNATURE_LENGTH} bytes.`);
    }
    return this.encode({ ...envelope, signature });
  }

  /** Decodes and validates an envelope received from the network. */
  decode(bytes: Uint8Array): Envelope {
    if (bytes.byteLength > this.maxSize) throw frameTooLargeError(bytes.byteLength, this.maxSize, "received");
    const offsets: number[] = [];
    // +1: the envelope array itself is one level above the payload.
    scanMsgpack(bytes, this.maxPayloadDepth + 1, offsets);
    let value: unknown;
    try {
      value = this.#decoder.decode(bytes);
    } catch (cause) {
      throw malformed(`it is not valid MessagePack (${(cause as Error).message})`, cause);
    }
    if (!Array.isArray(value) || value.length < 7) throw malformed("it is not an array of at least 7 fields");
    const [version, kind, source, destination, id, hopLimit, payload] = value as unknown[];
    if (version !== ENVELOPE_VERSION) {
      throw new FramingError(
        FRAMING_ERROR_CODES.UNSUPPORTED_VERSION,
        `Envelope version ${String(version)} is not supported (this code reads version ${ENVELOPE_VERSION}). Upgrade the older peer.`,
        { details: { version } },
      );
    }
    if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_KIND_LENGTH) {
      throw malformed(`its kind must be a string of 1 to ${MAX_KIND_LENGTH} characters`);
    }
    if (typeof source !== "string" || source.length === 0 || source.length > MAX_PEER_ID_LENGTH) {
      throw malformed(`its source must be a peer id of 1 to ${MAX_PEER_ID_LENGTH} characters`);
    }
    if (destination !== null && (typeof destination !== "string" || destination.length === 0 || destination.length > MAX_PEER_ID_LENGTH)) {
      throw malformed("its destination must be null or a peer id");
    }
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) throw malformed("its id must be a non-negative integer");
    if (typeof hopLimit !== "number" || !Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > MAX_HOP_LIMIT) {
      throw malformed(`its hop limit must be an integer from 0 to ${MAX_HOP_LIMIT}`);
    }
    const envelope: Envelope = { version, kind, source, destination: destination as string | null, id, hopLimit, payload };
    if (value.length > 7) {
      const signature = value[7] as unknown;
      if (signature instanceof Uint8Array && signature.byteLength === SIGNATURE_LENGTH) {
        envelope.signature = signature;
        envelope.signedBytes = signedPart(bytes, offsets);
      } else if (signature !== null) {
        throw malformed(`its eighth field must be a ${SIGNATURE_LENGTH}-byte signature or nil`);
      }
      if (value.length > 8) envelope.extensions = value.slice(8);
    }
    return envelope;
  }
}

/**
 * The signed bytes of a received envelope, cut from the wire bytes without
 * re-encoding: a 7-element array header, fields 1 to 5, hopLimit as 0,
 * then the payload. `offsets` holds where each top-level field starts.
 */
function signedPart(bytes: Uint8Array, offsets: number[]): Uint8Array {
  const hopStart = offsets[5]!;
  const payloadStart = offsets[6]!;
  const payloadEnd = offsets[7]!;
  const head = bytes.subarray(offsets[0]!, hopStart);
  const payload = bytes.subarray(payloadStart, payloadEnd);
  const out = new Uint8Array(1 + head.byteLength + 1 + payload.byteLength);
  out[0] = 0x97; // fixarray of 7
  out.set(head, 1);
  out[1 + head.byteLength] = 0x00; // hopLimit 0
  out.set(payload, 2 + head.byteLength);
  return out;
}

function malformed(why: string, cause?: unknown): FramingError {
  return new FramingError(
    FRAMING_ERROR_CODES.MALFORMED_ENVELOPE,
    `Received a malformed envelope: ${why}. The sender is not speaking the xppg protocol; its connection is dropped.`,
    cause === undefined ? undefined : { cause },
  );
}
