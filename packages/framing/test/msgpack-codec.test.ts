// The package's MessagePack codec (src/msgpack-codec.ts, used in Node
// and in browsers) against @msgpack/msgpack (test/helpers/library-msgpack-codec.ts,
// what earlier releases used in Node): the same bytes for every
// value, the same value (or a refusal by both) for every byte string that
// passes the envelope's scan, generated values and mutated bytes alike. A page
// and a Node peer must agree on every payload.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMsgpackCodec as browserCodec, ExtData } from "../src/msgpack-codec.js";
import { createMsgpackCodec as nodeCodec } from "./helpers/library-msgpack-codec.js";
import { scanMsgpack } from "../src/msgpack-scan.js";

const node = nodeCodec(1 << 20);
const browser = browserCodec();
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Encodes with one codec: the bytes (copied) or the error's message. */
function encodeWith(codec: typeof node, value: unknown): string {
  try {
    return hex(codec.encodeSharedRef(value));
  } catch (e) {
    return `throws: ${(e as Error).message}`;
  }
}

/** A comparable form of a decoded value: dates by their time, binaries and extensions by their bytes, key order kept. */
function shape(v: unknown): unknown {
  if (v instanceof Date) return ["date", String(v.getTime())];
  if (v instanceof Uint8Array) return ["bin", hex(v)];
  if (v instanceof ExtData || (typeof v === "object" && v !== null && v.constructor?.name === "ExtData")) {
    const e = v as { type: number; data: Uint8Array };
    return ["ext", e.type, hex(e.data)];
  }
  if (Array.isArray(v)) return ["array", v.map(shape)];
  if (typeof v === "object" && v !== null) {
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    return ["map", Object.entries(v).map(([k, x]) => [k, shape(x)])];
  }
  if (typeof v === "number") return ["number", Object.is(v, -0) ? "-0" : String(v)];
  return v;
}

function decodeWith(codec: typeof node, bytes: Uint8Array): unknown {
  try {
    return shape(codec.decode(bytes, 32));
  } catch {
    return "throws";
  }
}

const char = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyString = fc.oneof(fc.string({ unit: char, maxLength: 60 }), fc.string({ unit: char, minLength: 190, maxLength: 320 }), fc.string({ unit: "grapheme", maxLength: 80 }));
const edgeNumbers = [0, -0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, -(2 ** 53), 0.5, NaN, Infinity, -Infinity];
const leaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(...edgeNumbers),
  anyString,
  fc.uint8Array({ maxLength: 300 }),
  fc.int16Array({ maxLength: 10 }),
  fc.date({ noInvalidDate: false }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((ms) => new Date(ms * 1000 + 123)),
  fc.constantFrom(new ArrayBuffer(4), new Map([[1, 2]]), new Set([1]), () => 1, 10n, Symbol("s")),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("value"), { maxLength: 20 }), fc.dictionary(anyString, tie("value"), { maxKeys: 20 })),
}));

