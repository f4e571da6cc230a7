import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, ENVELOPE_VERSION, isSignedEnvelope, type EnvelopeLink } from "../src/index.js";
import { referenceDecode } from "./helpers/reference-envelope-decoder.js";

const A = "peer-a-".padEnd(55, "a");
const B = "peer-b-".padEnd(55, "b");
const toB: EnvelopeLink = { local: A, remote: B, lean: true };
const fromA: EnvelopeLink = { local: B, remote: A, lean: true };

function encode(codec: EnvelopeCodec, kind: string, payload: unknown, link: EnvelopeLink | undefined, id = 12345): Uint8Array {
  const out = new Uint8Array(4096);
  return out.slice(0, codec.encodeFieldsInto(out, 0, kind, A, B, id, 0, payload, undefined, link));
}

function failure(fn: () => unknown): string {
  try {
    fn();
    return "accepted";
  } catch (error) {
    return isXppgError(error) ? `${error.code}: ${error.message}` : `untyped: ${String(error)}`;
  }
}

const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom<unknown>(null, 0, -1.5, "text", [1, "two"], { text: "hi", b: new Uint8Array([1, 2]) }, true),
);

describe("the compact direct envelope (lean/1)", () => {
  it("property: it means what the full layout means (a direct message from the link's other end, hop limit 0, id 0), and is smaller", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128, unit: "grapheme" }).filter((k) => k.length <= 128), payloads, (kind, payload) => {
        const codec = new EnvelopeCodec();
        const compact = encode(codec, kind, payload, toB);
        const full = encode(codec, kind, payload, { local: A, remote: B }, 0);
        if (new TextEncoder().encode(kind).length > 255) {
          // Too long for one length byte: the full layout, as without the capability.
          expect(compact[0]).toBe(ENVELOPE_VERSION);
          return;
        }
        expect(compact[0]).toBe(payload instanceof Uint8Array ? 0x81 : 0x80);
        expect(compact.length).toBe(full.length - 11);
        const read = codec.read(compact, 0, compact.length, fromA);
        const whole = codec.envelopeOf(read);
        const reference = new EnvelopeCodec().decode(full, 0, full.length, { local: B, remote: A });
        expect({ ...whole, payload: plain(whole.payload) }).toEqual({ ...reference, payload: plain(reference.payload) });
        expect(whole).toMatchObject({ version: ENVELOPE_VERSION, kind, source: A, destination: B, id: 0, hopLimit: 0 });
        expect(read.signed).toBe(false);
        // Never taken for a signed envelope by the one-byte peek, whatever its kind's length byte.
        expect(isSignedEnvelope(compact, 0, compact.length)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("property (fuzz): any bytes behind the marker are read as the reference reads their full-layout meaning, or refused as it refuses them", () => {
    const bytes = fc.tuple(fc.constantFrom(0x80, 0x81), fc.uint8Array({ maxLength: 40 }), fc.oneof(fc.constant(undefined), fc.nat({ max: 40 }))).map(([marker, rest, kindLength]) => {
      const out = Uint8Array.from([marker, ...rest]);
      if (kindLength !== undefined && out.length > 1) out[1] = kindLength;
      return out;
    });
    fc.assert(
      fc.property(fc.array(bytes, { minLength: 1, maxLength: 8 }), (inputs) => {
        readsAsReference(inputs, 30);
      }),
      { numRuns: 2000 },
    );
  });

  it("property (fuzz): long kinds (120 to 255 bytes, and multi-byte UTF-8 near 128 characters) are read as the reference reads them, or refused as it refuses them", () => {
    const tail = fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constantFrom(Uint8Array.of(0xc0), Uint8Array.of(0x92, 1, 0xa1, 0x78), Uint8Array.of(0xc1)));
    // Any bytes under a length byte of 120 to 255, cut short or not.
    const rawKinds = fc.tuple(fc.integer({ min: 120, max: 255 }), fc.uint8Array({ minLength: 100, maxLength: 260 })).map(([length, kind]) => ({ length, kind }));
    // Text of 120 to 136 characters (UTF-16 units) from one- to four-byte characters, its length byte exact, or off by one, or cut at 255.
    const textKinds = fc
      .tuple(fc.array(fc.constantFrom("a", "é", "✓", "\u{1d11e}"), { minLength: 60, maxLength: 136 }), fc.constantFrom(0, 0, 0, -1, 1))
      .map(([chars, off]) => {
        let text = "";
        for (const c of chars) if (text.length + c.length <= 136) text += c;
        const kind = new TextEncoder().encode(text);
        return { length: Math.max(1, Math.min(255, kind.length + off)), kind };
      });
    const bytes = fc.tuple(fc.constantFrom(0x80, 0x81), fc.oneof(rawKinds, textKinds), tail).map(([marker, { length, kind }, rest]) => Uint8Array.from([marker, length, ...kind.subarray(0, 255), ...rest]));
    fc.assert(
      fc.property(fc.array(bytes, { minLength: 1, maxLength: 6 }), fc.constantFrom(200, 300, 1024), (inputs, maxSize) => {
        readsAsReference(inputs, maxSize);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: a run of compact envelopes read one after another, in one frame, gives each its own kind and payload (the last kind, remembered, is never taken for a near one)", () => {
    // Pairs of kinds that differ in one byte, at each place of the 8 bytes a repeated kind is compared by, and past them
    // (a byte of a multi-byte character too); payloads from none on, so that some envelopes end inside those 8 bytes.
    const base = "abcdefghi";
    const kindOf = (length: number, at: number, with_: string): string => (at < length ? base.slice(0, at) + with_ + base.slice(at + 1, length) : base.slice(0, length));
    const pair = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom(["z", "z"], ["é", "è"]));
    const message = fc.record({
      kind: pair.map(([length, a, b, [x, y]]) => [kindOf(length, a, x), kindOf(length, b, a === b ? y : x)] as const),
      payloads: fc.tuple(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 })),
    });
    const run = fc.array(message, { minLength: 1, maxLength: 20 }).map((pairs) => pairs.flatMap(({ kind, payloads }) => [0, 1].map((i) => ({ kind: kind[i]!, payload: payloads[i]! }))));
    fc.assert(
      fc.property(run, (messages) => {
        const codec = new EnvelopeCodec();
        const envelopes = messages.map(({ kind, payload }) => encode(codec, kind, payload, toB));
        const frame = new Uint8Array(envelopes.reduce((n, e) => n + e.length, 0));
        let at = 0;
        for (const e of envelopes) {
          frame.set(e, at);
          at += e.length;
        }
        at = 0;
        for (const [i, { kind, payload }] of messages.entries()) {
          const read = codec.read(frame, at, at + envelopes[i]!.length, fromA);
          expect(read.kind).toBe(kind);
          expect(read.payload).toEqual(payload);
          at += envelopes[i]!.length;
        }
        // The same run through readBytes (as a receiver of raw bytes reads it), on a codec of its own.
        const direct = new EnvelopeCodec();
        at = 0;
        for (const [i, { kind, payload }] of messages.entries()) {
          expect(direct.readBytes!(frame, at, at + envelopes[i]!.length, fromA)).toEqual(payload);
          expect(direct.bytesKind).toBe(kind);
          at += envelopes[i]!.length;
        }
      }),
    );
  });

  it("readBytes hands back the payload of a compact message of raw bytes, a view of the bytes; the read before it is no longer the codec's to make whole", () => {
    const codec = new EnvelopeCodec();
    const payload = Uint8Array.from([1, 2, 3, 250]);
    const frame = new Uint8Array(64);
    const bytes = encode(codec, "bench", payload, toB);
    frame.set(bytes, 7);
    const other = encode(codec, "bench", { n: 1 }, toB);
    const earlier = codec.read(other, 0, other.length, fromA);
    const view = codec.readBytes!(frame, 7, 7 + bytes.length, fromA)!;
    expect(codec.bytesKind).toBe("bench");
    expect(Array.from(view)).toEqual(Array.from(payload));
    // A plain Uint8Array over the frame's memory, not a copy.
    expect(view.constructor).toBe(Uint8Array);
    expect(view.buffer).toBe(frame.buffer);
    expect(() => codec.envelopeOf(earlier)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    // Not raw bytes (a MessagePack payload), or the full layout: left to read, nothing read.
    expect(codec.readBytes!(other, 0, other.length, fromA)).toBeUndefined();
    const full = encode(codec, "bench", payload, { local: A, remote: B });
    expect(codec.readBytes!(full, 0, full.length, fromA)).toBeUndefined();
  });

  it("is refused on a link that did not settle it, and without a link, whatever its size: XPPG_ERR_UNSUPPORTED_ENVELOPE_VERSION, saying so (not an older peer)", () => {
    const codec = new EnvelopeCodec();
    const compact = encode(codec, "bench", new Uint8Array(20), toB);
    for (const bytes of [compact, compact.subarray(0, 4), Uint8Array.from([0x81]), Uint8Array.from([0x80, 0])]) {
      for (const link of [undefined, { local: B, remote: A }, { local: B, remote: A, lean: false }]) {
        // readBytes leaves it to read, which refuses it.
        expect(codec.readBytes!(bytes, 0, bytes.length, link)).toBeUndefined();
        for (const read of [() => codec.read(bytes, 0, bytes.length, link), () => codec.decode(bytes, 0, bytes.length, link)]) {
          expect(read).toThrow(
            expect.objectContaining({
              code: "XPPG_ERR_UNSUPPORTED_ENVELOPE_VERSION",
              message: expect.stringMatching(new RegExp(`^The peer sent a compact direct envelope \\(first byte 0x8${bytes[0]! & 1}\\) on a link that did not settle lean/1.*broken or hostile`)),
              details: expect.objectContaining({ version: bytes[0] }),
            }),
          );
        }
      }
    }
  });

  it("malformed ones are refused with a clear reason: no kind, an empty one, one cut short, one not UTF-8, too large", () => {
    const codec = new EnvelopeCodec({ maxSize: 64 });
    const cases: [number[], RegExp][] = [
      [[0x81], /its kind is cut short/],
      [[0x81, 0], /its kind is empty/],
      [[0x80, 5, 0x61, 0x62], /its kind is cut short/],
      [[0x81, 2, 0xc3, 0x28], /its kind is not valid UTF-8/],
      [[0x80, 1, 0x61, 0xc1], /Invalid MessagePack type byte 0xc1/],
    ];
    for (const [bytes, why] of cases) {
      expect(() => codec.read(Uint8Array.from(bytes), 0, bytes.length, fromA)).toThrow(expect.objectContaining({ code: "XPPG_ERR_MALFORMED_ENVELOPE", message: expect.stringMatching(why) }));
    }
    const large = Uint8Array.from([0x81, 1, 0x61, ...new Uint8Array(62)]);
    expect(() => codec.read(large, 0, large.length, fromA)).toThrow(expect.objectContaining({ code: "XPPG_ERR_FRAME_TOO_LARGE" }));
  });

  it("is written only for a message from this end to the other with hop limit 0 and no signature; the rest keep the full layout", () => {
    const codec = new EnvelopeCodec();
    const out = new Uint8Array(512);
    const first = (kind: string, source: string, destination: string | null, hopLimit: number, signature?: Uint8Array): number => {
      const n = codec.encodeFieldsInto(out, 0, kind, source, destination, 1, hopLimit, new Uint8Array(2), signature, toB);
      expect(n).toBeGreaterThan(0);
      return out[0]!;
    };
    expect(first("k", A, B, 0)).toBe(0x81);
    expect(first("k", A, null, 0)).toBe(ENVELOPE_VERSION);
    expect(first("k", B, A, 0)).toBe(ENVELOPE_VERSION);
    expect(first("k", A, B, 1)).toBe(ENVELOPE_VERSION);
    expect(first("k", A, B, 0, new Uint8Array(64))).toBe(ENVELOPE_VERSION);
    expect(first("k".repeat(128), A, B, 0)).toBe(0x81);
    expect(first("✓".repeat(86), A, B, 0)).toBe(ENVELOPE_VERSION);
  });

  it("refuses to write what the full layout refuses, with the same error", () => {
    const codec = new EnvelopeCodec({ maxSize: 50 });
    const run = (link: EnvelopeLink, kind: unknown, id: number, payload: unknown): string =>
      failure(() => codec.encodeFieldsInto(new Uint8Array(100), 0, kind as string, A, B, id, 0, payload, undefined, link));
    for (const [kind, id, payload] of [["", 1, null], ["x".repeat(129), 1, null], [7, 1, null], ["k", -1, null], ["k", 1.5, null], ["k", 1, () => 1], ["k", 1, new Uint8Array(60)]] as [unknown, number, unknown][]) {
      const compact = run(toB, kind, id, payload);
      expect(compact).not.toBe("accepted");
      // The full layout's error, but for a size (its header is larger, so its total differs).
      expect(compact.replace(/\d+ bytes/, "N bytes")).toBe(run({ local: A, remote: B }, kind, id, payload).replace(/\d+ bytes/, "N bytes"));
    }
  });

  it("asks for room as the full layout does: minus the bytes needed, nothing written", () => {
    const codec = new EnvelopeCodec();
    const out = new Uint8Array(8).fill(0xee);
    expect(codec.encodeFieldsInto(out, 2, "bench", A, B, 1, 0, new Uint8Array(10), undefined, toB)).toBe(-(1 + 1 + 5 + 10));
    expect([...out]).toEqual(new Array(8).fill(0xee));
    expect(codec.encodeFieldsInto(out, 2, "bench", A, B, 1, 0, { a: 1 }, undefined, toB)).toBe(-(1 + 1 + 5 + 4));
  });
});

/** Views and copies of the same bytes compare equal. */
/** Each input is read as the reference decoder reads its full-layout meaning, or refused with the same code (never an untyped error). */
function readsAsReference(inputs: Uint8Array[], maxSize: number): void {
  const codec = new EnvelopeCodec({ maxSize });
  for (const input of inputs) {
    let got: unknown;
    const read = failure(() => {
      const e = codec.decode(input, 0, input.length, fromA);
      got = { ...e, payload: plain(e.payload) };
    });
    let want: unknown;
    const reference = failure(() => {
      const e = referenceDecode(input, 0, input.length, fromA, maxSize);
      want = { ...e, payload: plain(e.payload) };
    });
    expect(read).toBe(reference);
    expect(read.startsWith("untyped")).toBe(false);
    expect(got).toEqual(want);
    // readBytes: a compact envelope of raw bytes gives read's kind and payload; any other, nothing read (read takes
    // it); and what read refuses, it refuses the same way (or leaves to read).
    let direct: { kind: string; payload: Uint8Array } | undefined;
    const viaBytes = failure(() => {
      const payload = codec.readBytes!(input, 0, input.length, fromA);
      direct = payload === undefined ? undefined : { kind: codec.bytesKind!, payload: Uint8Array.from(payload) };
    });
    if (viaBytes !== "accepted") expect(viaBytes).toBe(reference);
    else if (direct === undefined) expect(input[0] !== 0x81 || input.length > maxSize).toBe(true);
    else {
      expect(input[0]).toBe(0x81);
      expect(reference).toBe("accepted");
      expect(want).toMatchObject({ kind: direct.kind, payload: direct.payload, source: A, destination: B });
    }
  }
}

function plain(payload: unknown): unknown {
  return payload instanceof Uint8Array ? Uint8Array.from(payload) : payload;
}
