// The browser entry of @xppg/node, bundled with Vite for browsers as an app
// would: nothing of Node reaches the bundle (no built-in, no TCP, UPnP, mDNS,
// key file or file-transfer module), from the sources and from the build.
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bundleForBrowser, type BrowserBundle } from "../../../bench/browser/bundle.mjs";
import * as browserEntry from "../src/browser.js";
import * as nodeEntry from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, "..");
const repoRoot = resolve(pkgRoot, "../..");
const ENTRY = 'export * from "@xppg/node";';

/** The bundle's modules, as paths from the repository root (packages resolved through node_modules links too). */
function moduleNames(bundle: BrowserBundle): string[] {
  return bundle.modules.map((m) => relative(repoRoot, m).replaceAll("\\", "/"));
}

const NODE_ONLY = [
  /^packages\/transport-tcp\//,
  /^packages\/nat\//,
  /^packages\/discovery\//,
  /^packages\/files\//,
  /^packages\/node\/(src|dist)\/(host|defaults|file-transfer|files-room|reach-(room|probe|dialback|wire)|relay[^/]*|hole-punch)\.(ts|js)$/,
  /^packages\/secure\/(src|dist)\/(key-file|node-api|index|crypto\/node-provider|crypto\/sodium-[a-z]+)\.(ts|js)$/,
  /^packages\/state\/(src|dist)\/store\//,
  /^packages\/transport-ws\/(src|dist)\/node\//,
  /node_modules\/.*\/(ws|multicast-dns|sodium-native)\//,
];

function checkBundle(bundle: BrowserBundle, from: "src" | "dist"): void {
  expect(bundle.builtins).toEqual([]);
  expect(bundle.code).not.toContain("__vite-browser-external");
  expect(bundle.code).not.toMatch(/from\s*["']node:/);
  const names = moduleNames(bundle);
  expect(names.filter((n) => NODE_ONLY.some((re) => re.test(n)))).toEqual([]);
  // The browser pieces are what it holds instead.
  for (const p of ["browser/host", "browser/defaults", "browser/file-transfer", "browser/files-room", "browser/reach-room", "playground"]) expect(names).toContain(`packages/node/${from}/${p}.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/transport-ws/${from}/browser/browser-transport.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/secure/${from}/crypto/noble-provider.${from === "src" ? "ts" : "js"}`);
  expect(bundle.chunks).toBe(1);
}

describe("the browser entry of @xppg/node", () => {
  it("bundles from the sources with Vite holding no Node built-in and no Node-only module", async () => {
    checkBundle(await bundleForBrowser({ root: pkgRoot, code: ENTRY, source: true, minify: false }), "src");
  });

  it("bundles from the built package (what an app installs) the same way", async () => {
    // The project's global setup built the package.
    checkBundle(await bundleForBrowser({ root: pkgRoot, code: ENTRY, source: false, minify: false }), "dist");
  });

  it("exports what the Node entry does, but the Node-only helpers", () => {
    const nodeOnly = ["DEFAULT_PORT", "sanitizeFileName", "RELAY_ERROR_CODES", "RelayError"];
    const expected = Object.keys(nodeEntry).filter((k) => !nodeOnly.includes(k));
    expect(Object.keys(browserEntry).sort()).toEqual(expected.sort());
    expect(Object.keys(browserEntry)).toContain("loadOrCreateStoredIdentity");
  });
});
