// The Node bundles a first connection runs are classic scripts compiled with
// a V8 code cache made at build time (scripts/node-script.mjs and
// scripts/code-cache.mjs, issue 15). A fresh process takes the caches; a
// damaged, foreign or missing one is rejected or skipped and the node works
// as before; the ES module facade exports the names of the module build, and
// another package's names and errors stay one instance.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const BUNDLE = join(PACKAGE, "dist", "bundle");
/**
 * The cache the entry's facade reads, `index.script.<tag>.cache` with its facade's tag, in a bundle folder: another
 * (a build's that turbo's cache restored this one over) is never read, and damaging it would test nothing.
 */
const cacheIn = (dir: string) => {
  const tag = /tag:"([0-9a-f]{16})"/.exec(readFileSync(join(dir, "index.js"), "utf8"))?.[1];
  return readdirSync(dir).find((f) => f === `index.script.${tag}.cache`);
};
const bundled = existsSync(join(BUNDLE, "index.js"));
const built = bundled && cacheIn(BUNDLE) !== undefined;
// Built without caches: the build's warm-up failed (its warning says why), or the build ran without the root script's
// XPPG_NODE_VERSION for this Node. A skip, but a failure in CI, where a broken warm-up must not go unnoticed.
const CI = process.env.CI === "true";
if (!bundled) console.log("[skip] code cache tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
else if (!built && !CI) {
  console.log("[skip] code cache tests: packages/node is built but has no code caches (the build's warm-up failed, or the build did not run through `pnpm run build`); run `pnpm run build` from the root and read its warnings.");
}

describe.runIf(bundled && !built && CI)("the code caches in CI", () => {
  it("are made by the build (its warm-up did not fail)", () => {
    expect.fail("packages/node is built but has no code caches: the build's warm-up failed, or the build did not run through `pnpm run build` (XPPG_NODE_VERSION); read the build's warnings.");
  });
});
const SCRIPT = fileURLToPath(new URL("./fixtures/code-cache.mjs", import.meta.url));

interface Run {
  scripts: { file: string; cache: "accepted" | "rejected" | "none" }[];
  names: string[];
  message: unknown;
  stack: string;
  same: Record<string, boolean>;
}

function run(entry: string): Run {
  const r = spawnSync(process.execPath, [SCRIPT, entry], { encoding: "utf8", timeout: 60_000, cwd: PACKAGE });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Run;
}

/** What V8 did with the cache of the copy's script (copyWith below). */
const copyCache = (r: Run) => r.scripts.find((s) => s.file.includes("xppg-code-cache-"))?.cache;

/** A copy of the package's bundle folder (beside its package.json and node_modules), whose cache `damage` changes. */
function copyWith(damage: (cacheFile: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "xppg-code-cache-"));
  copies.push(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(PACKAGE, "node_modules"), join(dir, "node_modules"), "dir");
  cpSync(BUNDLE, join(dir, "bundle"), { recursive: true });
  damage(join(dir, "bundle", cacheIn(join(dir, "bundle"))!));
  return pathToFileURL(join(dir, "bundle", "index.js")).href;
}
const copies: string[] = [];
afterAll(() => copies.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!built)("the code cache of the Node bundles", () => {
  it("is taken by a fresh process, for @xppg/node and the packages its first connection runs", () => {
    const r = run("@xppg/node");
    expect(r.message).toEqual({ text: "hi" });
    for (const tail of ["/node/dist/bundle/index.script.js", "/secure/dist/bundle/", "/transport/dist/bundle/", "/transport-tcp/dist/bundle/index.script.js", "/framing/dist/bundle/index.script.js", "/state/dist/bundle/index.script.js"]) {
      expect(r.scripts.some((s) => s.file.includes(tail) && s.cache === "accepted"), tail).toBe(true);
    }
    expect(r.scripts.filter((s) => s.cache !== "accepted")).toEqual([]);
  });

  it("rejects a damaged or foreign cache and works without it", () => {
    // Another V8 (or other V8 flags) differs in the header's hashes: the same as a changed header byte.
    const foreign = run(copyWith((f) => {
      const bytes = readFileSync(f);
      bytes[8] = bytes[8]! ^ 0xff;
      writeFileSync(f, bytes);
    }));
    expect(copyCache(foreign)).toBe("rejected");
    expect(foreign.message).toEqual({ text: "hi" });
    const garbage = run(copyWith((f) => writeFileSync(f, "not a code cache")));
    expect(copyCache(garbage)).toBe("rejected");
    expect(garbage.message).toEqual({ text: "hi" });
  });

  it("works without a cache file", () => {
    const r = run(copyWith((f) => rmSync(f)));
    expect(copyCache(r)).toBe("none");
    expect(r.message).toEqual({ text: "hi" });
  });

  // V8 (Node 20) keeps the script name a cache was made with when it accepts the cache: the script is compiled
  // under one name that does not depend on where the package is, when the cache is made and when it runs.
  it("names the script the same in stack traces wherever the package is, with the cache accepted or missing", () => {
    const name = "@xppg/node/dist/bundle/index.script.js";
    const accepted = run(copyWith(() => {}));
    expect(copyCache(accepted)).toBe("accepted");
    const missing = run(copyWith((f) => readdirSync(dirname(f)).filter((c) => c.endsWith(".cache")).forEach((c) => rmSync(join(dirname(f), c)))));
    expect(copyCache(missing)).toBe("none");
    for (const r of [accepted, missing]) {
      expect(r.stack).toContain("PlaygroundError");
      expect(r.stack).toContain(`(${name}:`);
      expect(r.stack).not.toContain(BUNDLE);
      expect(r.stack).not.toContain("xppg-code-cache-");
    }
  });

  // A debugger is given the name a script is compiled under and its map's URL relative to that name: the fixed name is
  // not a file, so only with --enable-source-maps (the script compiled under its file's path) can it find the map.
  it("gives a debugger the script's file and its map with --enable-source-maps, the fixed name without", () => {
    const code = [
      'import{Session}from"node:inspector";import{createRequire}from"node:module";',
      "const s=new Session();s.connect();const seen=[];",
      's.on("Debugger.scriptParsed",(m)=>{if(m.params.url.endsWith("index.script.js"))seen.push({url:m.params.url,map:m.params.sourceMapURL})});',
      's.post("Debugger.enable");',
      'await import(createRequire(process.cwd()+"/package.json").resolve("@xppg/node"));',
      "console.log(JSON.stringify(seen.find((x)=>x.url.includes(\"node/dist/bundle\"))??null));",
    ].join("");
    const seen = (...flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", code], { encoding: "utf8", timeout: 60_000, cwd: PACKAGE });
      expect(r.status, r.stderr).toBe(0);
      const found = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { url: string; map: string } | null;
      expect(found, `the inspector saw no index.script.js of @xppg/node (flags: ${flags.join(" ") || "none"})`).not.toBeNull();
      return found!;
    };
    const mapped = seen("--enable-source-maps");
    expect(mapped.url).toBe(pathToFileURL(join(BUNDLE, "index.script.js")).href);
    expect(existsSync(fileURLToPath(new URL(mapped.map, mapped.url)))).toBe(true);
    expect(seen()).toEqual({ url: "@xppg/node/dist/bundle/index.script.js", map: "index.script.js.map" });
  });

  it("gives the build-time warm-up a deadline: the cache step fails when it is missed and leaves no caches (the build then goes on without them)", () => {
    // A copy of the package (its folder named as the warm-up's), so the real package's caches are left alone.
    const dir = join(mkdtempSync(join(tmpdir(), "xppg-code-cache-")), "node");
    copies.push(dirname(dir));
    cpSync(join(PACKAGE, "dist"), join(dir, "dist"), { recursive: true });
    cpSync(join(PACKAGE, "package.json"), join(dir, "package.json"));
    symlinkSync(join(PACKAGE, "node_modules"), join(dir, "node_modules"), "dir");
    const r = spawnSync(process.execPath, [join(PACKAGE, "..", "..", "scripts", "code-cache.mjs"), dir], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, XPPG_WARM_UP_MS: "1" },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the warm-up did not finish within 1 ms");
    expect(readdirSync(join(dir, "dist", "bundle")).filter((f) => f.endsWith(".cache"))).toEqual([]);
  });

  it("exports the names of the module build, and the other packages' names and errors are theirs", async () => {
    const r = run("@xppg/node");
    const moduleBuild = await import(pathToFileURL(join(PACKAGE, "dist", "index.js")).href);
    expect(r.names).toEqual(Object.keys(moduleBuild).sort());
    expect(r.same).toEqual({ createIdentity: true, playgroundError: true, transportError: true });
  });
});
