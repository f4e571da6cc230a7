// @xppg/secure for the bench, reached through @xppg/node's own dependency on
// it: bench/package.json does not list it, because adding it would change
// the workspace lockfile, which the bench does not own. Resolves the package
// the way Node would for `import`: its `exports["."].import` entry.
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));

/** The `@xppg/secure` module the installed `@xppg/node` uses. */
export async function importSecure() {
  const nodeDir = realpathSync(join(BENCH, "node_modules", "@xppg", "node"));
  const dir = realpathSync(join(nodeDir, "node_modules", "@xppg", "secure"));
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const entry = pkg.exports?.["."]?.import;
  if (typeof entry !== "string") throw new Error(`@xppg/secure at ${dir} has no exports["."].import`);
  return import(pathToFileURL(join(dir, entry)).href);
}
