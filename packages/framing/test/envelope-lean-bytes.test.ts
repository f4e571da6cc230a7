import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, encodeLeanBytesInto as encodeByBytes, encodeLeanBytesWithView, type EnvelopeLink } from "../src/index.js";

// encodeLeanBytesInto is the sender's short way for its common message (raw
// bytes from one end of a lean/1 link to the other): it must write exactly
// what the codec writes for that message, refuse what the codec refuses with
// the same error, and answer the same for too little room. So must
// encodeLeanBytesWithView, the same through a DataView over `out`: every test
// below runs for both.

const A = "peer-a-".padEnd(55, "a");
const B = "peer-b-".padEnd(55, "b");
const toB: EnvelopeLink = { local: A, remote: B, lean: true };

type Outcome = { written: number; bytes: number[] } | { error: string };

function outcome(fn: (out: Uint8Array) => number, room: number): Outcome {
  // Filled with a pattern: bytes not written must stay as they were, whatever was answered.
  const out = new Uint8Array(room).map((_, i) => (i * 13) & 0xff);
  try {
    const written = fn(out);
    return { written, bytes: [...out] };
  } catch (error) {
    return { error: isXppgError(error) ? `${error.code}: ${error.message}` : `untyped: ${String(error)}` };
  }
}

const kinds = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 0, maxLength: 300, unit: "grapheme" }), fc.constantFrom("bench", "x", "é".repeat(128), "€".repeat(86), "a".repeat(255), "a".repeat(256)));
const ids = fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, 1.5, Number.NaN, 2 ** 53));

/** encodeLeanBytesWithView with a DataView over exactly the bytes of `out`. */
function encodeByView(out: Uint8Array, offset: number, kind: string, id: number, payload: Uint8Array, maxSize: number): number {
  return encodeLeanBytesWithView(out, new DataView(out.buffer, out.byteOffset, out.byteLength), offset, kind, id, payload, maxSize);
}

