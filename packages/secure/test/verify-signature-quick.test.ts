// verifySignature (the Node entry's, which a node runs on every signed peer
// record as it connects) takes libsodium's yes first, as the handshake does,
// and leaves the verdict on its no to node:crypto: a node that only checks
// genuine signatures never loads node:crypto (about 1 MiB resident).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { verifySignature } from "../src/index.js";
import { mutated, mutation, smallOrderSignature } from "./fixtures/ed25519-mutations.js";
import { needsSodium, sodiumProvider } from "./sodium.js";

const withSodium = needsSodium("verifySignature's quick check on libsodium");
const sodium = sodiumProvider!;

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
        const { publicKey, data, signature } = mutated(sodium, seed, message, m);
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
