import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, ENVELOPE_VERSION, type Envelope, type EnvelopeLink, type ReadEnvelope } from "../src/index.js";
import { referenceDecode } from "./helpers/reference-envelope-decoder.js";

const A = "peer-a-".padEnd(55, "a");
const B = "peer-b-".padEnd(55, "b");
const toB: EnvelopeLink = { local: A, remote: B };
const fromA: EnvelopeLink = { local: B, remote: A };
/** The same link, settled for the compact layout (`lean/1`) both ways. */
const toBLean: EnvelopeLink = { ...toB, lean: true };
const fromALean: EnvelopeLink = { ...fromA, lean: true };

/** Valid envelopes of every shape: direct on a link (ids left out), with ids, broadcasts, signed, raw and MessagePack payloads. */
function samples(): Uint8Array[] {
  const codec = new EnvelopeCodec();
  const base: Envelope = { version: ENVELOPE_VERSION, kind: "bench", source: A, destination: B, id: 2 ** 40 + 7, hopLimit: 0, payload: new Uint8Array([1, 2, 3]) };
  const onLink = (env: Envelope): Uint8Array => {
    const out = new Uint8Array(512);
    return out.slice(0, codec.encodeInto(env, out, 0, toB));
  };
  const compact = (env: Envelope): Uint8Array => {
    const out = new Uint8Array(512);
    return out.slice(0, codec.encodeInto(env, out, 0, toBLean));
  };
  return [
    onLink(base),
    onLink({ ...base, kind: "chat", payload: { text: "hi", n: [1, 2, { b: new Uint8Array([9]) }] } }),
    compact(base),
    compact({ ...base, kind: "ünïcode ✓", payload: { text: "hi", n: [1, 2, { b: new Uint8Array([9]) }] } }),
    compact({ ...base, kind: "xppg/ping", payload: null }),
    onLink({ ...base, kind: "xppg/ping", payload: null }),
    codec.encode(base),
    codec.encode({ ...base, destination: null, hopLimit: 3, payload: { text: "all" } }),
    codec.encodeSigned({ ...base, destination: null, hopLimit: 32, payload: new Uint8Array(20) }, () => new Uint8Array(64).fill(7)),
  ];
}

type Outcome = { error: string } | { envelope: Envelope };

function outcome(fn: () => Envelope): Outcome {
  try {
    const e = fn();
    // Plain copies, so views and slices of the same bytes compare equal.
    return { envelope: { ...e, payload: e.payload instanceof Uint8Array ? Uint8Array.from(e.payload) : e.payload, ...(e.signature === undefined ? {} : { signature: Uint8Array.from(e.signature) }) } };
  } catch (error) {
    return { error: isXppgError(error) ? `${error.code}: ${error.message}` : `untyped: ${String(error)}` };
  }
}

