// The V8 code caches of a package's scripts (scripts/node-script.mjs), made
// at build time by `scripts/bundle-node.mjs` in a fresh process:
//
//   node scripts/code-cache.mjs <package folder>
//
// It imports the package's Node entry, runs the package's warm-up
// (`scripts/warm-up/<folder>.mjs`: what a first connection does with the
// package), then writes `<name>.script.<tag>.cache` beside each of the
// package's scripts it loaded, from `script.createCachedData()`: the
// functions compiled by then, the lazily compiled ones included, are in it.
// Nothing is written elsewhere (another package's scripts are left alone),
// and nothing at run time. A cache is only good for the Node (V8 version and
// flags) that made it; any other rejects it and compiles as without one.
import { createRequire } from "node:module";
import { join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { removeCaches, replace, warmUpScript } from "./node-script.mjs";

const dir = resolve(process.argv[2] ?? ".");
const out = join(dir, "dist", "bundle");
const warmUp = warmUpScript(dir);
// A stale cache would be accepted by this process's own compile and its functions counted as compiled: remove first.
removeCaches(out);

const scripts = (globalThis[Symbol.for("xppg.scripts")] = []);
const require = createRequire(join(dir, "package.json"));
/** Imports a package as the package itself would (its dependencies, and itself by name). */
const load = (specifier) => import(pathToFileURL(require.resolve(specifier)).href);
const { warmUp: run } = await import(pathToFileURL(warmUp).href);
// A warm-up that stalls (a handshake that never ends, no loopback) must not hang the build: it gets a deadline, and
// bundle-node.mjs then builds the package without caches.
const deadline = Number(process.env.XPPG_WARM_UP_MS ?? 60_000);
let timer;
await Promise.race([
  run(load),
  new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${dir}: the warm-up did not finish within ${deadline} ms`)), deadline);
  }),
]);
clearTimeout(timer);

let written = 0;
// `<name>.script.<tag>.cache` beside `<name>.script.js`, the tag the one the facade gave (node-script.mjs: the hash
// of the source it compiled), not that of the file on disk, which another build may have replaced meanwhile.
for (const { file, tag, script } of scripts) {
  if (!file.startsWith(out + sep)) continue;
  replace(`${file.slice(0, -2)}${tag}.cache`, script.createCachedData());
  written++;
}
if (written === 0) throw new Error(`${dir}: the warm-up loaded none of the package's scripts`);
// The warm-up's handles (timers, sockets) must not keep the build waiting.
process.exit(0);
