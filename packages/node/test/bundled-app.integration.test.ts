// An application bundled for Node (esbuild, platform node: the `node`
// condition, so the packages' Node bundles and the facades of their scripts
// with a code cache, scripts/node-script.mjs) runs from its bundle alone: a
// facade carries its script's source, and without a cache beside it the
// script is compiled as without one. Issue 15's code cache must not cost a
// bundled application its start.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const built = existsSync(fileURLToPath(new URL("../dist/bundle/index.js", import.meta.url)));
if (!built) console.log("[skip] bundled application tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
const APP = fileURLToPath(new URL("./fixtures/bundled-app.mjs", import.meta.url));

interface Run {
  atA: unknown;
  atB: unknown;
  joined: boolean;
  error: { isPlaygroundError: boolean; name: string; code: string; stack: string };
  scripts: { file: string; cache: string }[];
}

describe.skipIf(!built)("an application bundled for Node, minified", () => {
  // Outside the repository: the bundle finds no package and no file of one.
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "xppg-bundled-app-"));
    await build({
      entryPoints: [APP],
      outfile: join(dir, "app.mjs"),
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      conditions: ["node"],
      sourcemap: "linked",
      logLevel: "error",
      // As an application's bundle does for the CommonJS libraries that load Node built-ins; and the list the
      // facades add their scripts to, set before any of them runs.
      banner: {
        js: 'import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);globalThis[Symbol.for("xppg.scripts")]=[];',
      },
    });
  }, 60_000);
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  function run(...nodeArgs: string[]): Run {
    const r = spawnSync(process.execPath, [...nodeArgs, join(dir, "app.mjs")], { encoding: "utf8", timeout: 60_000, cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Run;
  }

  it("is one file (and its map), and runs a node that joins over loopback and exchanges messages", () => {
    expect(readdirSync(dir).sort()).toEqual(["app.mjs", "app.mjs.map"]);
    const r = run();
    expect(r.joined).toBe(true);
    expect(r.atA).toEqual({ text: "from b" });
    expect(r.atB).toEqual({ text: "from a" });
    expect(r.error).toMatchObject({ isPlaygroundError: true, name: "PlaygroundError", code: "XPPG_ERR_INVALID_ARGUMENT" });
    // The facades of @xppg/node and the packages its first connection runs, each compiled from the source it carries, without a cache.
    expect(r.scripts.length).toBeGreaterThan(0);
    expect(r.scripts.filter((s) => s.cache !== "none")).toEqual([]);
  });

  it("runs with --enable-source-maps, the application's own frames mapped to its source", () => {
    const r = run("--enable-source-maps");
    expect(r.joined).toBe(true);
    expect(r.error.name).toBe("PlaygroundError");
    expect(r.error.stack).toMatch(/fixtures\/bundled-app\.mjs:\d+:\d+\)?$/m);
  });
});
