/**
 * The MessagePack codec of envelope payloads: `@msgpack/msgpack`, with
 * undefined map values left out. Browsers get `browser/msgpack-codec.ts`
 * instead (the `#msgpack-codec` import), which writes the same bytes and
 * reads them back the same way in a fraction of the code.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";

/** Encodes and decodes one MessagePack value. */
export interface MsgpackCodec {
  /** The bytes of `value`; a view that the next call may overwrite. Throws for what MessagePack cannot hold. */
  encodeSharedRef(value: unknown): Uint8Array;
  /** The value in `bytes`, which hold exactly one well-formed value (checked by `scanMsgpack` first). */
  decode(bytes: Uint8Array): unknown;
}

/** A codec whose strings, binaries, arrays, maps and extensions are at most `maxSize` long. */
export function createMsgpackCodec(maxSize: number): MsgpackCodec {
  const encoder = new Encoder({ ignoreUndefined: true });
  const decoder = new Decoder({ maxStrLength: maxSize, maxBinLength: maxSize, maxArrayLength: maxSize, maxMapLength: maxSize, maxExtLength: maxSize });
  return { encodeSharedRef: (value) => encoder.encodeSharedRef(value), decode: (bytes) => decoder.decode(bytes) };
}
