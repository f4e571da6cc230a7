import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, ENVELOPE_VERSION, type Envelope } from "../src/index.js";

const codec = new EnvelopeCodec();
const base: Envelope = { version: ENVELOPE_VERSION, kind: "text", source: "peerA", destination: null, id: 1, hopLimit: 0, payload: { text: "hi" } };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isXppgError(err) ? err.code : `untyped: ${String(err)}`;
  }
  return undefined;
}

describe("EnvelopeCodec", () => {
  it("round-trips every field, with binary values kept as bytes", () => {
    const bytes = new Uint8Array(1000).fill(0xab);
    const env: Envelope = { ...base, destination: "peerB", id: 2 ** 40, hopLimit: 7, payload: { name: "x", bytes, list: [1, "two", null, true] } };
    const encoded = codec.encode(env);
    // Raw bytes, not base64: the encoding is barely larger than the data.
    expect(encoded.byteLength).toBeLessThan(1100);
    const decoded = codec.decode(encoded);
    expect(decoded).toEqual(env);
    expect((decoded.payload as { bytes: Uint8Array }).bytes).toBeInstanceOf(Uint8Array);
  });

  it("keeps extension fields appended by newer peers", () => {
    const env: Envelope = { ...base, extensions: [new Uint8Array([1, 2]), "x"] };
    const back = codec.decode(codec.encode(env));
    expect(back.extensions).toEqual([new Uint8Array([1, 2]), "x"]);
    expect(back.signature).toBeUndefined();
  });

  it("signs the first seven fields with hopLimit as 0, so relays may lower it", () => {
    const seen: Uint8Array[] = [];
    const fakeSign = (bytes: Uint8Array) => {
      seen.push(bytes.slice());
      return new Uint8Array(64).fill(7);
    };
    const env: Envelope = { ...base, hopLimit: 9, payload: { text: "signed", blob: new Uint8Array([1, 2, 3]) }, extensions: ["tail"] };
    const wire = codec.encodeSigned(env, fakeSign);
    const back = codec.decode(wire);
    expect(back.signature).toEqual(new Uint8Array(64).fill(7));
    expect(back.hopLimit).toBe(9);
    expect(back.extensions).toEqual(["tail"]);
    // What the receiver verifies is exactly what the sender signed.
    expect(back.signedBytes).toEqual(seen[0]);
    expect(back.signedBytes).toEqual(codec.encode({ ...env, hopLimit: 0, extensions: undefined }));
    // A relay that lowers the hop limit keeps the signed bytes intact.
    const relayed = codec.decode(codec.encode({ ...back, hopLimit: 3, signedBytes: undefined }));
    expect(relayed.signedBytes).toEqual(seen[0]);
    // Changing the payload changes the signed bytes.
    const altered = codec.decode(codec.encode({ ...back, payload: { text: "forged" }, signedBytes: undefined }));
    expect(altered.signedBytes).not.toEqual(seen[0]);
  });

  it("refuses a signature field that is not 64 bytes or nil", () => {
    expect(codeOf(() => codec.decode(encode([1, "text", "a", null, 1, 0, {}, new Uint8Array(10)])))).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
    expect(codeOf(() => codec.decode(encode([1, "text", "a", null, 1, 0, {}, "sig"])))).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
    expect(codec.decode(encode([1, "text", "a", null, 1, 0, {}, null])).signature).toBeUndefined();
  });

  it("refuses payloads it cannot encode, with advice", () => {
    const code = codeOf(() => codec.encode({ ...base, payload: { f: Symbol("s") } }));
    expect(code).toBe("XPPG_ERR_UNENCODABLE_PAYLOAD");
  });

  it("refuses an envelope over maxSize on both sides", () => {
    const small = new EnvelopeCodec({ maxSize: 64 });
    expect(codeOf(() => small.encode({ ...base, payload: "x".repeat(100) }))).toBe("XPPG_ERR_FRAME_TOO_LARGE");
    expect(codeOf(() => small.decode(codec.encode({ ...base, payload: "x".repeat(100) })))).toBe("XPPG_ERR_FRAME_TOO_LARGE");
  });

  it.each([
    ["not an array", encode({ a: 1 })],
    ["too few fields", encode([1, "text", "a"])],
    ["empty kind", encode([1, "", "a", null, 1, 0, {}])],
    ["numeric kind", encode([1, 5, "a", null, 1, 0, {}])],
    ["overlong kind", encode([1, "k".repeat(129), "a", null, 1, 0, {}])],
    ["missing source", encode([1, "text", null, null, 1, 0, {}])],
    ["bad destination", encode([1, "text", "a", 42, 1, 0, {}])],
    ["negative id", encode([1, "text", "a", null, -1, 0, {}])],
    ["fractional id", encode([1, "text", "a", null, 1.5, 0, {}])],
    ["hop limit too big", encode([1, "text", "a", null, 1, 256, {}])],
    ["trailing bytes", new Uint8Array([...encode([1, "text", "a", null, 1, 0, {}]), 0])],
    ["truncated", encode([1, "text", "a", null, 1, 0, { t: "hello" }]).subarray(0, 12)],
    ["never-used byte", new Uint8Array([0xc1])],
    ["__proto__ key", encode([1, "text", "a", null, 1, 0, { ["__proto__"]: 1 }])],
    ["lying array length", new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])],
    ["empty input", new Uint8Array(0)],
  ])("refuses %s with XPPG_ERR_MALFORMED_ENVELOPE", (_name, bytes) => {
    expect(codeOf(() => codec.decode(bytes))).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
  });

  it("refuses another envelope version with a code of its own", () => {
    expect(codeOf(() => codec.decode(encode([2, "text", "a", null, 1, 0, {}])))).toBe("XPPG_ERR_UNSUPPORTED_ENVELOPE_VERSION");
  });

  it("refuses deep nesting before decoding it", () => {
    // 100k nested one-element arrays: small on the wire, costly to build.
    const deep = new Uint8Array(100_000).fill(0x91);
    const bytes = new Uint8Array([0x97, 0x01, 0xa1, 0x74, 0xa1, 0x61, 0xc0, 0x01, 0x00, ...deep, 0xc0]);
    expect(codeOf(() => codec.decode(bytes))).toBe("XPPG_ERR_PAYLOAD_TOO_DEEP");
    let nested: unknown = 1;
    for (let i = 0; i < 32; i++) nested = [nested];
    expect(codec.decode(codec.encode({ ...base, payload: nested })).payload).toEqual(nested);
  });

  it("property: any plain payload round-trips", () => {
    const payload = fc.jsonValue({ maxDepth: 6 });
    fc.assert(
      fc.property(payload, fc.string({ minLength: 1, maxLength: 20 }), fc.nat(), (p, kind, id) => {
        const env: Envelope = { ...base, kind, id, payload: p };
        const back = codec.decode(codec.encode(env));
        // -0 and 0 are equal on the wire, as in JSON.
        expect(JSON.stringify(back.payload)).toEqual(JSON.stringify(p));
        expect(back.kind).toBe(kind);
      }),
      { numRuns: 300 },
    );
  });

  it("fuzz: random and mutated bytes decode or throw a typed error, never anything else", () => {
    const valid = codec.encode({ ...base, payload: { text: "hello", n: [1, 2, { b: new Uint8Array([1, 2, 3]) }] } });
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((edits) => {
        const copy = valid.slice();
        for (const [at, value] of edits) copy[at] = value;
        return copy;
      });
    const truncated = fc.nat({ max: valid.byteLength }).map((n) => valid.subarray(0, n));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, truncated), (bytes) => {
        const code = codeOf(() => codec.decode(bytes));
        if (code !== undefined) expect(code).toMatch(/^XPPG_ERR_/);
      }),
      { numRuns: 2000 },
    );
  });
});
