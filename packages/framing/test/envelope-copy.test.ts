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
      fc.property(fc.uint8Array({ maxLength: node.SHORT_COPY_BYTES }), fc.nat({ max: 40 }), fc.boolean(), (bytes, at, asBuffer) => {
        for (const put of [node.putShort, node.putBytes, page.putShort, page.putBytes]) {
          const out = asBuffer ? Buffer.alloc(64, 0xee) : new Uint8Array(64).fill(0xee);
          put(out, at, bytes);
          const expected = new Uint8Array(64).fill(0xee);
          expected.set(bytes, at);
          expect([...out]).toEqual([...expected]);
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
});