// Each property does a fixed amount of work, sized to take 1 to 3.5 s on two cores shared at a load
// of 12 to 25 (well inside the 20 s test timeout on a loaded runner); fast-check draws a new seed
// each run, so successive runs cover other cases.
describe("the browser's MessagePack codec and @msgpack/msgpack", () => {
  it("write the same bytes for every value (and refuse the same values)", () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(encodeWith(browser, v)).toBe(encodeWith(node, v));
      }),
      { numRuns: 1000 },
    );
  });

  it("write lone surrogates alike on both sides of the library's 50-unit switch to TextEncoder", () => {
    for (let n = 1; n <= 60; n++) {
      for (const s of ["a".repeat(n - 1) + "\ud800", "\udc00" + "é".repeat(n - 1), "\ud83d".repeat(n), "😀".repeat(n >> 1) + "\ud83d"]) {
        expect(encodeWith(browser, s), `${n}: ${JSON.stringify(s)}`).toBe(encodeWith(node, s));
        expect(encodeWith(browser, { [s]: s }), `${n}: key`).toBe(encodeWith(node, { [s]: s }));
      }
    }
  });

  it("refuse values nested deeper than 100 levels alike", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 120; i++) deep = [deep];
    expect(encodeWith(browser, deep)).toBe(encodeWith(node, deep));
    expect(encodeWith(browser, deep)).toMatch(/^throws: Too deep/);
  });

  it("read back the same value from what they write", () => {
    fc.assert(
      fc.property(value, (v) => {
        let bytes: Uint8Array;
        try {
          bytes = node.encodeSharedRef(v).slice();
        } catch {
          return;
        }
        expect(decodeWith(browser, bytes)).toEqual(decodeWith(node, bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("read the same value from mutated bytes that pass the scan, or both refuse them", () => {
    let compared = 0;
    fc.assert(
      fc.property(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (v, flips) => {
        let bytes: Uint8Array;
        try {
          bytes = node.encodeSharedRef(v).slice();
        } catch {
          return;
        }
        for (const [at, b] of flips) bytes[at % bytes.length] = b;
        try {
          scanMsgpack(bytes, 32);
        } catch {
          return;
        }
        compared++;
        expect(decodeWith(browser, bytes)).toEqual(decodeWith(node, bytes));
      }),
      { numRuns: 1500 },
    );
    // About a third pass the scan (500 to 550 of 1,500 measured).
    expect(compared).toBeGreaterThan(250);
  });

  it("read hand-made edge cases alike: 64-bit integers, timestamps, malformed UTF-8, odd map keys", () => {
    const cases = [
      "cfffffffffffffffff", "d38000000000000000", "d3ffffffffffffffff", "ca3fc00000",
      "d6ff00000001", "d7ff0000000400000001", "c70cff000000010000000100000001", "c703ff010203", "d40105", "c70005",
      "a2e282", "a3f0908d", "a2c0af", "a3eda080", "d9c9" + "e2".repeat(201),
      "81a95f5f70726f746f5f5f01", "8101a161", "81c0a161", "8190a161", "81c401ffa161", "82a161c0a16201",
      // Each type whose length (or fixed data) comes in sizes: 8, 16 and 32-bit lengths, fixext 1 to 16.
      "c40100", "c5000100", "c600000001ff", "c70105aa", "c8000105aa", "c90000000105aa",
      "d405aa", "d505aabb", "d605" + "aa".repeat(4), "d705" + "aa".repeat(8), "d805" + "aa".repeat(16),
      "d90161", "da000161", "db0000000161", "dc000101", "dd0000000101", "de0001a16101", "df00000001a16101",
    ];
    for (const c of cases) {
      const bytes = Uint8Array.from(Buffer.from(c, "hex"));
      scanMsgpack(bytes, 32); // well-formed, as every payload that reaches a codec
      expect(decodeWith(browser, bytes), c).toEqual(decodeWith(node, bytes));
    }
    expect(decodeWith(browser, Uint8Array.from(Buffer.from("81a95f5f70726f746f5f5f01", "hex")))).toBe("throws");
    // Malformed UTF-8 on both sides of the library's 200-byte switch to TextDecoder (which reads it otherwise).
    for (let n = 190; n <= 210; n++) {
      const bytes = Uint8Array.from([0xd9, n, ...Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0xff : 0xc3))]);
      expect(decodeWith(browser, bytes), `${n} bytes`).toEqual(decodeWith(node, bytes));
    }
  });

  // Hostile input: every form whose length is declared (bin, str, ext 8/16/32, array and map 16/32) or fixed (fixext)
  // claims more than follows, up to the largest length it can declare, or its length field is cut short. The browser's
  // codec refuses each with the framing error a malformed envelope gets (no allocation of the declared size, no
  // RangeError from the engine), as the library refuses it.
  it("refuse sized forms whose declared length runs past the bytes, alike", () => {
    const sized: Array<[type: number, lengthBytes: number, prefix: number[]]> = [
      [0xc4, 1, []], [0xc5, 2, []], [0xc6, 4, []],
      [0xc7, 1, []], [0xc8, 2, []], [0xc9, 4, []],
      [0xd9, 1, []], [0xda, 2, []], [0xdb, 4, []],
      [0xdc, 2, []], [0xdd, 4, []], [0xde, 2, []], [0xdf, 4, []],
    ];
    const refusal = (bytes: Uint8Array): string => {
      try {
        browser.decode(bytes, 32);
        return "read";
      } catch (e) {
        return (e as { code?: string }).code ?? `no code: ${String(e)}`;
      }
    };
    const cases: Uint8Array[] = [];
    for (const [t, n] of sized) {
      const max = 2 ** (8 * n) - 1;
      // The largest length, one past what follows, and a length field cut short.
      for (const declared of [max, 2]) {
        const length = Array.from({ length: n }, (_, i) => Math.floor(declared / 2 ** (8 * (n - 1 - i))) % 256);
        const ext = t >= 0xc7 && t <= 0xc9 ? [0x05] : [];
        cases.push(Uint8Array.from([t, ...length, ...ext, 0x01]));
      }
      cases.push(Uint8Array.from([t, ...Array.from({ length: n - 1 }, () => 0xff)]));
    }
    // fixext 1 to 16 with one byte less than their size (and the type byte alone).
    for (let t = 0xd4; t <= 0xd8; t++) {
      cases.push(Uint8Array.from([t, 0x05, ...Array.from({ length: (1 << (t - 0xd4)) - 1 }, () => 0xaa)]));
      cases.push(Uint8Array.of(t));
    }
    for (const bytes of cases) {
      expect(refusal(bytes), hex(bytes)).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
      expect(decodeWith(node, bytes), hex(bytes)).toBe("throws");
    }
    // Any declared length over what follows, for every sized form, with any bytes after it.
    fc.assert(
      fc.property(fc.constantFrom(...sized), fc.uint8Array({ maxLength: 40 }), fc.nat(), ([t, n], rest, extra) => {
        const max = 2 ** (8 * n) - 1;
        // The least length that runs past the bytes: an array element takes at least a byte, a map entry two.
        const least = Math.floor(rest.length / (t >= 0xde ? 2 : 1)) + 1;
        if (least > max) return;
        const declared = least + (extra % (max - least + 1));
        const length = Array.from({ length: n }, (_, i) => Math.floor(declared / 2 ** (8 * (n - 1 - i))) % 256);
        const bytes = Uint8Array.from([t, ...length, ...(t >= 0xc7 && t <= 0xc9 ? [0x05] : []), ...rest]);
        expect(refusal(bytes), hex(bytes)).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
      }),
      { numRuns: 2000 },
    );
  });
});
