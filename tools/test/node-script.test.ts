// scripts/node-script.mjs turns a bundle file into a classic script and its ES module facade: the script's
// import() calls are checked against esbuild's own count, and the facade compiles the script under a fixed name
// with the cache tag of the exact source it carries.
import { build } from "esbuild";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { cacheTag, startFiles, toScript } from "../../scripts/node-script.mjs";

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
    const method = bundleFile(`const o={import(x){return x}};function f(){return import("y")}export{o,f};`);
    await expect(toScript(method, build, "@t/x/index.script.js", 1)).rejects.toThrow(/the script 2 \(.*a method named import/);
  });

  it("leaves a method named import alone, defines import.meta, and names the script and its tag in the facade", async () => {
    const file = bundleFile(`function f(o){return[o.import(1),import("y"),import.meta.url]}export{f};`);
    await toScript(file, build, "@t/x/index.script.js", 1);
    const facade = readFileSync(file, "utf8");
    const script = JSON.parse(facade.match(/^const source=(".*");$/m)![1]!) as string;
    expect(script).toContain(".import(1)");
    expect(script).toContain("_importMeta.url");
    // The script's own file is not written (the facade carries it), its map is.
    expect(existsSync(join(file, "..", "index.script.js"))).toBe(false);
    expect(existsSync(join(file, "..", "index.script.js.map"))).toBe(true);
    expect(facade).toContain(`filename:"@t/x/index.script.js"`);
    // The tag is the hash of the exact source the facade compiles.
    const source = JSON.parse(facade.match(/^const source=(".*");$/m)![1]!.replace(/\\\/\\\/#/g, "//#")) as string;
    expect(facade).toContain(`tag:"${cacheTag(source)}"`);
  });

  it("refuses what its facade's snapshot of the exports cannot carry: a default export, a let or var binding", async () => {
    await expect(toScript(bundleFile(`const x=1;export{x as default};`), build, "@t/x/index.script.js", 0)).rejects.toThrow(/a default export/);
    await expect(toScript(bundleFile(`let a=1;function f(){a=2}export{a,f};`), build, "@t/x/index.script.js", 0)).rejects.toThrow(/binding a is not provably constant/);
    // Assigned in a function only, with no initializer; declared after another declarator with commas in its initializer.
    await expect(toScript(bundleFile(`let a;function s(v){a=v}export{a,s};`), build, "@t/x/index.script.js", 0)).rejects.toThrow(/binding a is not provably constant/);
    await expect(toScript(bundleFile(`function f(){}var b=f(1,2),a=0;function s(v){a=v}export{a,s};`), build, "@t/x/index.script.js", 0)).rejects.toThrow(/binding a is not provably constant/);
    // Reassigned through a destructuring, an update, a second declaration; a function reassigned; no value at all.
    for (const code of [`var a=1;function s(v){[a]=v}export{a,s};`, `var a=1;function s(){a++}export{a,s};`, `var a=1;{var a=2}export{a};`, `function a(){}function s(v){a=v}export{a,s};`, `let a;export{a};`]) {
      await expect(toScript(bundleFile(code), build, "@t/x/index.script.js", 0)).rejects.toThrow(/binding a is not provably constant/);
    }
    // What esbuild writes for a top-level const (a var never assigned), and const, function and class, are exported.
    await expect(toScript(bundleFile(`var a=1,b;export{a};`), build, "@t/x/index.script.js", 0)).resolves.toBeDefined();
    await expect(toScript(bundleFile(`const a=1,{b,c:[d]}={b:2,c:[3]};function f(){}class K{}export{a,b,d as e,f,K};`), build, "@t/x/index.script.js", 0)).resolves.toBeDefined();
  });

  it("follows a re-exported import to the file it comes from, and refuses it unless that file's exports are constant", async () => {
    const ok = bundleFile(`import{x}from"./chunk.js";export{x};`);
    writeFileSync(join(ok, "..", "chunk.js"), `var x=1;export{x};`);
    await expect(toScript(ok, build, "@t/x/index.script.js", 0)).resolves.toBeDefined();
    const stale = bundleFile(`import{x}from"./chunk.js";export{x};`);
    writeFileSync(join(stale, "..", "chunk.js"), `let x=1;function s(v){x=v}export{x,s};`);
    await expect(toScript(stale, build, "@t/x/index.script.js", 0)).rejects.toThrow(/binding x is not provably constant/);
  });

  it("refuses a start file in a static import cycle between bundle files", () => {
    const big = 64 * 1024;
    const metafile = {
      outputs: {
        "dist/bundle/index.js": { entryPoint: "src/index.ts", bytes: big, imports: [{ path: "dist/bundle/chunk-A.js", kind: "import-statement" }] },
        "dist/bundle/chunk-A.js": { bytes: big, imports: [{ path: "dist/bundle/index.js", kind: "import-statement" }] },
      },
    };
    expect(() => startFiles("/p", metafile, "./src/index.ts")).toThrow(/static import cycle/);
    metafile.outputs["dist/bundle/chunk-A.js"].imports = [];
    expect(startFiles("/p", metafile, "./src/index.ts")).toEqual(["/p/dist/bundle/index.js", "/p/dist/bundle/chunk-A.js"]);
  });
});
