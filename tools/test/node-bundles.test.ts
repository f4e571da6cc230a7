// Every published package's Node entries are bundles (scripts/bundle-node.mjs):
// each `exports` entry with an `import` build has a `node` target
// `./dist/bundle/<name>.js` before it (a browser build has none), the build
// script writes it with its source map, and the package builds through it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const packages = readdirSync(join(root, "packages")).filter((d) => existsSync(join(root, "packages", d, "package.json")));

type Target = Record<string, unknown>;
interface Manifest {
  name: string;
  private?: boolean;
  scripts: Record<string, string>;
  exports: Record<string, Target>;
  sideEffects?: boolean;
}

describe.each(packages)("packages/%s", (dir) => {
  const at = join(root, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(at, "package.json"), "utf8")) as Manifest;

  it("builds its Node entries into bundles, and its exports map names them", () => {
    expect(pkg.scripts["build"]).toBe("tsc -b && node ../../scripts/bundle-node.mjs");
    // A pack leaves out the code caches no facade reads (scripts/stale-caches.mjs).
    expect(pkg.scripts["prepack"]).toBe("node ../../scripts/stale-caches.mjs --remove .");
    // The script's own check of the exports map (it throws, with the fix, on a missing or misplaced `node` target).
    execFileSync(process.execPath, [join(root, "scripts/bundle-node.mjs"), "--check"], { cwd: at, stdio: "pipe" });
    const nodeTargets = Object.values(pkg.exports).flatMap((t) => (typeof t["node"] === "string" ? [t["node"]] : []));
    expect(nodeTargets.length).toBeGreaterThan(0);
    for (const target of nodeTargets) {
      expect(target).toMatch(/^\.\/dist\/bundle\/.+\.js$/);
      expect(existsSync(join(at, target)), `${pkg.name}: ${target} is not built`).toBe(true);
      // A file run as a script with a code cache (scripts/node-script.mjs) is a facade; its script has the map.
      const map = [`${target}.map`, target.replace(/\.js$/, ".script.js.map")].find((m) => existsSync(join(at, m)));
      expect(map, `${pkg.name}: ${target}.map is not built`).toBeDefined();
    }
  });

  it("gives its bundle folder a package.json of its own: ES modules, the package's sideEffects, no name", () => {
    // Node's ES module loader walks up from each file it loads, and from each file that imports a package, to the
    // nearest package.json: from dist/bundle/ that walk now ends in the folder itself (issue 15, the first connection).
    const scope = JSON.parse(readFileSync(join(at, "dist/bundle/package.json"), "utf8")) as Record<string, unknown>;
    expect(scope).toEqual({ type: "module", ...(pkg.sideEffects === undefined ? {} : { sideEffects: pkg.sideEffects }) });
  });

  it("loads its Node entries in a plain Node process, the other packages' bundles linked as an application's would be", () => {
    // Vitest takes the packages' sources: only a process of its own links the bundles, and a name a bundle imports
    // that the other package lacks (the re-exporting modules of bundle-node.mjs) fails there, at link time.
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t["node"] === "string" ? [pathToFileURL(join(at, t["node"])).href] : []));
    const script = `for (const url of ${JSON.stringify(targets)}) await import(url);`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: at, encoding: "utf8", timeout: 60_000 });
    expect(child.stderr, `${pkg.name}: a Node entry does not load`).toBe("");
    expect(child.status).toBe(0);
  });

  it("has source maps whose every source is a file of the package, or carried in the map", () => {
    // The maps have no sources' text: they point to src/, which is published. A module the build makes up (the
    // re-exports of bundle-node.mjs) is a file nowhere, and a debugger or a bundler's map loader would look for it.
    const bundle = join(at, "dist/bundle");
    for (const file of readdirSync(bundle, { recursive: true }).map(String).filter((f) => f.endsWith(".map"))) {
      const map = JSON.parse(readFileSync(join(bundle, file), "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
      const missing = map.sources.filter((s, i) => typeof map.sourcesContent?.[i] !== "string" && !existsSync(join(bundle, dirname(file), s)));
      expect(missing, `${pkg.name}: ${file} names sources that are nowhere`).toEqual([]);
    }
  });

  it("imports each other @xppg package from one of its bundle files at most (each file resolves its own imports)", () => {
    // Node resolves a specifier once per importing file, and a package's name is the costly kind to resolve: a
    // package's chunks take another package's names from the one file that imports it (issue 15, the first connection).
    const bundle = join(at, "dist/bundle");
    const importers = new Map<string, string[]>();
    for (const file of readdirSync(bundle, { recursive: true }).map(String).filter((f) => f.endsWith(".js"))) {
      const code = readFileSync(join(bundle, file), "utf8");
      const specifiers = new Set([...code.matchAll(/(?:\bfrom|\bimport)\s*"(@xppg\/[^"]+)"/g)].map((m) => m[1] as string));
      for (const specifier of specifiers) importers.set(specifier, [...(importers.get(specifier) ?? []), file]);
    }
    const repeated = [...importers].filter(([, files]) => files.length > 1);
    expect(repeated, `${pkg.name}: these packages are imported from more than one bundle file`).toEqual([]);
  });
});