describe.each([
  ["encodeLeanBytesInto", encodeByBytes],
  ["encodeLeanBytesWithView", encodeByView],
])("%s", (_name, encodeLeanBytesInto) => {
  it("property: writes, refuses and asks for room exactly as the codec's encodeFieldsInto on a lean/1 link", () => {
    fc.assert(
      fc.property(kinds, ids, fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 700 }), fc.nat({ max: 16 }), fc.constantFrom(64, 200, 1 << 20), (kind, id, payload, room, offset, maxSize) => {
        const codec = new EnvelopeCodec({ maxSize });
        const at = Math.min(offset, room);
        const theirs = outcome((out) => codec.encodeFieldsInto(out, at, kind, A, B, id, 0, payload, undefined, toB), room);
        const ours = outcome((out) => encodeLeanBytesInto(out, at, kind, id, payload, maxSize), room);
        if ("written" in ours && ours.written === 0) {
          // Not taken: a kind too long for one length byte (the codec takes the full layout for it), nothing written.
          expect(new TextEncoder().encode(kind).length).toBeGreaterThan(255);
          expect(ours.bytes).toEqual([...new Uint8Array(room).map((_, i) => (i * 13) & 0xff)]);
          return;
        }
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: a payload that lies in `out` itself comes out as the codec writes it", () => {
    const PAD = 8;
    fc.assert(
      fc.property(kinds, ids, fc.nat({ max: 400 }), fc.nat({ max: 400 }), fc.nat({ max: 300 }), fc.nat({ max: 16 }), fc.constantFrom(64, 200, 1 << 20), (kind, id, room, start, length, offset, maxSize) => {
        room = Math.max(room, 1);
        const from = Math.min(start, room - 1);
        const to = Math.min(from + length, room);
        const at = Math.min(offset, room);
        const fresh = () => new Uint8Array(room + 2 * PAD).map((_, i) => (i * 29 + 7) & 0xff);
        // The codec on one copy of the memory, encodeLeanBytesInto on another, each with its payload inside its own `out`.
        const theirMemory = fresh();
        const theirOut = theirMemory.subarray(PAD, PAD + room);
        const codec = new EnvelopeCodec({ maxSize });
        const theirs = outcome(() => codec.encodeFieldsInto(theirOut, at, kind, A, B, id, 0, theirOut.subarray(from, to), undefined, toB), 0);
        const memory = fresh();
        const before = Uint8Array.from(memory);
        const out = memory.subarray(PAD, PAD + room);
        const ours = outcome(() => encodeLeanBytesInto(out, at, kind, id, out.subarray(from, to), maxSize), 0);
        if ("written" in ours && ours.written === 0) {
          expect(new TextEncoder().encode(kind).length).toBeGreaterThan(255);
          expect(memory).toEqual(before);
          return;
        }
        if ("error" in theirs || theirs.written < 0) {
          expect({ ...ours, bytes: [] }).toEqual({ ...theirs, bytes: [] });
          expect(memory).toEqual(before);
          return;
        }
        expect("written" in ours && ours.written).toBe(theirs.written);
        // The whole memory as the codec leaves it: the envelope, and not a byte more.
        expect([...memory]).toEqual([...theirMemory]);
      }),
      { numRuns: 2000 },
    );
  });

  it("copies a payload lying in `out` just past the head's bytes as the codec does", () => {
    const codecOut = new Uint8Array(64);
    const codecPayload = codecOut.subarray(7, 17).fill(0xee);
    expect(new EnvelopeCodec({ maxSize: 1 << 20 }).encodeFieldsInto(codecOut, 0, "bench", A, B, 1, 0, codecPayload, undefined, toB)).toBe(17);
    const out = new Uint8Array(64);
    const payload = out.subarray(7, 17).fill(0xee);
    expect(encodeLeanBytesInto(out, 0, "bench", 1, payload, 1 << 20)).toBe(17);
    expect(out[7]).toBe(0xee);
    expect([...out.subarray(0, 17)]).toEqual([...codecOut.subarray(0, 17)]);
  });

  it("checks the kind, the id and the size before it writes a byte", () => {
    const out = new Uint8Array(64);
    const payload = new Uint8Array(10);
    expect(() => encodeLeanBytesInto(out, 0, "", 1, payload, 1 << 20)).toThrow(expect.objectContaining({ code: "XPPG_ERR_UNENCODABLE_PAYLOAD" }));
    expect(() => encodeLeanBytesInto(out, 0, 7 as unknown as string, 1, payload, 1 << 20)).toThrow(expect.objectContaining({ code: "XPPG_ERR_UNENCODABLE_PAYLOAD" }));
    expect(() => encodeLeanBytesInto(out, 0, "k", -1, payload, 1 << 20)).toThrow(expect.objectContaining({ code: "XPPG_ERR_UNENCODABLE_PAYLOAD" }));
    expect(() => encodeLeanBytesInto(out, 0, "k", 1, payload, 12)).toThrow(expect.objectContaining({ code: "XPPG_ERR_FRAME_TOO_LARGE" }));
    expect([...out]).toEqual(new Array(64).fill(0));
    expect(encodeLeanBytesInto(out, 60, "k", 1, payload, 1 << 20)).toBe(-13);
    expect(encodeLeanBytesInto(out, 0, "k", 1, payload, 1 << 20)).toBe(13);
    expect([...out.subarray(0, 3)]).toEqual([0x81, 1, 0x6b]);
  });

  describe("fixed cases, each as the codec writes it", () => {
    const codecBytes = (kind: string, payload: Uint8Array, maxSize: number, room = 600, at = 0): Outcome => outcome((out) => new EnvelopeCodec({ maxSize }).encodeFieldsInto(out, at, kind, A, B, 3, 0, payload, undefined, toB), room);
    const ours = (kind: string, payload: Uint8Array, maxSize: number, room = 600, at = 0): Outcome => outcome((out) => encodeLeanBytesInto(out, at, kind, 3, payload, maxSize), room);
    const ofLength = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => 0xa0 + (i % 50));

    it("a frame of exactly maxSize is written; one byte more is refused", () => {
      // "bench": marker, length byte, 5 bytes of kind, then the payload.
      const payload = ofLength(93);
      const plain = ours("bench", payload, 100);
      expect(plain).toEqual(codecBytes("bench", payload, 100));
      expect("written" in plain && plain.written).toBe(100);
      const over = ours("bench", ofLength(94), 100);
      expect(over).toEqual(codecBytes("bench", ofLength(94), 100));
      expect("error" in over && over.error).toMatch(/^XPPG_ERR_FRAME_TOO_LARGE/);
    });

    it("a kind of exactly 255 bytes of UTF-8 takes the compact layout; 258 bytes answer 0", () => {
      const kind = "€".repeat(85);
      const payload = ofLength(20);
      const plain = ours(kind, payload, 1 << 20);
      expect(plain).toEqual(codecBytes(kind, payload, 1 << 20));
      expect("bytes" in plain && plain.bytes.slice(0, 2)).toEqual([0x81, 255]);
      const long = ours("€".repeat(86), payload, 1 << 20);
      expect("written" in long && long.written).toBe(0);
    });

    it("a kind with lone surrogates is written as the codec writes it", () => {
      for (const kind of ["\ud800", "a\udc00b", "\udbff\udbff", "x\ud83d"]) {
        const payload = ofLength(9);
        expect(ours(kind, payload, 1 << 20, 64), JSON.stringify(kind)).toEqual(codecBytes(kind, payload, 1 << 20, 64));
      }
    });

    it("a payload that is a subarray at a nonzero offset, and a Buffer, are copied from where they start", () => {
      const memory = new Uint8Array(80).map((_, i) => i);
      const sub = memory.subarray(13, 13 + 30);
      const buffer = Buffer.from(ofLength(30));
      const pooled = Buffer.from("a Buffer from Node's pool, not at offset 0");
      expect(pooled.byteOffset === 0 && pooled.buffer.byteLength === pooled.length).toBe(false);
      for (const payload of [sub, buffer, pooled]) {
        const plain = ours("bench", payload, 1 << 20, 128, 5);
        expect(plain).toEqual(codecBytes("bench", payload, 1 << 20, 128, 5));
        expect("bytes" in plain && plain.bytes.slice(5 + 7, 5 + 7 + payload.length)).toEqual([...payload]);
      }
    });
  });
});

