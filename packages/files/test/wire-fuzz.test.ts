// Every files message a neighbour sends, valid then mutated (a byte changed,
// cut, bytes added; fast-check): read as a message within its limits, with
// its views inside the bytes it came in, or refused with a sentence.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_CHUNKS } from "../src/constants.js";
import { MAX_REASON_BYTES, MSG, allocData, decodeMessage, encodeBare, encodeBitfield, encodeHave, encodeManifest, encodeManifestRequest, encodeOfferEnd, encodeRequest, encodeSlot } from "../src/wire.js";

const cid = "ab".repeat(32);
const valid: Uint8Array[] = [
  encodeBare(MSG.WANT, cid),
  encodeBare(MSG.OFFER, cid),
  encodeBitfield(cid, 20, new Uint8Array([0xff, 0x0f, 0x0a])),
  encodeHave(cid, 3),
  encodeManifestRequest(cid, 0, 1000),
  encodeManifest(cid, 0, 100, new Uint8Array(10)),
  encodeRequest(cid, 1, 0, 16_384),
  allocData(cid, 1, 0, 40),
  encodeSlot(MSG.REJECT, cid, 1, 0),
  encodeSlot(MSG.CANCEL, cid, 1, 0),
  encodeOfferEnd(cid, 1, "no room"),
];

const mutated = fc.constantFrom(...valid).chain((v) =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat({ max: v.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((edits) => {
      const copy = v.slice();
      for (const [at, b] of edits) copy[at] = b;
      return copy;
    }),
    fc.nat({ max: v.length }).map((n) => v.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 20 }).map((extra) => new Uint8Array([...v, ...extra])),
  ),
);

describe("files messages, valid and mutated", () => {
  it("read within their limits, views inside the bytes, or refused with a sentence", () => {
    for (const v of valid) expect(typeof decodeMessage(v)).toBe("object");
    fc.assert(
      fc.property(fc.tuple(mutated, fc.nat({ max: 7 })), ([bytes, pad]) => {
        // The message as a view at an offset of a larger buffer, as it arrives in a frame.
        const frame = new Uint8Array(bytes.length + pad * 2);
        frame.set(bytes, pad);
        const view = frame.subarray(pad, pad + bytes.length);
        const m = decodeMessage(view);
        if (typeof m === "string") return;
        expect(m.cid).toMatch(/^[0-9a-f]{64}$/);
        expect(m.cid).toBe(Buffer.from(bytes.subarray(1, 33)).toString("hex"));
        if (m.type === MSG.BITFIELD) {
          expect(m.size >= 1 && m.size <= MAX_CHUNKS).toBe(true);
          expect(m.bits.length).toBe(Math.ceil(m.size / 8));
        }
        if (m.type === MSG.OFFER_END) expect(Buffer.byteLength(m.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES * 3);
        if ("data" in m) {
          expect(m.data.buffer).toBe(frame.buffer);
          expect(m.data.byteOffset + m.data.length).toBe(view.byteOffset + view.length);
        }
      }),
      { seed: 31, numRuns: 5000 },
    );
  });
});
