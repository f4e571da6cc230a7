// scripts/node-script.mjs turns a bundle file into a classic script and its ES module facade: the script's
// import() calls are checked against esbuild's own count, and the facade compiles the script under a fixed name
// with the cache tag of the exact source it carries.
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { cacheTag, toScript } from "../../scripts/node-script.mjs";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function bundleFile(code: string): string {
  const dir = mkdtempSync(join(tmpdir(), "xppg-node-script-"));
  dirs.push(dir);
  const file = join(dir, "index.js");
  writeFileSync(file, code);
  return file;
}

describe("node-script toScript", () => {
  it("refuses a bundle whose text holds more `import(` than esbuild's dynamic imports", async () => {
    const file = bundleFile(`const s="use import(x)";function f(){return import("y")}export{s,f};`);
    await expect(toScript(file, build, "@t/x/index.script.js", 1)).rejects.toThrow(/the bundle has 1 import\(\) calls, the script 2/);
  });

  it("leaves a method named import alone, defines import.meta, and names the script and its tag in the facade", async () => {
    const file = bundleFile(`function f(o){return[o.import(1),import("y"),import.meta.url]}export{f};`);
    await toScript(file, build, "@t/x/index.script.js", 1);
    const script = readFileSync(join(file, "..", "index.script.js"), "utf8");
    expect(script).toContain(".import(1)");
    expect(script).toContain("_importMeta.url");
    const facade = readFileSync(file, "utf8");
    expect(facade).toContain(`filename:"@t/x/index.script.js"`);
    // The tag is the hash of the exact source the facade compiles.
    const source = JSON.parse(facade.match(/^const source=(".*");$/m)![1]!.replace(/\\\/\\\/#/g, "//#")) as string;
    expect(facade).toContain(`tag:"${cacheTag(source)}"`);
  });
});
