import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnvelopeCodec, type EnvelopeLink } from "../src/index.js";
import * as node from "../src/alloc.js";
import * as page from "../src/browser/alloc.js";

const A = "peer-a-".padEnd(55, "a");
const B = "peer-b-".padEnd(55, "b");

describe("the encoder's copies", () => {
  it("putShort and putBytes (Node's and a page's) write exactly the bytes given, where asked, and nothing else", () => {
    expect(page.SHORT_COPY_BYTES).toBe(node.SHORT_COPY_BYTES);
    fc.assert(
      // Targets: a Buffer, a Uint8Array, and either as a view at an offset into a larger store (a pooled Buffer's
      // shape), so a write that ignored byteOffset or ran past the view's end would show in the bytes around it.
      fc.property(fc.uint8Array({ maxLength: node.SHORT_COPY_BYTES }), fc.nat({ max: 64 }), fc.boolean(), fc.nat({ max: 7 }), (bytes, atRaw, asBuffer, offset) => {
        const at = Math.min(atRaw, 64 - bytes.length); // up to a write that ends exactly at the view's end
        for (const put of [node.putShort, node.putBytes, page.putShort, page.putBytes]) {
          const store = asBuffer ? Buffer.alloc(64 + 2 * offset, 0xee) : new Uint8Array(64 + 2 * offset).fill(0xee);
          const out = store.subarray(offset, offset + 64);
          put(out, at, bytes);
          const expected = new Uint8Array(64 + 2 * offset).fill(0xee);
          expected.set(bytes, offset + at);
          expect([...store]).toEqual([...expected]);
        }
      }),
    );
  });

  it("envelopes written one after another into a used buffer (a Buffer or a Uint8Array) read back whole, kinds of every length around the short copy's", () => {
    const kinds = fc.string({ minLength: 1, maxLength: node.SHORT_COPY_BYTES + 4, unit: "binary-ascii" });
    const messages = fc.array(fc.tuple(kinds, fc.uint8Array({ maxLength: 40 }), fc.boolean()), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(messages, fc.boolean(), fc.boolean(), (list, lean, asBuffer) => {
        const sender = new EnvelopeCodec();
        const receiver = new EnvelopeCodec();
        const link: EnvelopeLink = { local: A, remote: B, lean };
        const back: EnvelopeLink = { local: B, remote: A, lean };
        const out = asBuffer ? Buffer.alloc(4096, 0xa5) : new Uint8Array(4096).fill(0xa5);
        const spans: [number, number][] = [];
        let at = 3;
        list.forEach(([kind, payload, onLink], i) => {
          const written = sender.encodeFieldsInto(out, at, kind, A, B, 1000 + i, 0, payload, undefined, onLink ? link : undefined);
          expect(written).toBeGreaterThan(0);
          spans.push([at, at + written]);
          at += written;
        });
        // Nothing written before the first envelope or after the last.
        expect([...out.subarray(0, 3)]).toEqual([0xa5, 0xa5, 0xa5]);
        expect(out.subarray(at).every((b) => b === 0xa5)).toBe(true);
        list.forEach(([kind, payload, onLink], i) => {
          const [start, end] = spans[i]!;
          const envelope = receiver.decode(out, start, end, onLink ? back : undefined);
          expect(envelope.kind).toBe(kind);
          expect(envelope.source).toBe(A);
          expect(envelope.destination).toBe(B);
          expect([...(envelope.payload as Uint8Array)]).toEqual([...payload]);
        });
      }),
    );
  });
  it("an envelope into a buffer of exactly its size is written whole; one byte short, nothing is written and no room is said", () => {
    const kinds = fc.string({ minLength: 1, maxLength: node.SHORT_COPY_BYTES + 4, unit: "binary-ascii" });
    fc.assert(
      fc.property(kinds, fc.uint8Array({ maxLength: 40 }), fc.boolean(), (kind, payload, asBuffer) => {
        const codec = new EnvelopeCodec();
        const size = codec.encodeFieldsInto(new Uint8Array(4096), 0, kind, A, B, 7, 0, payload, undefined, undefined);
        const exact = asBuffer ? Buffer.alloc(size + 5, 0xa5).subarray(5) : new Uint8Array(size + 5).fill(0xa5).subarray(5);
        expect(codec.encodeFieldsInto(exact, 0, kind, A, B, 7, 0, payload, undefined, undefined)).toBe(size);
        expect(new EnvelopeCodec().decode(exact, 0, size).kind).toBe(kind);
        const short = new Uint8Array(size - 1 + 5).fill(0xa5);
        expect(codec.encodeFieldsInto(short.subarray(5), 0, kind, A, B, 7, 0, payload, undefined, undefined)).toBeLessThan(0);
        expect(short.every((b) => b === 0xa5)).toBe(true);
      }),
    );
  });
});
