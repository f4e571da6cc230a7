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
   * Fields after the seven above, kept as they came: later protocol versions
   * append fields (a signature, say) that older readers skip.
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

  /** Decodes and validates an envelope received from the network. */
  decode(bytes: Uint8Array): Envelope {
    if (bytes.byteLength > this.maxSize) throw frameTooLargeError(bytes.byteLength, this.maxSize, "received");
    // +1: the envelope array itself is one level above the payload.
    scanMsgpack(bytes, this.maxPayloadDepth + 1);
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
    if (value.length > 7) envelope.extensions = value.slice(7);
    return envelope;
  }
}

function malformed(why: string, cause?: unknown): FramingError {
  return new FramingError(
    FRAMING_ERROR_CODES.MALFORMED_ENVELOPE,
    `Received a malformed envelope: ${why}. The sender is not speaking the xppg protocol; its connection is dropped.`,
    cause === undefined ? undefined : { cause },
  );
}
