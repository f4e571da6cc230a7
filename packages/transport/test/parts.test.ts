import { describe, expect, it } from "vitest";
import { joinParts, partsLength, sendJoined } from "../src/adapter/index.js";
import { writeParts } from "../src/adapter/parts.js";
import { lyingBytes } from "../src/compliance/helpers.js";

describe("joinParts", () => {
  it("copies parts that lie apart into one new array", () => {
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    const joined = joinParts([a, new Uint8Array(0), b]);
    expect([...joined]).toEqual([1, 2, 3]);
    expect(joined.buffer).not.toBe(a.buffer);
  });

  it("returns a view, not a copy, when the parts lie back to back in one buffer", () => {
    const backing = Uint8Array.of(9, 1, 2, 3, 4, 9);
    const joined = joinParts([backing.subarray(1, 3), backing.subarray(3, 3), backing.subarray(3, 5)]);
    expect([...joined]).toEqual([1, 2, 3, 4]);
    expect(joined.buffer).toBe(backing.buffer);
    expect(joined.byteOffset).toBe(1);
    // Same buffer, out of order: copied in the order given.
    expect([...joinParts([backing.subarray(3, 5), backing.subarray(1, 3)])]).toEqual([3, 4, 1, 2]);
  });

  it("gives one part back as it is, and an empty array for none", () => {
    const a = Uint8Array.of(5);
    expect(joinParts([a])).toBe(a);
    expect(joinParts([]).byteLength).toBe(0);
  });

  it("refuses anything but an array of Uint8Array with a TypeError", () => {
    expect(() => partsLength("ab" as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => joinParts([Uint8Array.of(1), [2] as unknown as Uint8Array])).toThrow(TypeError);
  });

  it("sendJoined turns a bad argument into a rejection, not a throw", async () => {
    const sent: Uint8Array[] = [];
    const conn = { send: (frame: Uint8Array) => (sent.push(frame), Promise.resolve()) };
    await sendJoined(conn, [Uint8Array.of(1), Uint8Array.of(2)]);
    expect(sent.map((f) => [...f])).toEqual([[1, 2]]);
    await expect(sendJoined(conn, null as unknown as Uint8Array[])).rejects.toThrow(TypeError);
  });

  it("writeParts copies the parts back to back from an offset, each by its true size (a part's own length may lie), and answers where it ended", () => {
    const into = new Uint8Array(8).fill(9);
    // Two real bytes claiming 5: a count by its own length would leave a gap of 3 and run past the end.
    expect(writeParts([Uint8Array.of(1), lyingBytes(2, 5, 2), Uint8Array.of(3)], into, 2)).toBe(6);
    expect([...into]).toEqual([9, 9, 1, 2, 2, 3, 9, 9]);
  });
});
