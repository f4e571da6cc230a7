// scripts/package-imports.mjs reads which names a package's bundle takes from each other @xppg package (the build
// re-exports exactly those through one module per package): a name it invents is an import the other package lacks,
// and the bundle then fails to link.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { importedNames, reExport } from "../../scripts/package-imports.mjs";

const names = (...texts: string[]) => Object.fromEntries(importedNames(texts.map((text) => ({ text }))) as Map<string, string[]>);

describe("package-imports importedNames", () => {
  it("takes the names of the imports and re-exports, as the other package names them", () => {
    expect(names(`import{b as x,a}from"@xppg/errors";export{c}from"@xppg/errors";import"./chunk.js";`, `import{a}from"@xppg/errors";`)).toEqual({
      "@xppg/errors": ["a", "b", "c"],
    });
  });

  it("takes no name from a string or comment that reads like an import", () => {
    const help = `import{Playground}from"@xppg/node";const HELP='usage: import { Missing } from "@xppg/node"';/* import * as all from "@xppg/node" */export{HELP};`;
    expect(names(help)).toEqual({ "@xppg/node": ["Playground"] });
  });

  it("leaves out a package imported whole anywhere, and a bare import counts for nothing", () => {
    expect(names(`import{a}from"@xppg/a";import{b}from"@xppg/b";import"@xppg/c";`, `import*as ns from"@xppg/a";export*from"@xppg/b";`)).toEqual({});
    expect(names(`import d,{a}from"@xppg/a";`)).toEqual({});
  });

  it("re-exports a name that is no identifier as a string", () => {
    expect(reExport("@xppg/a", ["a", "b-c"])).toBe(`export { a, "b-c" } from "@xppg/a";\n`);
  });
});
