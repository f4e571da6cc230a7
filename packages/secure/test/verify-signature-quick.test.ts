// verifySignature (the Node entry's, which a node runs on every signed peer
// record as it connects) takes libsodium's yes first, as the handshake does,
// and leaves the verdict on its no to node:crypto: a node that only checks
// genuine signatures never loads node:crypto (about 1 MiB resident).
import { ed25519 } from "@noble/curves/ed25519.js";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { verifySignature } from "../src/index.js";
import { needsSodium, sodiumProvider } from "./sodium.js";

const withSodium = needsSodium("verifySignature's quick check on libsodium");
const sodium = sodiumProvider!;
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const littleEndian = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 255n);
  return out;
};
const scalarOf = (bytes: Uint8Array): bigint => bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);

/** A signature by a small-order key (the identity point, R = [s]B, S = s): RFC 8032 (node:crypto) accepts it, libsodium refuses it. */
function smallOrderSignature(s: bigint): { publicKey: Uint8Array; signature: Uint8Array } {
  const publicKey = new Uint8Array(32);
  publicKey[0] = 1;
  const signature = new Uint8Array(64);
  signature.set(ed25519.Point.BASE.multiply(s).toBytes());
  signature.set(littleEndian(s), 32);
  return { publicKey, signature };
}

