// Creates the skeleton of a workspace package: package.json, tsconfig.json,
// tsconfig.test.json and empty src/test folders. Usage:
//   node scripts/new-package.mjs <name> "<description>" [dep ...]
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...]');
  process.exit(2);
}
const dir = join("packages", name);
if (existsSync(join(dir, "package.json"))) {
  console.error(`${dir}/package.json exists already`);
  process.exit(1);
}
mkdirSync(join(dir, "src"), { recursive: true });
mkdirSync(join(dir, "test"), { recursive: true });
const dependencies = {};
const references = [];
for (const d of deps) {
  if (d.startsWith("@xppg/")) {
    dependencies[d] = "workspace:^";
    references.push({ path: `../${d.slice("@xppg/".length)}` });
  } else {
    const at = d.lastIndexOf("@");
    if (at > 0) dependencies[d.slice(0, at)] = d.slice(at + 1);
    else dependencies[d] = "*";
  }
}
const pkg = {
  name: `@xppg/${name}`,
  version: "0.1.0",
  description,
  license: "MIT",
  type: "module",
  sideEffects: false,
  exports: {
    ".": {
      source: "./src/index.ts",
      types: "./dist/index.d.ts",
      import: "./dist/index.js",
    },
  },
  files: ["dist", "src", "README.md"],
  engines: { node: ">=20.19" },
  scripts: {
    build: "tsc -b",
    typecheck: "tsc -p tsconfig.test.json",
    test: `vitest run --root ../.. --project ${name}`,
    "check:publish": "publint",
  },
  dependencies,
  repository: { type: "git", url: "git+https://example.invalid/xppg.git", directory: `packages/${name}` },
};
writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
      include: ["src"],
      references,
    },
    null,
    2,
  ) + "\n",
);
writeFileSync(
  join(dir, "tsconfig.test.json"),
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { composite: false, noEmit: true, rootDir: "." },
      include: ["src", "test"],
    },
    null,
    2,
  ) + "\n",
);
console.log(`created ${dir}`);
