/**
 * The MessagePack codec of envelope payloads, the same in Node and in
 * browsers: `browser/msgpack-codec.ts` (the `#msgpack-codec` import), which
 * writes the bytes `@msgpack/msgpack` writes with `{ ignoreUndefined: true }`
 * and reads them back the same way (`test/msgpack-codec.test.ts` checks it
 * against the library). Node used the library until issue 15: its sixteen
 * CommonJS files cost a fresh process about 12 ms of start-up, this one file
 * about 1 ms, and it encodes and decodes as fast.
 */

/** Encodes and decodes one MessagePack value. */
export interface MsgpackCodec {
  /** The bytes of `value`; a view that the next call may overwrite. Throws for what MessagePack cannot hold. */
  encodeSharedRef(value: unknown): Uint8Array;
  /** The value in `bytes`, which hold exactly one well-formed value (checked by `scanMsgpack` first). */
  decode(bytes: Uint8Array): unknown;
}
