// What a plain Playground loads (issue 15): a fresh process that starts two
// nodes, joins and sends a message loads none of the optional rooms and
// packages (the file protocol, the DHT, LAN discovery, port mapping, the
// relay transport with its circuits and hole punching, WebSockets,
// @msgpack/msgpack); each is loaded when its option or first call asks for it.
// The packages' Node builds are bundles (scripts/bundle-node.mjs): each
// loaded file is read as the source modules its source map names, so the
// check holds whichever modules a chunk gathers. A bundle file run as a
// script with a code cache (scripts/node-script.mjs) is loaded as its ES
// module facade, whose modules are its script's (`<name>.script.js.map`).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
if (!built) console.log("[skip] cold-start tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
const SCRIPT = fileURLToPath(new URL("./fixtures/cold-start.mjs", import.meta.url));

/** Modules a node loads only for a feature the plain program does not use. */
const OPTIONAL = [
  // All of @xppg/files but its file-name helper (`sanitizeFileName`, which loads nothing else).
  /\/packages\/files\/(?!(dist\/safe-name\.js|src\/safe-name\.ts)$)/,
  /\/packages\/dht\//,
  /\/packages\/discovery\//,
  /\/packages\/nat\//,
  /\/packages\/transport-ws\//,
  /\/packages\/node\/src\/(file-push|relay-(transport|service|socket|splice)|circuit-connection|hole-punch|frame-tap|reach-probe)\.ts$/,
  /\/node_modules\/.*\/(ws|multicast-dns|@msgpack)\//,
];

/** The modules in a loaded file: the sources its source map (or its script's) names (a bundle's modules), else the file itself. */
function modulesOf(url: string): string[] {
  const file = fileURLToPath(url);
  const mapFile = [`${file}.map`, file.replace(/\.js$/, ".script.js.map")].find((f) => existsSync(f));
  if (mapFile === undefined) return [file];
  const map = JSON.parse(readFileSync(mapFile, "utf8")) as { sources: string[] };
  return map.sources.map((s) => resolve(dirname(file), s));
}

function run(step: string): { plain: string[]; after: string[]; plainFiles: string[]; plainBuiltins: string[] } {
  const r = spawnSync(process.execPath, [SCRIPT, step], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const files = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { plain: string[]; after: string[]; plainBuiltins: string[] };
  return { plain: files.plain.flatMap(modulesOf), after: files.after.flatMap(modulesOf), plainFiles: files.plain.map((u) => fileURLToPath(u)), plainBuiltins: files.plainBuiltins };
}

const optional = (urls: string[]): string[] => urls.filter((u) => OPTIONAL.some((re) => re.test(u)));

describe.skipIf(!built)("a plain Playground's first connection", () => {
  it("loads none of the optional rooms' modules", () => {
    const { plain, after, plainFiles } = run("none");
    expect(plain.some((u) => u.endsWith("/packages/node/src/playground.ts"))).toBe(true);
    // The @xppg packages' files it reads are their bundles.
    const xppg = plainFiles.filter((f) => /\/packages\/[^/]+\/(dist|src)\//.test(f));
    expect(xppg.filter((f) => !/\/packages\/[^/]+\/dist\/bundle\//.test(f))).toEqual([]);
    expect(optional(plain)).toEqual([]);
    // Stopping loads none either.
    expect(optional(after)).toEqual([]);
  });

  // An ES module import of a built-in makes a module of it (its exports read, a namespace built) in every process that
  // loads the importer. node:net is the one a TCP node needs at once; the packages take node:fs, node:path, node:os,
  // node:url and node:crypto as Node's own objects (`process.getBuiltinModule`) where they use them.
  it("imports no built-in module but node:net as an ES module", () => {
    const { plainBuiltins } = run("none");
    expect(plainBuiltins).toEqual(["node:net"]);
  });

  it("loads the file protocol at the first pg.files call", () => {
    const { plain, after } = run("files");
    expect(optional(plain)).toEqual([]);
    expect(optional(after).some((u) => u.endsWith("/packages/files/src/swarm.ts"))).toBe(true);
  });
});

// The global `performance`: in Node its first read loads perf_hooks (about 1 ms in a fresh process), so the packages
// time themselves by `now()` of @xppg/errors (process.hrtime()) and a program that never reads it never pays it.
describe.skipIf(!built)("a plain Playground's clock", () => {
  it("never loads perf_hooks: start, join, a message each way and stop read no `performance`", () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL("./fixtures/first-connection-builtins.mjs", import.meta.url))], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const { loaded, byPerformance } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { loaded: string[]; byPerformance: string[] };
    // What reading `performance` loads, named as this Node names it (node:net loads a little of internal/perf itself).
    const PERF = ["NativeModule perf_hooks", "NativeModule internal/perf/performance"];
    expect([...loaded, ...byPerformance]).toEqual(expect.arrayContaining(PERF));
    expect(loaded.filter((m) => PERF.includes(m))).toEqual([]);
  });
});

// node:crypto: about 3 to 4 ms of CPU to load in a fresh process. With the `sodium` provider a first connection takes
// its keys, signatures, hashes, ciphers and random bytes from libsodium, so the packages load node:crypto at its first
// use (a signed record's check, a file, a dial-back, the `node` provider), not with the node.
describe.skipIf(!built)("a plain Playground's first connection on libsodium", () => {
  it("loads no node:crypto before its join resolves", (ctx) => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL("./fixtures/first-connection-crypto.mjs", import.meta.url))], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { provider: string; afterImport: boolean; afterStart: boolean; afterJoin: boolean };
    if (seen.provider !== "sodium") {
      console.log(`[skip] node:crypto at the first connection: the crypto provider here is "${seen.provider}" (sodium-native's prebuilt binary did not load)`);
      return ctx.skip();
    }
    expect(seen).toEqual({ provider: "sodium", afterImport: false, afterStart: false, afterJoin: false });
  });
});

// What a node keeps resident (issue 15, the bulk receiver's peak RSS): the built-in modules it loads stay for the
// process's life. What a plain node no longer loads: node:crypto, 16 modules and its binding (about 1 MiB: each side
// checks the other's signed peer record, on libsodium's yes), and the file streams (internal/fs/streams), the public
// fs/promises and node:module wrappers and internal/source_map/source_map, which an ES module import of node:fs or
// node:module loads (it reads each export) where the packages take them as Node's own objects. Node's own ES module
// loader still loads internal/fs/promises (with internal/fs/dir, the watchers and readline's interface) in every ES
// module program.
describe.skipIf(!built)("a plain Playground's built-in modules", () => {
  it("loads neither node:crypto (on libsodium) nor the public fs/promises module and the file streams: start, join, a message each way, stop", () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL("./fixtures/first-connection-builtins.mjs", import.meta.url))], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const { loaded, provider } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { loaded: string[]; provider: string };
    // Named as this Node names them: the process loads node:net's own modules under the same scheme.
    expect(loaded).toContain("NativeModule net");
    expect(loaded.filter((m) => m === "NativeModule fs/promises" || m === "NativeModule internal/fs/streams")).toEqual([]);
    if (provider !== "sodium") console.log(`[skip] node:crypto at a first exchange: the crypto provider here is "${provider}"`);
    else expect(loaded).not.toContain("NativeModule crypto");
  });
});
