import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { XPPG_ERROR_CODES, byteArrayLength, byteArrayView, checkByteArray, viewBytes } from "../src/index.js";

class Lying extends Uint8Array {
  override get length(): number {
    return 1000;
  }
  override get byteLength(): number {
    return 1000;
  }
  override get byteOffset(): number {
    return 0;
  }
}

const refused = { name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT };

describe("checkByteArray", () => {
  it("answers the bytes a Uint8Array holds, whatever its own length says", () => {
    const memory = new Uint8Array(16).fill(0xee);
    const lying = new Lying(memory.buffer, 4, 3);
    lying.set([1, 2, 3]);
    expect(checkByteArray(lying, "send", "frame")).toBe(3);
    expect(byteArrayLength(lying)).toBe(3);
    const view = byteArrayView(lying, 3);
    expect(Object.getPrototypeOf(view)).toBe(Uint8Array.prototype);
    expect([...view]).toEqual([1, 2, 3]);
    expect(view.byteOffset).toBe(4);
    expect(checkByteArray(Buffer.from("abc"), "send", "frame")).toBe(3);
    expect(checkByteArray(new Uint8Array(0), "send", "frame")).toBe(0);
  });

  it("takes a Uint8Array of another realm, its own getters or not", () => {
    const foreign = runInNewContext("new Uint8Array([7, 8, 9, 10])") as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    expect(checkByteArray(foreign, "send", "frame")).toBe(4);
    expect([...byteArrayView(foreign, 4)]).toEqual([7, 8, 9, 10]);
  });

  it("refuses a Proxy, an object given Uint8Array's prototype, another typed array and a detached view, with the call and the name", () => {
    expect(() => checkByteArray(new Proxy(new Uint8Array(3), {}), "send", "frame")).toThrow(expect.objectContaining(refused));
    expect(() => checkByteArray(Object.setPrototypeOf({ length: 3 }, Uint8Array.prototype), "send", "frame")).toThrow(expect.objectContaining(refused));
    expect(() => checkByteArray(new Uint16Array(2), "send", "frame")).toThrow(expect.objectContaining(refused));
    expect(() => checkByteArray([1, 2], "send", "frame")).toThrow(/send: frame must be a Uint8Array/);
    // Typed arrays of other kinds that pass `instanceof Uint8Array`: their `length` counts elements, not bytes.
    // Each kind is read from the array itself, never from its prototype, and they are refused like any other.
    const words = Object.setPrototypeOf(new Uint16Array(2), Uint8Array.prototype) as Uint8Array;
    expect(words instanceof Uint8Array).toBe(true);
    expect(() => checkByteArray(words, "send", "frame")).toThrow(expect.objectContaining(refused));
    class Wide extends Float64Array {}
    Object.setPrototypeOf(Wide.prototype, Uint8Array.prototype);
    expect(() => checkByteArray(new Wide(2), "send", "frame")).toThrow(expect.objectContaining(refused));
    const big = Object.setPrototypeOf(new BigInt64Array(1), Uint8Array.prototype) as Uint8Array;
    expect(() => checkByteArray(big, "send", "frame")).toThrow(expect.objectContaining(refused));
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => checkByteArray(detached, "send", "frame")).toThrow(expect.objectContaining(refused));
    expect(() => checkByteArray(detached, "send", "frame")).toThrow(/detached/);
    const foreign = runInNewContext("new Uint8Array(8)") as Uint8Array<ArrayBuffer>;
    structuredClone(foreign.buffer, { transfer: [foreign.buffer] });
    expect(() => checkByteArray(foreign, "send", "frame")).toThrow(expect.objectContaining(refused));
    const shared = new Uint8Array(new SharedArrayBuffer(0));
    expect(checkByteArray(shared, "send", "frame")).toBe(0);
  });

  it("once called often enough for the engine to optimize it, still answers the bytes held and runs none of a value's own code", () => {
    // The check reads an element of the array before its length (a hint to V8's optimizing compiler): what it
    // reads and answers must not change when the compiled form takes over, nor may a Proxy's trap ever run.
    const memory = new Uint8Array(16);
    const arrays = [new Uint8Array(5), Buffer.alloc(7), new Lying(memory.buffer, 4, 3), new Uint8Array(0)];
    let total = 0;
    for (let i = 0; i < 200_000; i++) total += checkByteArray(arrays[i % arrays.length], "send", "frame");
    expect(total).toBe(50_000 * (5 + 7 + 3 + 0));
    let trapped = 0;
    const traps: ProxyHandler<Uint8Array> = {
      get: () => ++trapped,
      getPrototypeOf: () => (trapped++, Uint8Array.prototype),
      has: () => ++trapped > 0,
    };
    for (let i = 0; i < 1000; i++) {
      expect(() => checkByteArray(new Proxy(new Uint8Array(3), traps), "send", "frame")).toThrow(expect.objectContaining(refused));
    }
    expect(trapped).toBe(0);
    expect(() => checkByteArray(Object.setPrototypeOf({ length: 3, 0: 1 }, Uint8Array.prototype), "send", "frame")).toThrow(expect.objectContaining(refused));
    expect(checkByteArray(new Lying(memory.buffer, 1, 2), "send", "frame")).toBe(2);
  });
});

describe("viewBytes", () => {
  it("places a typed array's or a DataView's bytes by the language's getters", () => {
    const memory = new Uint8Array(32).map((_, i) => i);
    class LyingWords extends Uint16Array {
      override get byteOffset(): number {
        return 0;
      }
      override get byteLength(): number {
        return 32;
      }
    }
    expect([...viewBytes(new LyingWords(memory.buffer, 8, 2))]).toEqual([8, 9, 10, 11]);
    const view = new DataView(memory.buffer, 4, 3);
    Object.defineProperty(view, "byteLength", { value: 32 });
    expect([...viewBytes(view)]).toEqual([4, 5, 6]);
  });
});
