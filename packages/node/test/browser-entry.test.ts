// The browser entry of @xppg/node, bundled with Vite for browsers as an app
// would: nothing of Node reaches the bundle (no built-in, no TCP, UPnP, mDNS,
// key file or file-transfer module), from the sources and from the build;
// and what a page loads first stays within its size ceiling.
import { spawnSync } from "node:child_process";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bundleForBrowser, type BrowserBundle } from "../../../bench/browser/bundle.mjs";
import { CEILING_GZIP_BYTES, ENTRY_CODE, measureBrowserEntry } from "../../../bench/browser/size.mjs";
import * as browserEntry from "../src/browser.js";
import * as nodeEntry from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, "..");
const repoRoot = resolve(pkgRoot, "../..");
const ENTRY = ENTRY_CODE;

/** The bundle's modules, as paths from the repository root (packages resolved through node_modules links too). */
function moduleNames(bundle: BrowserBundle): string[] {
  return bundle.modules.map((m) => relative(repoRoot, m).replaceAll("\\", "/"));
}

const NODE_ONLY = [
  /^packages\/transport-tcp\//,
  /^packages\/nat\//,
  /^packages\/discovery\//,
  /^packages\/files\//,
  /^packages\/node\/(src|dist)\/(host|defaults|node-rooms|file-transfer|files-room|reach-(room|probe|dialback|wire)|relay[^/]*|hole-punch|peer-exchange|peer-record|topic-room|peer-locator|discovery-room)\.(ts|js)$/,
  /^packages\/secure\/(src|dist)\/(key-file|node-api|index|crypto\/node-provider|crypto\/sodium-[a-z]+)\.(ts|js)$/,
  // Node's turns and random values, and Buffer allocations.
  /^packages\/node\/(src|dist)\/next-turn\.(ts|js)$/,
  /^packages\/framing\/(src|dist)\/alloc\.(ts|js)$/,
  /^packages\/state\/(src|dist)\/native-compare\.(ts|js)$/,
  /^packages\/state\/(src|dist)\/store\//,
  /^packages\/transport-ws\/(src|dist)\/node\//,
  /node_modules\/.*\/(ws|multicast-dns|sodium-native)\//,
  // The browser writes and reads MessagePack with framing's own small codec (the same bytes).
  /node_modules\/.*\/@msgpack\//,
];

