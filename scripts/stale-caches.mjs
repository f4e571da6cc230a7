// The code caches no facade reads (scripts/node-script.mjs: `<name>.script.<tag>.cache` is read only by the facade
// `<name>.js` whose source hashes to `<tag>`). A build removes its old caches before it makes new ones, but turbo
// restores a cached build by writing its files over `dist/`, so the caches of the build before it stay: never read,
// they only make the package bigger. The root `build` script removes them after turbo, a package's `prepack` before it
// is packed, and the root `check:publish` fails on any.
//
//   node scripts/stale-caches.mjs [package folder...]           lists them, exit 1 if any (default: every package)
//   node scripts/stale-caches.mjs --remove [package folder...]  removes them
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { staleCaches } from "./node-script.mjs";

const root = resolve(import.meta.dirname, "..");
const remove = process.argv.includes("--remove");
const named = process.argv.slice(2).filter((a) => a !== "--remove");
const packages = named.length > 0 ? named.map((d) => resolve(d)) : readdirSync(join(root, "packages")).map((d) => join(root, "packages", d));
// A named folder that is no package is a typo, not a clean one: say so rather than pass.
for (const d of named.length > 0 ? packages : []) {
  if (!existsSync(join(d, "package.json"))) {
    console.error(`${d} has no package.json: name a package's folder (or none, for every package under packages/).`);
    process.exit(2);
  }
}
const stale = packages.map((d) => join(d, "dist", "bundle")).filter((out) => existsSync(out)).flatMap(staleCaches);
const shown = (f) => relative(process.cwd(), f);
if (remove) {
  for (const f of stale) rmSync(f, { force: true });
  if (stale.length > 0) console.log(`removed ${stale.length} code cache(s) no facade reads: ${stale.map(shown).join(", ")}`);
} else if (stale.length > 0) {
  console.error(`${stale.length} code cache(s) no facade reads (probably left by a build that turbo's cache restored over another): ${stale.map(shown).join(", ")}. Run \`pnpm run build\` from the repository root, which removes them, or \`node ${relative(process.cwd(), join(root, "scripts", "stale-caches.mjs")) || "scripts/stale-caches.mjs"} --remove\`.`);
  process.exit(1);
}
