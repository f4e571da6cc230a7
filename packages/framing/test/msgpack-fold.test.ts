// The decoder checks a payload's structure as it reads it (one walk), where
// the scan (`scanMsgpack`) used to walk it first and the decoder second. The
// pair as it was (`scanMsgpack`, then the decoder of
// test/helpers/pre-fold-msgpack-codec.ts) is the oracle: the folded decoder
// must accept exactly the same bytes, read the same value from them, and
// refuse the rest with the same error (a FramingError of the same code and
// message for a structural fault, a plain error of the same message for one
// only a decoder sees).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FramingError } from "../src/errors.js";
import { createMsgpackCodec } from "../src/msgpack-codec.js";
import { scanMsgpack } from "../src/msgpack-scan.js";
import { createMsgpackCodec as preFoldCodec } from "./helpers/pre-fold-msgpack-codec.js";

const folded = createMsgpackCodec();
const before = preFoldCodec();

/** What a decoding came to: the value (in a comparable form), or the error's class, code and message. */
function outcome(decode: () => unknown): unknown {
  try {
    return ["value", shape(decode())];
  } catch (e) {
    const error = e as Error & { code?: string };
    return e instanceof FramingError ? ["refused", error.code, error.message] : ["thrown", error.message];
  }
}

function shape(v: unknown): unknown {
  if (v instanceof Date) return ["date", v.getTime()];
  if (v instanceof Uint8Array) return ["bin", Buffer.from(v).toString("hex")];
  if (Array.isArray(v)) return v.map(shape);
  if (typeof v === "object" && v !== null) {
    if ("type" in v && "data" in v && v.constructor.name === "ExtData") return ["ext", v.type, shape(v.data)];
    return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  }
  return Object.is(v, -0) ? "-0" : Number.isNaN(v) ? "NaN" : v;
}

function same(bytes: Uint8Array, maxDepth: number): void {
  const old = outcome(() => {
    scanMsgpack(bytes, maxDepth);
    return before.decode(bytes);
  });
  expect(outcome(() => folded.decode(bytes, maxDepth)), Buffer.from(bytes).toString("hex")).toEqual(old);
}

const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 40 }), fc.string({ minLength: 200, maxLength: 260 }), fc.uint8Array({ maxLength: 40 }), fc.date({ noInvalidDate: true }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("value"), { maxLength: 8 }), fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 8 })),
}));
/** Encoded values, a few of their bytes replaced, cut short or with bytes added: mostly near-valid input. */
const mutated = fc
  .tuple(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 3 }), fc.integer({ min: 0, max: 3 }))
  .map(([v, flips, cut, extra, how]) => {
    const bytes = before.encodeSharedRef(v).slice();
    for (const [at, b] of flips) bytes[at % bytes.length] = b;
    if (how === 1) return bytes.subarray(0, cut % (bytes.length + 1));
    if (how === 2) return Uint8Array.from([...bytes, ...extra]);
    return bytes;
  });
// Type bytes of every kind, lengths near the ends, the never-used 0xc1, odd keys and timestamps.
const tokens = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 255 }).map((b) => [b]),
    fc.constantFrom([0xc1], [0x81, 0xa9, ...Buffer.from("__proto__")], [0x81, 0xc0], [0x81, 0x90], [0xd6, 0xff], [0xc7, 3, 0xff], [0xd4, 0xff], [0xdc, 0, 2], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0, 0, 0, 1], [0xc6, 0, 0, 0, 9], [0x91], [0x82]),
  ),
  { maxLength: 24 },
).map((parts) => Uint8Array.from(parts.flat()));

// Each property does a fixed amount of work, sized to take 1 to 3.5 s on two cores shared at a load
// of 12 to 25 (well inside the 20 s test timeout on a loaded runner); fast-check draws a new seed
// each run, so successive runs cover other cases.
describe("the MessagePack decoder with the scan folded in", () => {
  it("property: accepts, reads and refuses exactly what the scan and the old decoder did, at any depth limit", () => {
    fc.assert(
      fc.property(fc.oneof(mutated, tokens, fc.uint8Array({ maxLength: 64 })), fc.integer({ min: 0, max: 6 }), (bytes, maxDepth) => same(bytes, maxDepth)),
      { numRuns: 4000 },
    );
  });

  it("property: reads any value as the old pair did, with the default depth limit and a larger one", () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = before.encodeSharedRef(v).slice();
        same(bytes, 32);
        same(bytes, 100);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses as the pair did when a structural fault comes after one only the decoder sees", () => {
    const cases = [
      // A __proto__ key, then a truncated value.
      [0x82, 0xa9, ...Buffer.from("__proto__"), 1, 0xa1],
      // A map key that is an array, then nesting past the limit.
      [0x82, 0x90, 1, 0xa1, 0x61, 0x91, 0x91, 0x91, 0x91, 1],
      // A timestamp of 3 bytes, then bytes after the value.
      [0x92, 0xc7, 3, 0xff, 1, 2, 3, 0xc0, 0xc0],
      // A nested __proto__ inside a value whose own key is bad.
      [0x81, 0xc0, 0x81, 0xa9, ...Buffer.from("__proto__"), 1],
      // Declared counts far beyond the bytes present.
      [0xdd, 0xff, 0xff, 0xff, 0xff, 1],
      [0xdf, 0x7f, 0xff, 0xff, 0xff, 1, 2],
    ];
    for (const c of cases) for (const depth of [0, 1, 2, 32]) same(Uint8Array.from(c), depth);
  });
});

describe("the folded decoder and lengths declared beyond what is proven", { timeout: 120_000 }, () => {
  it("refuses 32 nested arrays that each overstate their count, over 4 MiB of 0xc1, in a process of 64 MiB heap, as the scan does", async () => {
    // Each array32 declares about as many items as bytes are left (each passes that check, none can be honest):
    // sized ahead from those counts, the arrays would take 32 x 4M slots (1 GiB) before the first 0xc1 is read.
    const src = (file: string): string => JSON.stringify(fileURLToPath(new URL(`../src/${file}`, import.meta.url)));
    const script = `
      import { createMsgpackCodec } from ${src("msgpack-codec.ts")};
      import { scanMsgpack } from ${src("msgpack-scan.ts")};
      const size = 4 << 20, depth = 32;
      const bytes = new Uint8Array(size).fill(0xc1);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < depth; i++) { bytes[i * 5] = 0xdd; view.setUint32(i * 5 + 1, size - (i + 1) * 5); }
      const outcome = (f) => { try { f(); return ["value"]; } catch (e) { return [e.code, e.message]; } };
      console.log(JSON.stringify({ scan: outcome(() => scanMsgpack(bytes, depth)), decode: outcome(() => createMsgpackCodec().decode(bytes, depth)) }));
    `;
    const bundle = await build({ stdin: { contents: script, loader: "js", resolveDir: process.cwd() }, bundle: true, format: "esm", platform: "node", conditions: ["source"], write: false });
    // A real process with a small heap: one that allocates from the declared counts dies of it.
    const run = spawnSync(process.execPath, ["--max-old-space-size=64", "--input-type=module", "-"], { input: bundle.outputFiles[0]!.text, encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const { scan, decode } = JSON.parse(run.stdout) as { scan: string[]; decode: string[] };
    expect(scan[0]).toBe("XPPG_ERR_MALFORMED_ENVELOPE");
    expect(decode).toEqual(scan);
  });
});