describe("EnvelopeCodec.read", () => {
  it("property: accepts and refuses exactly what the reference decoder does, over sequences that share the codec's caches", () => {
    const valid = samples();
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })).map(([bytes, edits]) => {
      const copy = bytes.slice();
      for (const [at, value] of edits) copy[at % copy.length] = value;
      return copy;
    });
    const truncated = fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([bytes, n]) => bytes.subarray(0, n % (bytes.length + 1)));
    const input = fc.oneof(fc.constantFrom(...valid), mutated, truncated, fc.uint8Array({ maxLength: 120 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(input, fc.constantFrom(0, 1, 2), fc.nat({ max: 7 })), { minLength: 1, maxLength: 12 }), (steps) => {
        const codec = new EnvelopeCodec();
        // The object of the last read that succeeded, and the envelope it gave.
        let last: { read: ReadEnvelope; whole: Outcome } | undefined;
        for (const [bytes, onLink, pad] of steps) {
          // Inside a larger frame at an offset, as a bundle hands it over.
          const frame = new Uint8Array(pad + bytes.length + 3);
          frame.set(bytes, pad);
          // No link, a link, a link settled for the compact layout.
          const link = [undefined, fromA, fromALean][onLink];
          const expected = outcome(() => referenceDecode(frame, pad, pad + bytes.length, link));
          let r: ReadEnvelope | undefined;
          const read = outcome(() => {
            r = codec.read(frame, pad, pad + bytes.length, link);
            const fields = { kind: r.kind, source: r.source, destination: r.destination, payload: r.payload, signed: r.signed };
            const whole = codec.envelopeOf(r);
            expect(fields).toEqual({ kind: whole.kind, source: whole.source, destination: whole.destination, payload: whole.payload, signed: whole.signature !== undefined });
            return whole;
          });
          expect(read).toEqual(expected);
          if (r === undefined && last !== undefined) {
            // A failed read leaves the earlier read whole (it failed before writing over it) or refused, never a mix of the two.
            const again = outcome(() => codec.envelopeOf(last!.read));
            if ("error" in again) expect(again.error).toMatch(/^XPPG_ERR_INVALID_ARGUMENT: /);
            else expect(again).toEqual(last.whole);
          }
          if (r !== undefined) last = { read: r, whole: read };
          expect(outcome(() => codec.decode(frame, pad, pad + bytes.length, link))).toEqual(expected);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("reads kinds that are also property names or numbers as they are", () => {
    const codec = new EnvelopeCodec();
    for (const kind of ["__proto__", "constructor", "123", "toString", "ünïcode ✓"]) {
      const bytes = codec.encode({ version: ENVELOPE_VERSION, kind, source: A, destination: null, id: 1, hopLimit: 0, payload: null });
      expect(codec.read(bytes).kind).toBe(kind);
      expect(new EnvelopeCodec().decode(bytes).kind).toBe(kind);
    }
  });

  it("reads a direct message's fields without the ids on the wire, and builds the same envelope on demand", () => {
    const codec = new EnvelopeCodec();
    const out = new Uint8Array(256);
    const n = codec.encodeFieldsInto(out, 4, "chat", A, B, 2 ** 50 + 3, 0, { text: "hi" }, undefined, toB);
    const r = codec.read(out, 4, 4 + n, fromA);
    expect({ kind: r.kind, source: r.source, destination: r.destination, payload: r.payload, signed: r.signed }).toEqual({ kind: "chat", source: A, destination: B, payload: { text: "hi" }, signed: false });
    expect(codec.envelopeOf(r)).toEqual({ version: ENVELOPE_VERSION, kind: "chat", source: A, destination: B, id: 2 ** 50 + 3, hopLimit: 0, payload: { text: "hi" } });
  });

  it("encodes from fields what the reference decoder reads back as those fields, in every shape", () => {
    const codec = new EnvelopeCodec();
    const signature = new Uint8Array(64).fill(5);
    const shapes: [string, string, string | null, number, number, unknown, Uint8Array | undefined, EnvelopeLink | undefined][] = [
      ["k", A, null, 9, 4, [1, "two"], undefined, toB],
      ["chat", A, B, 2 ** 50 + 3, 0, { text: "hi", b: new Uint8Array([1]) }, undefined, toB],
      ["raw", A, B, 1, 0, new Uint8Array([7, 8, 9]), undefined, undefined],
      ["signed", A, null, 12, 32, new Uint8Array(20), signature, toB],
      ["other", B, A, 5, 1, null, undefined, toB],
    ];
    for (const [kind, source, destination, id, hopLimit, payload, sig, link] of shapes) {
      const out = new Uint8Array(256);
      const n = codec.encodeFieldsInto(out, 3, kind, source, destination, id, hopLimit, payload, sig, link);
      const back = referenceDecode(out, 3, 3 + n, link === undefined ? undefined : { local: link.remote, remote: link.local });
      expect({ ...back, signedBytes: undefined, signature: back.signature === undefined ? undefined : Uint8Array.from(back.signature) }).toEqual({ version: ENVELOPE_VERSION, kind, source, destination, id, hopLimit, payload, signature: sig, signedBytes: undefined });
    }
  });

  it("envelopeOf takes only the object the codec's own read returned", () => {
    const codec = new EnvelopeCodec();
    const other = new EnvelopeCodec();
    const bytes = codec.encode({ version: ENVELOPE_VERSION, kind: "k", source: A, destination: null, id: 1, hopLimit: 0, payload: null });
    const made = { kind: "k", source: A, destination: null, payload: null, signed: false };
    for (const bad of [made, other.read(bytes)]) expect(() => codec.envelopeOf(bad)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", name: "FramingError" }));
    expect(codec.envelopeOf(codec.read(bytes)).id).toBe(1);
  });
});

describe("EnvelopeCodec.encodeFieldsInto", () => {
  it("property: a codec that has seen earlier messages writes and refuses exactly what a fresh one does", () => {
    // Mostly the common message (raw bytes from A to B on their link), so that a codec's memory of the last one is used, and each field sometimes off.
    const often = <T,>(common: T, others: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constant(common), weight: 4 }, { arbitrary: others, weight: 1 });
    const step = fc.tuple(
      often<unknown>("bench", fc.constantFrom<unknown>("chat", "", "x".repeat(129), 7, undefined)),
      often<unknown>(A, fc.constantFrom<unknown>(B, "", null)),
      often<unknown>(B, fc.constantFrom<unknown>(A, null, "", 3)),
      fc.oneof(fc.nat({ max: 2 ** 32 + 5 }), fc.constantFrom(-1, 1.5, Number.MAX_SAFE_INTEGER, 2 ** 53, Number.NaN)),
      often<number>(0, fc.constantFrom(1, 256, -1, 0.5)),
      often<unknown>(new Uint8Array([1, 2, 3]), fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constantFrom<unknown>({ text: "hi" }, null))),
      often<Uint8Array | undefined>(undefined, fc.constant(new Uint8Array(64).fill(9))),
      often<EnvelopeLink | undefined>(toB, fc.constantFrom<EnvelopeLink | undefined>({ local: A, remote: B }, fromA, undefined, { local: "", remote: B }, toBLean, fromALean, { local: "", remote: B, lean: true })),
      fc.nat({ max: 150 }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        const codec = new EnvelopeCodec({ maxSize: 120 });
        for (const [kind, source, destination, id, hopLimit, payload, signature, l, room] of steps) {
          const run = (c: EnvelopeCodec): string => {
            const out = new Uint8Array(room + 3);
            try {
              const n = c.encodeFieldsInto(out, 3, kind as string, source as string, destination as string | null, id, hopLimit, payload, signature, l);
              return n < 0 ? `needs ${-n}` : Buffer.from(out.subarray(3, 3 + n)).toString("hex");
            } catch (error) {
              return isXppgError(error) ? `${error.code}: ${error.message}` : `untyped: ${String(error)}`;
            }
          };
          expect(run(codec)).toBe(run(new EnvelopeCodec({ maxSize: 120 })));
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe("what a read leaves once it is over (the first await or microtask after it)", () => {
  it("nothing of the frame: not the payload, not the signature, not the signed bytes; envelopeOf then refuses the read", async () => {
    const codec = new EnvelopeCodec();
    const base: Envelope = { version: ENVELOPE_VERSION, kind: "big", source: A, destination: null, id: 9, hopLimit: 3, payload: new Uint8Array(4096).fill(5) };
    for (const bytes of [codec.encodeSigned(base, () => new Uint8Array(64).fill(7)), codec.encode({ ...base, payload: { data: new Uint8Array(4096) } })]) {
      const read = codec.read(bytes);
      const whole = codec.envelopeOf(read);
      expect(whole.payload).toBeDefined();
      // A signature is copied (whoever keeps the envelope keeps it): no view of the frame.
      if (whole.signature !== undefined) expect(whole.signature.buffer).not.toBe(bytes.buffer);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(read.payload).toBeUndefined();
      expect(read.signed).toBe(false);
      const fields = read as unknown as { signature?: Uint8Array; signedBytes?: Uint8Array };
      expect(fields.signature).toBeUndefined();
      expect(fields.signedBytes).toBeUndefined();
      expect(() => codec.envelopeOf(read)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", name: "FramingError", message: expect.stringContaining("before any await or microtask") }));
      // The next read is whole again.
      expect(codec.envelopeOf(codec.read(bytes)).id).toBe(9);
    }
  });

  it("lasts until the first await or microtask after the read, not to the end of the turn", async () => {
    const codec = new EnvelopeCodec();
    const bytes = codec.encodeSigned({ version: ENVELOPE_VERSION, kind: "k", source: A, destination: null, id: 5, hopLimit: 2, payload: { n: 1 } }, () => new Uint8Array(64).fill(3));
    const read = codec.read(bytes);
    // Synchronously: whole, and the payload's bytes are there.
    expect(read.signed).toBe(true);
    expect(codec.payloadBytesOf(read.payload)).toBeDefined();
    expect(codec.envelopeOf(read).id).toBe(5);
    const payload = read.payload;
    await Promise.resolve();
    expect(read.payload).toBeUndefined();
    expect(read.signed).toBe(false);
    expect(codec.payloadBytesOf(payload)).toBeUndefined();
    expect(() => codec.envelopeOf(read)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("before any await or microtask") }));
  });

  it("a read that fails part-way leaves no earlier read for envelopeOf to mix with its own fields", async () => {
    const codec = new EnvelopeCodec();
    const signed = codec.encodeSigned({ version: ENVELOPE_VERSION, kind: "first", source: A, destination: null, id: 1, hopLimit: 2, payload: { n: 1 } }, () => new Uint8Array(64).fill(3));
    // Signed, its header whole, its signature cut short: refused after the header is read into the codec's object.
    const second = codec.encodeSigned({ version: ENVELOPE_VERSION, kind: "second", source: B, destination: null, id: 2, hopLimit: 2, payload: null }, () => new Uint8Array(64).fill(4));
    const cut = second.subarray(0, second.length - 64);
    const refused = expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    // A read whose turn is over, then a failed read: the earlier read stays refused, now and later.
    const read = codec.read(signed);
    await Promise.resolve();
    expect(() => codec.read(cut)).toThrow(expect.objectContaining({ code: "XPPG_ERR_MALFORMED_ENVELOPE", message: expect.stringContaining("signature is cut short") }));
    expect(() => codec.envelopeOf(read)).toThrow(refused);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(() => codec.envelopeOf(read)).toThrow(refused);
    // A failed read right after a good one, with no await between: the good one was written over, so it is refused too.
    const again = codec.read(signed);
    expect(() => codec.read(cut)).toThrow(expect.objectContaining({ code: "XPPG_ERR_MALFORMED_ENVELOPE" }));
    expect(() => codec.envelopeOf(again)).toThrow(refused);
    // And the next good read is whole.
    expect(codec.envelopeOf(codec.read(signed))).toMatchObject({ kind: "first", id: 1, payload: { n: 1 } });
  });
});

describe("payloadBytesOf and readPayload", () => {
  it("give the bytes the last payload read came in, copied, read again into the same value; nothing for another value or once the frame is past", async () => {
    const codec = new EnvelopeCodec();
    const base = { version: 1, kind: "k", source: "a", destination: "b", id: 0, hopLimit: 0 } as const;
    const frame = codec.encode({ ...base, payload: 0 });
    // A payload no value encodes to: [-0], a float64 -0 in an array.
    const bytes = Uint8Array.from([0x91, 0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    const whole = Uint8Array.from([...frame.subarray(0, -1), ...bytes]);
    const read = codec.read(whole);
    const held = codec.payloadBytesOf(read.payload)!;
    expect([...held]).toEqual([...bytes]);
    // A copy, the caller's own: the frame's memory written over (a transport reusing it) leaves it as it was.
    expect(held.buffer).not.toBe(whole.buffer);
    whole.fill(0);
    expect([...held]).toEqual([...bytes]);
    whole.set([...frame.subarray(0, -1), ...bytes]);
    expect(Object.is((codec.readPayload(held) as number[])[0], -0)).toBe(true);
    // Another value, even an equal one, has none.
    expect(codec.payloadBytesOf([-0])).toBeUndefined();
    expect(codec.payloadBytesOf(0)).toBeUndefined();
    // Nor a byte payload (it is its bytes), nor the last payload once its frame is past.
    expect(codec.payloadBytesOf(codec.read(codec.encode({ ...base, payload: new Uint8Array(3) })).payload)).toBeUndefined();
    const last = codec.read(whole).payload;
    expect(codec.payloadBytesOf(last)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(codec.payloadBytesOf(last)).toBeUndefined();
  });

  it("readPayload refuses bad bytes with a typed FramingError, as a read does: a __proto__ key, a truncated value, too deep", () => {
    const codec = new EnvelopeCodec({ maxPayloadDepth: 2 });
    const proto = Uint8Array.from([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]);
    for (const bytes of [proto, Uint8Array.from([0x92, 0x01]), Uint8Array.from([0x91, 0x91, 0x91, 0x01])]) {
      let caught: unknown;
      try {
        codec.readPayload(bytes);
      } catch (error) {
        caught = error;
      }
      expect(isXppgError(caught, "XPPG_ERR_MALFORMED_ENVELOPE") || isXppgError(caught, "XPPG_ERR_PAYLOAD_TOO_DEEP")).toBe(true);
    }
  });
});
