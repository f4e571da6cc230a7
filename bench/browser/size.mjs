// The size of @xppg/node's browser entry (the node, the WebSocket transport,
// state, the secure channel and their libraries), bundled for browsers with
// Vite from the built packages, minified and gzipped, with what it is made of.
//
//   pnpm bench:browser:size        (builds first)
//   node bench/browser/size.mjs --json
import { relative, resolve } from "node:path";
import { bundleForBrowser } from "./bundle.mjs";

/** The size the browser entry aims to stay under, minified and gzipped (issue 13). */
export const TARGET_GZIP_BYTES = 60 * 1024;

const repoRoot = resolve(import.meta.dirname, "../..");

/** Bundles the entry and groups the rendered bytes by package. */
export async function measureBrowserEntry() {
  const entry = await bundleForBrowser({ root: resolve(repoRoot, "packages/node"), code: 'export * from "@xppg/node";' });
  const byPackage = {};
  for (const [id, length] of entry.moduleSizes) {
    const rel = relative(repoRoot, id);
    const name = /node_modules\/\.pnpm\/(@?[^@/]+(?:\+[^@/]+)?)@/.exec(rel)?.[1]?.replace("+", "/") ?? /^packages\/([^/]+)\//.exec(rel)?.[1] ?? rel;
    byPackage[name] = (byPackage[name] ?? 0) + length;
  }
  return { minifiedBytes: entry.bytes, gzipBytes: entry.gzipBytes, targetGzipBytes: TARGET_GZIP_BYTES, builtins: entry.builtins, renderedByPackage: byPackage };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureBrowserEntry();
  if (process.argv.includes("--json")) console.log(JSON.stringify(r, null, 2));
  else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`@xppg/node browser entry (Vite, es2022): ${kb(r.minifiedBytes)} minified, ${kb(r.gzipBytes)} minified+gzipped (target ${kb(r.targetGzipBytes)}: ${r.gzipBytes <= r.targetGzipBytes ? "within" : "OVER"})`);
    console.log(`Node built-ins in the bundle: ${r.builtins.length === 0 ? "none" : r.builtins.join(", ")}`);
    console.log("Before minifying, by package:");
    for (const [name, n] of Object.entries(r.renderedByPackage).sort((a, b) => b[1] - a[1])) if (n > 0) console.log(`  ${name.padEnd(20)} ${kb(n).padStart(9)}`);
  }
}
