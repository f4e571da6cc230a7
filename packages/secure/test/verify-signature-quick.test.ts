// verifySignature (the Node entry's, which a node runs on every signed peer
// record as it connects) takes libsodium's yes first, as the handshake does,
// and leaves the verdict on its no to node:crypto: a node that only checks
// genuine signatures never loads node:crypto (about 1 MiB resident).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { generateIdentity, verifySignature } from "../src/index.js";
import { needsSodium } from "./sodium.js";

const withSodium = needsSodium("verifySignature's quick check on libsodium");

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
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8", env: { ...process.env, XPPG_CRYPTO_PROVIDER: "" } });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { answers: boolean[]; without: string[]; with: string[] };
    expect(out.answers).toEqual([true, false]);
    // The name is this Node's: the forged signature's verdict loads node:crypto, so its absence before means something.
    expect(out.with).toEqual(["NativeModule crypto"]);
    expect(out.without).toEqual([]);
  });

  it("gives node:crypto's verdict where libsodium says no: a small-order key's signature, which node:crypto accepts", () => {
    // The identity point as the key, R = s*B and S = s: RFC 8032's check (node:crypto) accepts it, libsodium refuses it.
    const publicKey = new Uint8Array(32);
    publicKey[0] = 1;
    const signer = generateIdentity();
    const data = new TextEncoder().encode("any");
    // A signature whose R is the signer's own R and S its S does not pass with the identity key; take node:crypto's
    // answer on a few candidates and require verifySignature to give the same one for each.
    const candidates = [signer.sign(data), new Uint8Array(64)];
    const base = new Uint8Array(64);
    base[0] = 1; // R = the identity point, S = 0: [S]B = R + [k]A holds for A the identity
    candidates.push(base);
    for (const signature of candidates) {
      expect(verifySignature(publicKey, data, signature)).toBe(nodeCryptoProvider.ed25519Verify(publicKey, data, signature));
    }
    expect(nodeCryptoProvider.ed25519Verify(publicKey, data, base)).toBe(true);
  });
});
