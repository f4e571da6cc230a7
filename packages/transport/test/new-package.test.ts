// scripts/new-package.mjs writes a complete package in the house style.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isXppgError } from "@xppg/errors";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const script = join(root, "scripts/new-package.mjs");
const work = mkdtempSync(join(tmpdir(), "xppg-new-package-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]): string {
  return execFileSync(process.execPath, [script, ...args], { cwd: work, encoding: "utf8" });
}

describe("scripts/new-package.mjs", () => {
  it("writes an adapter package with README, index, errors, a test, tsconfigs and the peer dependency, and reminds of a changeset", async () => {
    const out = run("transport-pipe", "A pipe transport for xppg", "--adapter", "@xppg/framing");
    expect(out).toMatch(/changeset/);
    const dir = join(work, "packages/transport-pipe");
    const read = (file: string): string => readFileSync(join(dir, file), "utf8");

    const pkg = JSON.parse(read("package.json"));
    expect(pkg.name).toBe("@xppg/transport-pipe");
    expect(pkg.type).toBe("module");
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.exports["."]).toEqual({ source: "./src/index.ts", types: "./dist/index.d.ts", node: "./dist/bundle/index.js", import: "./dist/index.js" });
    expect(pkg.scripts.build).toBe("tsc -b && node ../../scripts/bundle-node.mjs");
    expect(pkg.scripts.prepack).toBe("node ../../scripts/stale-caches.mjs --remove .");
    expect(pkg.peerDependencies).toEqual({ "@xppg/transport": "workspace:^" });
    expect(pkg.dependencies).toEqual({ "@xppg/errors": "workspace:^", "@xppg/framing": "workspace:^" });
    expect(pkg.scripts.test).toBe("vitest run --root ../.. --project transport-pipe");

    const tsconfig = JSON.parse(read("tsconfig.json"));
    expect(tsconfig.extends).toBe("../../tsconfig.base.json");
    expect(tsconfig.references).toEqual([{ path: "../errors" }, { path: "../framing" }, { path: "../transport" }]);
    expect(JSON.parse(read("tsconfig.test.json")).include).toEqual(["src", "test"]);
    expect(JSON.parse(read("tsconfig.test.json")).compilerOptions.customConditions).toEqual(["source"]);

    const readme = read("README.md");
    expect(readme).toContain("pnpm add @xppg/transport-pipe @xppg/transport");
    expect(readme).toContain("@xppg/transport/adapter");
    expect(readme).toMatch(/## Error codes\n[\s\S]*\| `XPPG_ERR_TRANSPORT_PIPE_FAILED` \|/);
    expect(read("src/index.ts")).toContain('from "./errors.js"');
    expect(read("src/errors.ts")).toContain("class TransportPipeError extends XppgError");
    expect(read("test/errors.test.ts")).toContain("it(");

    // The errors it writes work: an XppgError with its code.
    // Loaded as the workspace would: the base tsconfig and the packages it references next to it.
    copyFileSync(join(root, "tsconfig.base.json"), join(work, "tsconfig.base.json"));
    for (const ref of ["errors", "framing", "transport"]) symlinkSync(join(root, "packages", ref), join(work, "packages", ref));
    mkdirSync(join(work, "node_modules/@xppg"), { recursive: true });
    symlinkSync(join(root, "packages/errors"), join(work, "node_modules/@xppg/errors"));
    const errors = await import(pathToFileURL(join(dir, "src/index.ts")).href);
    const error = errors.failedError("a pipe");
    expect(isXppgError(error, "XPPG_ERR_TRANSPORT_PIPE_FAILED")).toBe(true);
    expect(error).toBeInstanceOf(errors.TransportPipeError);
  });

  it("writes a plain package without the transport peer, and refuses a bad name or an existing package", () => {
    run("plain-thing", "Something plain");
    const pkg = JSON.parse(readFileSync(join(work, "packages/plain-thing/package.json"), "utf8"));
    expect(pkg.peerDependencies).toBeUndefined();
    expect(() => run("plain-thing", "again")).toThrow();
    expect(() => run("Bad_Name", "nope")).toThrow();
  });
});
