// Random bytes on libsodium (issue 15, the first connection): with the prebuilt binding the provider's keys and
// random bytes come from `randombytes_buf`, so a first connection needs no node:crypto. The raw binding writes into
// an ArrayBuffer at an offset and a length it does not check, and silently writes nothing when handed a typed array:
// a generator that fills nothing must never be taken (it would hand out constant keys and identities).
import { describe, expect, it } from "vitest";
import { fillsRandomly } from "../src/crypto/sodium-loader.js";
import { cryptoProvider, cryptoProviderName, generateIdentity } from "../src/index.js";
import { needsSodium, rawBinding, sodiumAead } from "./sodium.js";

interface RandomBinding {
  randombytes_buf(buf: ArrayBuffer | Uint8Array, offset?: number, length?: number): void;
}


const raw = rawBinding<RandomBinding>();
if (!("binding" in raw)) console.log(`[skip] libsodium random bytes: ${raw.reason}`);

describe("the check that a random generator fills what it is given", () => {
  it("refuses a generator that writes nothing, one that repeats itself, one of the wrong length and one that throws", () => {
    expect(fillsRandomly((n) => new Uint8Array(n))).toBe(false);
    expect(fillsRandomly((n) => new Uint8Array(n).fill(7))).toBe(false);
    expect(fillsRandomly((n) => new Uint8Array(n - 1).map(() => Math.floor(Math.random() * 256)))).toBe(false);
    // One that fills only the start of what it is given.
    expect(fillsRandomly((n) => new Uint8Array(n).map((_, i) => (i < 8 ? Math.floor(Math.random() * 255) + 1 : 0)))).toBe(false);
    expect(
      fillsRandomly(() => {
        throw new Error("no entropy");
      }),
    ).toBe(false);
    expect(fillsRandomly((n) => new Uint8Array(n).map(() => Math.floor(Math.random() * 256)))).toBe(true);
  });

  it.runIf("binding" in raw)("refuses the raw binding called with a typed array (it writes nothing), takes it called with an ArrayBuffer", () => {
    const b = (raw as { binding: RandomBinding }).binding;
    expect(fillsRandomly((n) => {
      const out = new Uint8Array(n);
      b.randombytes_buf(out);
      return out;
    })).toBe(false);
    expect(fillsRandomly((n) => {
      const out = new ArrayBuffer(n);
      b.randombytes_buf(out, 0, n);
      return new Uint8Array(out);
    })).toBe(true);
  });
});

describe.runIf("binding" in raw && needsSodium("libsodium's random bytes through the loaded provider"))("random bytes with the prebuilt binding", () => {
  it("gives the keys libsodium's random bytes: of the length asked, and different every time", () => {
    const aead = sodiumAead;
    expect(aead?.randomSource).toBe("sodium");
    const keys = aead?.keys;
    expect(keys).toBeTruthy();
    expect(keys!.randomBytes(0).byteLength).toBe(0);
    const seen = new Set<string>();
    for (const n of [1, 16, 32, 1000]) {
      const a = keys!.randomBytes(n);
      expect(a.byteLength).toBe(n);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(n);
      seen.add(Buffer.from(a).toString("hex"));
    }
    expect(seen.size).toBe(4);
    const pairs = Array.from({ length: 64 }, () => keys!.x25519Generate());
    expect(new Set(pairs.map((p) => Buffer.from(p.secretKey).toString("hex"))).size).toBe(64);
  });

  it("makes the provider's random bytes and identities distinct (the sodium provider)", () => {
    if (cryptoProviderName !== "sodium") return console.log(`[skip] the provider here is ${cryptoProviderName}, not sodium`);
    const ids = Array.from({ length: 16 }, () => generateIdentity());
    expect(new Set(ids.map((i) => i.peerId)).size).toBe(16);
    const a = cryptoProvider.randomBytes(32);
    const b = cryptoProvider.randomBytes(32);
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it("refuses a length that is not a whole number of bytes, as node:crypto's does (the binding would write nothing)", () => {
    const keys = sodiumAead?.keys;
    expect(keys).toBeTruthy();
    for (const bad of ["8", Number.NaN, 2.5, -1, 2 ** 31, Infinity, undefined] as unknown[]) {
      expect(() => keys!.randomBytes(bad as number)).toThrow(RangeError);
    }
    if (cryptoProviderName === "sodium") expect(() => cryptoProvider.randomBytes("8" as unknown as number)).toThrow(RangeError);
  });
});