function checkBundle(bundle: BrowserBundle, from: "src" | "dist"): void {
  expect(bundle.builtins).toEqual([]);
  expect(bundle.code).not.toContain("__vite-browser-external");
  expect(bundle.code).not.toMatch(/from\s*["']node:/);
  const names = moduleNames(bundle);
  expect(names.filter((n) => NODE_ONLY.some((re) => re.test(n)))).toEqual([]);
  // The browser pieces are what it holds instead.
  for (const p of ["browser/host", "browser/defaults", "browser/connection-manager", "browser/node-rooms", "browser/file-transfer", "browser/files-room", "browser/reach-room", "browser/peer-exchange", "browser/discovery-room", "browser/topic-room", "browser/routing-room", "browser/request-room", "playground"]) expect(names).toContain(`packages/node/${from}/${p}.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/transport-ws/${from}/browser/browser-transport.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/framing/${from}/msgpack-codec.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/secure/${from}/crypto/page-provider.${from === "src" ? "ts" : "js"}`);
  expect(names).toContain(`packages/secure/${from}/crypto/web-crypto.${from === "src" ? "ts" : "js"}`);
  // The chunks split off, each loaded by one import(): noble's AES-GCM, by the provider only for cipher "AESGCM" where a page
  // has no WebCrypto; noble's ChaCha20-Poly1305, only for a peer that takes no AES-GCM (a node of an earlier release); noble's Ed25519, X25519 and SHA-2, only where WebCrypto lacks them (a page that is not a secure
  // context); routed unicast and requests, by the page's routing and request rooms on first use; the connection
  // manager, once the page knows a peer it can dial and is not connected to; port mapping, by start({ openPort }).
  const ext = from === "src" ? "ts" : "js";
  const lib = (m: string): string => relative(repoRoot, m).replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, "");
  // Keyed by what loads the chunk; the page provider loads two (one per noble cipher), told apart by their first module.
  const keyOf = (c: BrowserBundle["lazyChunks"][number]): string => c.loadedBy.map((m) => relative(repoRoot, m)).join(" ") + (c.loadedBy.some((m) => m.includes("page-provider")) ? ` ${c.modules.map(lib).sort()[0]}` : "");
  const split = Object.fromEntries(bundle.lazyChunks.filter((c) => c.loadedBy.length > 0).map((c) => [keyOf(c), c.modules.map(lib).sort()]));
  expect(bundle.chunks).toBe(9);
  const noble = ["curves/abstract/curve", "curves/abstract/edwards", "curves/abstract/modular", "curves/abstract/montgomery", "curves/ed25519", "curves/utils", "hashes/_md", "hashes/_u64", "hashes/hmac", "hashes/sha2", "hashes/utils"];
  expect(split).toEqual({
    [`packages/secure/${from}/crypto/page-provider.${ext} @noble/ciphers/_polyval.js`]: ["@noble/ciphers/_polyval.js", "@noble/ciphers/aes.js", `packages/secure/${from}/crypto/noble-aes-gcm.${ext}`].sort(),
    [`packages/secure/${from}/crypto/page-provider.${ext} @noble/ciphers/_arx.js`]: ["@noble/ciphers/_arx.js", "@noble/ciphers/_poly1305.js", "@noble/ciphers/chacha.js", `packages/secure/${from}/crypto/noble-chacha.${ext}`, `packages/secure/${from}/crypto/provider.${ext}`].sort(),
    [`packages/secure/${from}/crypto/web-crypto.${ext}`]: [...noble.map((m) => `@noble/${m}.js`), `packages/secure/${from}/crypto/noble-page.${ext}`].sort(),
    // With the weighing of a routed channel's counted end of stream, which the page's record layer does not need.
    [`packages/node/${from}/browser/routing-room.${ext}`]: [
      ...["channel-envelopes", "forward-holds", "reset-loss", "route-forwarder", "route-wire", "routed-channels", "routed-connection", "routed-loss", "routing-limits", "routing-room"].map((m) => `packages/node/${from}/${m}.${ext}`),
      `packages/secure/${from}/unconfirmed-records.${ext}`,
    ].sort(),
    [`packages/node/${from}/browser/request-room.${ext}`]: [`packages/node/${from}/request-room.${ext}`],
    [`packages/node/${from}/browser/connection-manager.${ext}`]: [`packages/node/${from}/connection-manager.${ext}`, `packages/node/${from}/mesh/connection-planner.${ext}`, `packages/node/${from}/mesh/dial-budget.${ext}`].sort(),
    [`packages/node/${from}/playground.${ext}`]: [`packages/node/${from}/port-mapping.${ext}`],
  });
  // Not in the first load.
  expect(bundle.moduleSizes.map(([m]) => relative(repoRoot, m)).filter((m) => /noble-aes-gcm|noble-chacha|@noble\/ciphers\/(chacha|_arx|_poly1305)\.js|noble-page|@noble\/(curves|hashes)\/|@noble\/ciphers\/(aes|_polyval)\.js|node\/(src|dist)\/(connection-manager|mesh\/connection-planner|mesh\/dial-budget|routing-room|routing-limits|route-wire|route-forwarder|routed-connection|routed-channels|channel-envelopes|forward-holds|reset-loss|request-room|port-mapping|reachability)\.|secure\/(src|dist)\/unconfirmed-records\./.test(m))).toEqual([]);
}

describe("the browser entry of @xppg/node", () => {
  it("bundles from the sources with Vite holding no Node built-in and no Node-only module", async () => {
    checkBundle(await bundleForBrowser({ root: pkgRoot, code: ENTRY, source: true, minify: false }), "src");
  });

  it("bundles from the built package (what an app installs) the same way", async () => {
    // The project's global setup built the package.
    checkBundle(await bundleForBrowser({ root: pkgRoot, code: ENTRY, source: false, minify: false }), "dist");
  });

  it("weighs no more than its ceiling, minified and gzipped, as a page loads it first", async () => {
    const size = await measureBrowserEntry();
    expect(size.builtins).toEqual([]);
    expect(size.gzipBytes, `first load ${size.gzipBytes} bytes gzipped; ceiling ${CEILING_GZIP_BYTES}`).toBeLessThanOrEqual(CEILING_GZIP_BYTES);
    expect(size.lazyChunks.map((c) => c.loadedBy).filter((by) => by.length > 0).sort()).toEqual([["packages/node/dist/browser/connection-manager.js"], ["packages/node/dist/browser/request-room.js"], ["packages/node/dist/browser/routing-room.js"], ["packages/node/dist/playground.js"], ["packages/secure/dist/crypto/page-provider.js"], ["packages/secure/dist/crypto/page-provider.js"], ["packages/secure/dist/crypto/web-crypto.js"]]);
    // The two noble ciphers a page loads on demand (ChaCha20-Poly1305 for a peer that takes no AES-GCM) share one more chunk, which only they load.
    expect(size.lazyChunks.filter((c) => c.loadedBy.length === 0).map((c) => c.packages)).toEqual([["@noble/ciphers"]]);
  });

  it("the size script exits with 1 and says so when the entry is over its target, with 0 when within", () => {
    const script = resolve(repoRoot, "bench/browser/size.mjs");
    const run = (targetKb: number) => spawnSync(process.execPath, [script], { env: { ...process.env, XPPG_SIZE_TARGET_KB: String(targetKb) }, encoding: "utf8", timeout: 120_000 });
    const over = run(1);
    expect(over.status).toBe(1);
    expect(over.stdout).toContain("target 1.0 KB: OVER by");
    expect(over.stderr).toMatch(/over the target of 1024 bytes/);
    const within = run(10_000);
    expect(within.status, within.stderr).toBe(0);
    expect(within.stdout).toContain("target 10000.0 KB: within");
    expect(within.stdout).toMatch(/Chunk loaded later: .* \(@noble\/ciphers, secure\)/);
  }, 180_000);

  it("exports what the Node entry does, but the Node-only helpers", () => {
    // generateIdentity signs at once, on noble's Ed25519: a page makes its identity asynchronously (createIdentity), on WebCrypto.
    const nodeOnly = ["DEFAULT_PORT", "sanitizeFileName", "RELAY_ERROR_CODES", "RelayError", "generateIdentity"];
    const expected = Object.keys(nodeEntry).filter((k) => !nodeOnly.includes(k));
    expect(Object.keys(browserEntry).sort()).toEqual(expected.sort());
    expect(Object.keys(browserEntry)).toContain("loadOrCreateStoredIdentity");
  });
});
