// libsodium as the tests find it. sodium-native is an optional dependency: where its prebuilt binary cannot load, or
// with XPPG_CRYPTO_PROVIDER=node, the Node entry runs on node:crypto, and the tests of libsodium itself are skipped
// (gate them with `needsSodium`, which prints the reason once per test file) while the rest run on the fallback.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { loadSodiumAead, type SodiumAead } from "../src/crypto/sodium-loader.js";
import { sodiumCryptoProvider } from "../src/crypto/sodium-provider.js";

/** The loaded libsodium, or null where it did not load. */
export const sodiumAead: SodiumAead | null = loadSodiumAead();

/** The libsodium provider, or null where libsodium did not load. */
export const sodiumProvider: CryptoProvider | null = sodiumAead && sodiumCryptoProvider(sodiumAead);

/** Why libsodium is not here, or null when it is. */
export const noSodiumReason: string | null =
  sodiumAead !== null
    ? null
    : process.env["XPPG_CRYPTO_PROVIDER"] === "node"
      ? "XPPG_CRYPTO_PROVIDER=node is set, so the Node entry runs on node:crypto"
      : "sodium-native (optional) did not load here, so the Node entry runs on node:crypto";

let told = false;

/** True where libsodium loaded; otherwise false, and the first call in a test file prints why `what` is skipped. */
export function needsSodium(what: string): boolean {
  if (noSodiumReason !== null && !told) {
    told = true;
    console.log(`[skip] ${what}: ${noSodiumReason}`);
  }
  return noSodiumReason === null;
}

/**
 * The pinned package's prebuilt binary, opened straight as the loader opens it (its raw binding, typed as the
 * caller uses it), or why there is none here.
 */
export function rawBinding<T>(): { binding: T } | { reason: string } {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve("sodium-native/package.json"));
  } catch {
    return { reason: "sodium-native is not installed" };
  }
  const file = join(root, "prebuilds", `${process.platform}-${process.arch}`, "sodium-native.node");
  if (!existsSync(file)) return { reason: `sodium-native has no prebuilt binary for ${process.platform}-${process.arch}` };
  const module = { exports: {} as T };
  process.dlopen(module, file);
  return { binding: module.exports };
}
