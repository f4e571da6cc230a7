// The browser bench's account of what a page fetched: each file of the split
// build once, named for what loads it, its bytes gzipped as size.mjs counts
// them; what a page fetches first weighs what size.mjs reports.
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { bundleForBrowser, gzipBytes } from "../browser/bundle.mjs";
import { chunkName, fetchedScripts, moduleName, servedFiles } from "../browser/fetched.mjs";

const repoRoot = resolve(import.meta.dirname, "../..");
const file = (fileName: string, code: string, more: { isEntry?: boolean; imports?: string[]; dynamicImports?: string[] } = {}) => ({ fileName, code, isEntry: false, imports: [], dynamicImports: [], ...more });

describe("the scripts a page fetched", () => {
  const root = "/repo";
  const bundle = {
    files: [
      file("assets/entry-AbCd_123.js", "x".repeat(500), { isEntry: true, imports: ["assets/protocol-Zz-9yy88.js"], dynamicImports: ["assets/connection-manager-Qq1Qq1Qq.js"] }),
      file("assets/protocol-Zz-9yy88.js", "protocol();".repeat(40), { imports: [] }),
      file("assets/connection-manager-Qq1Qq1Qq.js", "manager();".repeat(30), { imports: ["assets/utils-Uu2Uu2Uu.js"] }),
      file("assets/utils-Uu2Uu2Uu.js", "utils();"),
    ],
    lazyChunks: [
      { fileName: "assets/connection-manager-Qq1Qq1Qq.js", bytes: 0, gzipBytes: 0, modules: [], loadedBy: ["/repo/packages/node/dist/browser/connection-manager.js"] },
      { fileName: "assets/utils-Uu2Uu2Uu.js", bytes: 0, gzipBytes: 0, modules: [], loadedBy: [] },
    ],
  };
  const served = servedFiles(bundle, root);

  it("names each file for what loads it", () => {
    expect(chunkName("assets/connection-manager-Qq1Qq1Qq.js")).toBe("connection-manager");
    expect(moduleName("/repo/packages/secure/dist/crypto/page-provider.js", root)).toBe("secure/crypto/page-provider");
    expect([...served.entries()].map(([path, f]) => [path, f.name, f.what])).toEqual([
      ["/assets/entry-AbCd_123.js", "entry", "entry"],
      ["/assets/protocol-Zz-9yy88.js", "protocol", "loaded first, imported by the entry"],
      ["/assets/connection-manager-Qq1Qq1Qq.js", "connection-manager", "import() in node/browser/connection-manager"],
      ["/assets/utils-Uu2Uu2Uu.js", "utils", "shared by connection-manager"],
    ]);
  });

  it("counts each file once, gzipped on its own, and leaves out what is not a file of the build", () => {
    const paths = ["/", "/assets/entry-AbCd_123.js", "/assets/protocol-Zz-9yy88.js", "/favicon.ico", "/assets/entry-AbCd_123.js"];
    const r = fetchedScripts(paths, served);
    expect(r.scripts.map((s) => s.name)).toEqual(["entry", "protocol"]);
    expect(r.minifiedBytes).toBe(500 + 11 * 40);
    expect(r.gzipBytes).toBe(gzipSync("x".repeat(500), { level: 9 }).length + gzipSync("protocol();".repeat(40), { level: 9 }).length);
    expect(fetchedScripts([], served)).toEqual({ scripts: [], minifiedBytes: 0, gzipBytes: 0 });
  });

  it("a page that fetches the entry and its static imports downloads what the bundle reports as its first load", async () => {
    const bundle = await bundleForBrowser({ root: resolve(repoRoot, "packages/node"), code: 'import { Playground } from "@xppg/node"; globalThis.P = Playground;', source: true });
    const served = servedFiles(bundle, repoRoot);
    const lazy = new Set(bundle.lazyChunks.map((c) => `/${c.fileName}`));
    const first = fetchedScripts([...served.keys()].filter((p) => !lazy.has(p)), served);
    expect(first).toMatchObject({ minifiedBytes: bundle.bytes, gzipBytes: bundle.gzipBytes });
    expect(first.scripts[0]).toMatchObject({ what: "entry", gzipBytes: gzipBytes(bundle.code) });
    // Every chunk loaded later is served, under the name of the code whose import() loads it.
    const manager = bundle.lazyChunks.find((c) => c.loadedBy.some((id) => id.endsWith("browser/connection-manager.ts")));
    expect(served.get(`/${manager!.fileName}`)).toMatchObject({ what: "import() in node/browser/connection-manager", gzipBytes: manager!.gzipBytes });
  }, 60_000);
});