/** The eight points of small order (the multiples of a point of order 8), each in its canonical encoding. */
const SMALL_ORDER: readonly Uint8Array[] = (() => {
  const eight = ed25519.Point.fromBytes(new Uint8Array(Buffer.from("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "hex")));
  const out: Uint8Array[] = [];
  for (let k = 0, p = ed25519.Point.ZERO; k < 8; k++, p = p.add(eight)) out.push(p.toBytes());
  return out;
})();

// The mutations of ed25519-accepts.test.ts (the quick check's own property), here against verifySignature itself.
const mutation = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constantFrom("signature" as const, "message" as const, "key" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.constant({ kind: "s-plus-l" as const }),
  fc.record({ kind: fc.constant("small-order" as const), s: fc.bigInt({ min: 1n, max: L - 1n }) }),
  // The identity key with its sign bit set ("negative zero"), and the other small-order encodings with theirs flipped.
  fc.record({ kind: fc.constant("small-order-sign" as const), which: fc.nat({ max: SMALL_ORDER.length - 1 }), s: fc.bigInt({ min: 1n, max: L - 1n }) }),
  // A key encoding y >= p (non-canonical): y + p for the small y that have one below 2^255.
  fc.record({ kind: fc.constant("non-canonical-key" as const), y: fc.bigInt({ min: 0n, max: 18n }), s: fc.bigInt({ min: 1n, max: L - 1n }) }),
  fc.record({ kind: fc.constant("s-plus-kl" as const), k: fc.bigInt({ min: 1n, max: 15n }) }),
  // Mixed order: the genuine key or R plus a small-order point (torsion), the signature otherwise the signer's.
  fc.record({ kind: fc.constantFrom("mixed-key" as const, "mixed-r" as const), which: fc.nat({ max: SMALL_ORDER.length - 1 }) }),
);

function mutated(seed: Uint8Array, message: Uint8Array, m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): { publicKey: Uint8Array; data: Uint8Array; signature: Uint8Array } {
  const signer = sodium.ed25519Signer(seed);
  let publicKey: Uint8Array = signer.publicKey.slice();
  let signature: Uint8Array = signer.sign(message);
  const data = message.slice();
  if (m.kind === "signature") signature[m.at % 64]! ^= 1 << m.bit;
  if (m.kind === "message" && data.byteLength > 0) data[m.at % data.byteLength]! ^= 1 << m.bit;
  if (m.kind === "key") publicKey[m.at % 32]! ^= 1 << m.bit;
  if (m.kind === "s-plus-l") signature.set(littleEndian(scalarOf(signature.subarray(32)) + L), 32);
  if (m.kind === "small-order") ({ publicKey, signature } = smallOrderSignature(m.s));
  if (m.kind === "small-order-sign") {
    ({ signature } = smallOrderSignature(m.s));
    publicKey = SMALL_ORDER[m.which]!.slice();
    publicKey[31]! ^= 0x80;
  }
  if (m.kind === "non-canonical-key") {
    ({ signature } = smallOrderSignature(m.s));
    publicKey = littleEndian(m.y + P);
  }
  if (m.kind === "s-plus-kl") signature.set(littleEndian((scalarOf(signature.subarray(32)) + m.k * L) % 2n ** 256n), 32);
  if (m.kind === "mixed-key") publicKey = ed25519.Point.fromBytes(publicKey).add(ed25519.Point.fromBytes(SMALL_ORDER[m.which]!)).toBytes();
  if (m.kind === "mixed-r") signature.set(ed25519.Point.fromBytes(signature.subarray(0, 32)).add(ed25519.Point.fromBytes(SMALL_ORDER[m.which]!)).toBytes(), 0);
  return { publicKey, data, signature };
}

describe.runIf(withSodium)("verifySignature: libsodium's yes, node:crypto's verdict", () => {
  it("checks a genuine signature without loading node:crypto, a forged one with it (a fresh process, the built package)", (ctx) => {
    const dir = fileURLToPath(new URL("..", import.meta.url));
    if (!existsSync(join(dir, "dist", "bundle", "index.js"))) {
      console.log("skipped: @xppg/secure is not built (pnpm run build)");
      ctx.skip();
    }
    // The package imports itself by name, as an application does: its Node build.
    const script = `
      const { generateIdentity, verifySignature } = await import("@xppg/secure");
      const crypto = () => process.moduleLoadList.filter((m) => m === "NativeModule crypto");
      const id = generateIdentity();
      const data = new TextEncoder().encode("a signed peer record");
      const signature = id.sign(data);
      const forged = signature.slice();
      forged[10] ^= 1;
      const genuine = verifySignature(id.publicKey, data, signature);
      const without = crypto();
      // libsodium's no is no verdict: node:crypto decides, and so is loaded.
      const answers = [genuine, verifySignature(id.publicKey, data, forged)];
      console.log(JSON.stringify({ answers, without, with: crypto() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8", env: { ...process.env, XPPG_CRYPTO_PROVIDER: "" }, timeout: 60_000 });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { answers: boolean[]; without: string[]; with: string[] };
    expect(out.answers).toEqual([true, false]);
    // The name is this Node's: the forged signature's verdict loads node:crypto, so its absence before means something.
    expect(out.with).toEqual(["NativeModule crypto"]);
    expect(out.without).toEqual([]);
  });

  it("gives node:crypto's verdict on every signature (fuzzed as ed25519-accepts.test.ts does: flipped bits, S + L, small-order and non-canonical keys, mixed-order keys and R)", () => {
    let disagreed = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), mutation, (seed, message, m) => {
        const { publicKey, data, signature } = mutated(seed, message, m);
        const verdict = nodeCryptoProvider.ed25519Verify(publicKey, data, signature);
        if (verdict !== sodium.ed25519Accepts!(publicKey, data, signature)) disagreed++;
        expect(verifySignature(publicKey, data, signature)).toBe(verdict);
      }),
      { numRuns: 600 },
    );
    // The cases that matter are those where libsodium's no is not node:crypto's (a small-order key's signature).
    const { publicKey, signature } = smallOrderSignature(12345n);
    const data = Uint8Array.of(9, 9);
    expect(sodium.ed25519Accepts!(publicKey, data, signature)).toBe(false);
    expect(nodeCryptoProvider.ed25519Verify(publicKey, data, signature)).toBe(true);
    expect(verifySignature(publicKey, data, signature)).toBe(true);
    expect(disagreed).toBeGreaterThan(0);
  });
});
