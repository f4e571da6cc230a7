import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FilesError, parseManifest } from "../src/index.js";
import { craftManifest } from "./helpers/raw-peer.js";
import { MAX_REASON_BYTES, MSG, OFFER_STATUS, decodeMessage, encodeBare, encodeOfferEnd, encodeBitfield, encodeHave, encodeManifest, encodeManifestRequest, encodeRequest, encodeSlot } from "../src/wire.js";

const cid = "7f".repeat(32);

describe("the files wire codec", () => {
  it("reads back what it writes", () => {
    expect(decodeMessage(encodeHave(cid, 7))).toEqual({ type: MSG.HAVE, cid, index: 7 });
    expect(decodeMessage(encodeRequest(cid, 3, 65536, 1000))).toEqual({ type: MSG.REQUEST, cid, index: 3, offset: 65536, length: 1000 });
    expect(decodeMessage(encodeSlot(MSG.CANCEL, cid, 1, 2))).toEqual({ type: MSG.CANCEL, cid, index: 1, offset: 2 });
    expect(decodeMessage(encodeManifestRequest(cid, 0, 100))).toEqual({ type: MSG.MANIFEST_REQUEST, cid, offset: 0, length: 100 });
    expect(decodeMessage(encodeManifest(cid, 0, 3, Uint8Array.of(1, 2, 3)))).toMatchObject({ type: MSG.MANIFEST, cid, offset: 0, total: 3, data: Uint8Array.of(1, 2, 3) });
    expect(decodeMessage(encodeBitfield(cid, 9, Uint8Array.of(0xff, 0x80)))).toMatchObject({ type: MSG.BITFIELD, cid, size: 9 });
    expect(decodeMessage(encodeBare(MSG.OFFER, cid))).toEqual({ type: MSG.OFFER, cid });
    expect(decodeMessage(encodeOfferEnd(cid, OFFER_STATUS.REFUSED, "no programs"))).toEqual({ type: MSG.OFFER_END, cid, status: OFFER_STATUS.REFUSED, reason: "no programs" });
  });

  it("cuts an offer end's reason to its limit on a character boundary, and refuses a longer one or an unknown status", () => {
    const long = decodeMessage(encodeOfferEnd(cid, OFFER_STATUS.REFUSED, "é".repeat(400)));
    expect(long).toMatchObject({ reason: "é".repeat(MAX_REASON_BYTES / 2) });
    const tooLong = new Uint8Array(33 + 2 + MAX_REASON_BYTES);
    tooLong[0] = MSG.OFFER_END;
    expect(decodeMessage(tooLong)).toBe(`an offer end of ${1 + MAX_REASON_BYTES + 1} bytes`);
    const status = encodeOfferEnd(cid, 0, "");
    status[33] = 9;
    expect(decodeMessage(status)).toBe("an offer end of status 9");
  });

  it("never throws on any bytes: a message or a sentence saying what is wrong", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const m = decodeMessage(bytes);
        expect(typeof m === "string" || typeof m === "object").toBe(true);
      }),
      { seed: 12, numRuns: 2000 },
    );
  });

  it("refuses a bitfield of a size past the chunk limit before reading it", () => {
    const bytes = encodeBitfield(cid, 8, Uint8Array.of(0));
    new DataView(bytes.buffer).setUint32(33, 0xffffffff);
    expect(decodeMessage(bytes)).toBe("a bitfield of 4294967295 chunks");
  });

  it("parseManifest throws only FilesError, whatever the bytes (their hash made the id)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const id = createHash("sha256").update(bytes).digest("hex");
        try {
          parseManifest(bytes, id, { maxFileSize: 2 ** 40 });
        } catch (error) {
          expect(error).toBeInstanceOf(FilesError);
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it("reads back every request, slot and offer end it writes, whatever the fields", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const id = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
    fc.assert(
      fc.property(id, u32, u32, u32, fc.string({ maxLength: 400, unit: "grapheme" }), fc.constantFrom(0, 1, 2), (c, index, offset, length, reason, status) => {
        expect(decodeMessage(encodeRequest(c, index, offset, length))).toEqual({ type: MSG.REQUEST, cid: c, index, offset, length });
        expect(decodeMessage(encodeSlot(MSG.REJECT, c, index, offset))).toEqual({ type: MSG.REJECT, cid: c, index, offset });
        const end = decodeMessage(encodeOfferEnd(c, status, reason));
        if (typeof end === "string" || end.type !== MSG.OFFER_END) throw new Error(`not an offer end: ${String(end)}`);
        expect(end.status).toBe(status);
        expect(reason.startsWith(end.reason)).toBe(true);
        expect(Buffer.byteLength(end.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
      }),
      { seed: 21, numRuns: 1000 },
    );
  });

  it("a valid manifest mutated (bytes changed, cut or added) is refused with a FilesError or read back within every limit", () => {
    const valid = craftManifest("photo.jpg", randomBytesSeeded(5 * 16 * 1024 + 3), 16 * 1024).bytes;
    const mutation = fc.oneof(
      fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }).map(({ at, value }) => {
        const b = Uint8Array.from(valid);
        b[at] = value;
        return b;
      }),
      fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => Uint8Array.from([...valid, ...extra])),
    );
    fc.assert(
      fc.property(mutation, (bytes) => {
        const id = createHash("sha256").update(bytes).digest("hex");
        let m;
        try {
          m = parseManifest(bytes, id, { maxFileSize: 2 ** 40 });
        } catch (error) {
          expect(error).toBeInstanceOf(FilesError);
          return;
        }
        expect(m.chunkCount).toBe(Math.max(1, Math.ceil(m.size / m.chunkSize)));
        expect(m.chunkCount).toBeLessThanOrEqual(65_536);
        expect(m.chunkSize).toBeGreaterThanOrEqual(16 * 1024);
        expect(Buffer.byteLength(m.name)).toBeLessThanOrEqual(1024);
        expect(m.size).toBeLessThanOrEqual(2 ** 40);
      }),
      { seed: 5, numRuns: 3000 },
    );
  });
});

/** Deterministic bytes (a fuzz run must replay from its seed). */
function randomBytesSeeded(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
