// Its own file: the compact layout's kind cache is the module's, and this is about its first use.
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, FRAMING_ERROR_CODES, type EnvelopeLink } from "../src/index.js";

const A = "peer-a-".padEnd(55, "a");
const B = "peer-b-".padEnd(55, "b");
const toB: EnvelopeLink = { local: A, remote: B, lean: true };

describe("the compact direct envelope's first write in a process", () => {
  it("refuses a missing kind (XPPG_ERR_UNENCODABLE_PAYLOAD) instead of writing an envelope with none", () => {
    const out = new Uint8Array(64).fill(0xee);
    let error: unknown;
    try {
      new EnvelopeCodec().encodeFieldsInto(out, 0, undefined as unknown as string, A, B, 1, 0, new Uint8Array(3), undefined, toB);
    } catch (e) {
      error = e;
    }
    expect(isXppgError(error, FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD)).toBe(true);
    expect([...out]).toEqual(new Array(64).fill(0xee));
  });
});
