// Its own file: the compact layout's kind cache is the module's, and this is about writeLeanBytes as its first use.
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { FRAMING_ERROR_CODES } from "../src/index.js";
import { writeLeanBytes } from "../src/adapter.js";

describe("writeLeanBytes as the compact layout's first write in a process", () => {
  it("refuses a missing kind (XPPG_ERR_UNENCODABLE_PAYLOAD) instead of writing an envelope without its kind's length", () => {
    const out = new Uint8Array(64).fill(0xee);
    let error: unknown;
    try {
      writeLeanBytes(out, 0, undefined as unknown as string, 1, new Uint8Array([3, 97, 98, 99, 7]), 4096);
    } catch (e) {
      error = e;
    }
    expect(isXppgError(error, FRAMING_ERROR_CODES.UNENCODABLE_PAYLOAD)).toBe(true);
    expect([...out]).toEqual(new Array(64).fill(0xee));
  });
});
