// The published Node entry of @xppg/node is its bundle (scripts/bundle-node.mjs,
// issue 15): importing the package in a fresh process reads a handful of the
// package's files, not one per module, and an error's stack still names the
// TypeScript sources through the source maps (`--enable-source-maps`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const built = existsSync(fileURLToPath(new URL("../dist/bundle/index.js", import.meta.url)));
if (!built) console.log("[skip] bundled entry tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
const SCRIPT = fileURLToPath(new URL("./fixtures/entry-files.mjs", import.meta.url));
/** At most this many files of @xppg/node for `import("@xppg/node")` (today: the entry and a few shared chunks; it was about 90 modules). */
const MAX_FILES = 10;

interface Run {
  files: string[];
  error: { name: string; code: string; stack: string };
}

function run(...nodeArgs: string[]): Run {
  const r = spawnSync(process.execPath, [...nodeArgs, SCRIPT, "@xppg/node"], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Run;
  return { ...out, files: out.files.map((u) => fileURLToPath(u)) };
}

describe.skipIf(!built)("the published @xppg/node entry", () => {
  it("is the bundle: a few files of the package", () => {
    const { files } = run();
    const own = files.filter((f) => f.includes("/packages/node/") && !f.includes("/test/"));
    expect(own[0]).toMatch(/\/packages\/node\/dist\/bundle\/index\.js$/);
    expect(own.filter((f) => !f.includes("/packages/node/dist/bundle/"))).toEqual([]);
    expect(own.length).toBeLessThanOrEqual(MAX_FILES);
    // Its @xppg dependencies are loaded as packages (not copied in), each from its own bundle.
    expect(files.some((f) => f.endsWith("/packages/secure/dist/bundle/index.js"))).toBe(true);
  });

  it("keeps error names, and stack traces point to the sources through the maps", () => {
    const { error } = run("--enable-source-maps");
    expect(error.name).toBe("PlaygroundError");
    expect(error.code).toBe("XPPG_ERR_INVALID_ARGUMENT");
    const frames = error.stack.split("\n").filter((l) => l.trimStart().startsWith("at "));
    expect(frames[0]).toMatch(/\/packages\/node\/src\/argument-checks\.ts:\d+:\d+\)?$/);
    expect(error.stack).not.toContain("/dist/bundle/");
  });
});
