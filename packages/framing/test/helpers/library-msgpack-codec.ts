// `@msgpack/msgpack` with undefined map values left out: the reference that
// the package's own codec (src/msgpack-codec.ts) is checked against.
// Releases up to issue 15 encoded payloads with it in Node, so a peer of an
// earlier release reads and writes exactly these bytes.
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { MsgpackCodec } from "../../src/msgpack-codec.js";

/** A codec whose strings, binaries, arrays, maps and extensions are at most `maxSize` long. */
export function createMsgpackCodec(maxSize: number): MsgpackCodec {
  const encoder = new Encoder({ ignoreUndefined: true });
  const decoder = new Decoder({ maxStrLength: maxSize, maxBinLength: maxSize, maxArrayLength: maxSize, maxMapLength: maxSize, maxExtLength: maxSize });
  return { encodeSharedRef: (value) => encoder.encodeSharedRef(value), decode: (bytes) => decoder.decode(bytes) };
}
