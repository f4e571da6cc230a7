// A build that turbo restores from its cache is written over `dist/`, so the code caches of the build before it stay
// beside the facades (scripts/node-script.mjs): never read (a facade reads only the cache named with its source's
// hash), they only make the package bigger. scripts/stale-caches.mjs finds them for the root `check:publish` and
// removes them after the root `build` and before a package is packed; the caches the facades read stay.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { cacheTag, removeCaches, toScript } from "../../scripts/node-script.mjs";

const root = resolve(import.meta.dirname, "../..");
const SCRIPT = join(root, "scripts", "stale-caches.mjs");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A package folder whose `dist/bundle` holds one facade (index.js) and a plain module (relay.js). */
async function builtPackage(): Promise<{ pkg: string; out: string; tag: string }> {
  const pkg = mkdtempSync(join(tmpdir(), "xppg-stale-caches-"));
  dirs.push(pkg);
  const out = join(pkg, "dist", "bundle");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(pkg, "package.json"), `{"name":"@t/x"}`);
  writeFileSync(join(out, "index.js"), `function f(){return 1}export{f};`);
  writeFileSync(join(out, "relay.js"), `export{};`);
  await toScript(join(out, "index.js"), build, "@t/x/dist/bundle/index.script.js", 0);
  const facade = readFileSync(join(out, "index.js"), "utf8");
  const source = JSON.parse(facade.match(/^const source=(".*");$/m)![1]!.replace(/\\\/\\\/#/g, "//#")) as string;
  return { pkg, out, tag: cacheTag(source) as string };
}

const caches = (out: string) => readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith(".cache")).sort();

describe("scripts/stale-caches.mjs", () => {
  it("finds and removes the caches no facade reads, and keeps the one its facade reads", async () => {
    const { pkg, out, tag } = await builtPackage();
    const current = `index.script.${tag}.cache`;
    // The current cache; one of an earlier build of the same script; one of a chunk that build had; one of a plain module.
    for (const f of [current, "index.script.0123456789abcdef.cache", "chunk-OLD.script.fedcba9876543210.cache", "relay.script.0123456789abcdef.cache"]) writeFileSync(join(out, f), "cache");
    const check = spawnSync(process.execPath, [SCRIPT, pkg], { encoding: "utf8" });
    expect(check.status).toBe(1);
    expect(check.stderr).toContain("3 code cache(s) no facade reads");
    expect(check.stderr).not.toContain(current);
    expect(caches(out)).toHaveLength(4);

    execFileSync(process.execPath, [SCRIPT, "--remove", "."], { cwd: pkg, stdio: "pipe" });
    expect(caches(out)).toEqual([current]);
    expect(spawnSync(process.execPath, [SCRIPT, pkg]).status).toBe(0);
  });

  it("refuses a named folder that is no package (a typo must not read as a clean check)", () => {
    const check = spawnSync(process.execPath, [SCRIPT, join(tmpdir(), "xppg-no-such-package")], { encoding: "utf8" });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain("has no package.json");
  });

  it("removeCaches removes every cache in the folder and below it", () => {
    const out = mkdtempSync(join(tmpdir(), "xppg-stale-caches-"));
    dirs.push(out);
    mkdirSync(join(out, "sub"));
    for (const f of ["index.script.0123456789abcdef.cache", "sub/a.script.0123456789abcdef.cache", "index.js"]) writeFileSync(join(out, f), "x");
    removeCaches(out);
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(["index.js", "sub"]);
  });

  it("runs after the root build and in the root publish check", () => {
    const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["build"]).toMatch(/turbo run build && node scripts\/stale-caches\.mjs --remove$/);
    expect(scripts["check:publish"]).toMatch(/turbo run check:publish && node scripts\/stale-caches\.mjs$/);
  });
});
