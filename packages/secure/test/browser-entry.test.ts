// The browser entry must never load node:* (or any Node built-in): walk the
// static import graph from src/browser.ts, through this package's files and
// the @xppg packages it uses, and fail on any built-in module. The built
// dist/browser.js graph is checked the same way (the project builds it first).
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as browser from "../src/browser.js";
import * as node from "../src/index.js";
import { sodiumProvider } from "./sodium.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, "..");
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function workspaceEntry(specifier: string, fromDir: string, useSource: boolean): string | null {
  // @xppg/<name>[/sub]: resolve through the package's exports map.
  const m = /^@xppg\/([^/]+)(\/.*)?$/.exec(specifier);
  if (m === null) return null;
  let dir = fromDir;
  while (!existsSync(join(dir, "node_modules", "@xppg", m[1]!)) && dirname(dir) !== dir) dir = dirname(dir);
  const pkgDir = join(dir, "node_modules", "@xppg", m[1]!);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { exports: Record<string, Record<string, unknown>> };
  const entry = pkg.exports[m[2] === undefined ? "." : `.${m[2]}`]!;
  const browserEntry = entry.browser as Record<string, string> | undefined;
  const target = useSource ? (entry.source as string) : (browserEntry?.import ?? (entry.import as string));
  return join(pkgDir, target);
}

/** Every bare (non-relative) specifier reachable from `entry`. */
function bareImports(entry: string, useSource: boolean): Map<string, string> {
  const seen = new Set<string>();
  const bare = new Map<string, string>();
  const queue = [entry];
  for (let steps = 0; queue.length > 0 && steps < 500; steps++) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(IMPORT_RE)) {
      const spec = (match[1] ?? match[2])!;
      if (spec.startsWith(".")) {
        let target = resolve(dirname(file), spec);
        if (useSource && target.endsWith(".js") && !existsSync(target)) target = target.replace(/\.js$/, ".ts");
        queue.push(target);
        continue;
      }
      const ws = workspaceEntry(spec, dirname(file), useSource);
      if (ws !== null) queue.push(ws);
      else bare.set(spec, file);
    }
  }
  return bare;
}

describe("browser entry", () => {
  it("imports no Node built-in anywhere in its source graph", () => {
    const bare = bareImports(join(pkgRoot, "src", "browser.ts"), true);
    const builtins = [...bare].filter(([spec]) => spec.startsWith("node:") || isBuiltin(spec));
    expect(builtins, JSON.stringify(builtins)).toEqual([]);
    // It does use the noble libraries, and the walk did reach them.
    expect([...bare.keys()].some((s) => s.startsWith("@noble/"))).toBe(true);
    // The Node entry, by contrast, does use node:crypto (the check can fail).
    expect([...bareImports(join(pkgRoot, "src", "index.ts"), true).keys()]).toContain("node:crypto");
  });

  it("imports no Node built-in in the built dist/browser.js graph", () => {
    // The project's global setup (tools/test/build-before-tests.ts) builds the package first.
    const built = join(pkgRoot, "dist", "browser.js");
    expect(existsSync(built), `${built} is missing: run \`pnpm exec turbo run build --filter=@xppg/secure...\``).toBe(true);
    const bare = bareImports(built, false);
    const builtins = [...bare].filter(([spec]) => spec.startsWith("node:") || isBuiltin(spec));
    expect(builtins, JSON.stringify(builtins)).toEqual([]);
  });

  it("the package.json exports map sends browsers to the browser build and keeps key-file separate", () => {
    const pkg = JSON.parse(readFileSync(join(pkgRoot, "package.json"), "utf8")) as { exports: Record<string, Record<string, unknown>> };
    const root = pkg.exports["."]!;
    // "browser" first, with its own "source": a browser bundle built from the
    // workspace sources (the web chat, the size report) gets the browser entry.
    expect(Object.keys(root)).toEqual(["browser", "source", "types", "node", "import"]);
    expect(root.browser).toEqual({ source: "./src/browser.ts", types: "./dist/browser.d.ts", import: "./dist/browser.js" });
    expect(pkg.exports["./key-file"]).toBeDefined();
    expect(JSON.stringify(root)).not.toContain("key-file");
  });

  it("exports the same names as the Node entry", () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    expect(browser.cryptoProvider.name).toBe("noble");
    // sodium-native is installed here (optional elsewhere): "node" only where it did not load or XPPG_CRYPTO_PROVIDER=node.
    expect(node.cryptoProvider.name).toBe(sodiumProvider === null ? "node" : "sodium");
    expect(browser.cryptoProviderName).toBe("noble");
  });
});
