// The Node build of a package, run by its `build` script after `tsc -b`
// (from the package's folder): each Node entry point of its `exports` map
// (an entry's `node` target, `./dist/bundle/<name>.js`) bundled from the
// entry's `source` file with esbuild, in one build so that the entries
// share their modules. A fresh process then reads a few files instead of
// one per module (about half a millisecond each on Node 20, which has no
// compile cache): issue 15, the first connection in a fresh process.
//
// - Code splitting: a module loaded by `import()` (an optional room) stays
//   a chunk of its own, loaded when first asked for.
// - Every package import stays external: third-party ones and the other
//   `@xppg/*` packages, so an application's dedupe and a swapped package
//   still work. The package's own `#` imports resolve here, to their Node
//   sources (the `source` condition, without `browser`). Each other `@xppg/*`
//   package is imported by one file of the bundle, which the others take its
//   names from (`externalPackages` below).
// - Source maps (`dist/bundle/*.js.map`) point to `src/`, which is
//   published: `node --enable-source-maps` shows the sources in traces.
// - The browser build is tsc's `dist/` (the `browser` and `import`
//   conditions), as before; the `.d.ts` files are tsc's too.
//
// - Whitespace and syntax are minified (names are kept): V8 reads every byte
//   of a module when it loads it, and the comments and layout were a third
//   of the bytes. The source maps still point to `src/`.
//
// - In a package with a warm-up (`scripts/warm-up/<folder>.mjs`), the files
//   its main entry loads at start become classic scripts behind an ES module
//   facade, with a V8 code cache made here after the warm-up
//   (node-script.mjs and code-cache.mjs say how and why).
//
//   node ../../scripts/bundle-node.mjs          (what `build` runs)
//   node ../../scripts/bundle-node.mjs --check  (the exports map only)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { nodeEntries } from "./node-entries.mjs";
import { importedNames, reExport } from "./package-imports.mjs";
import { packagePath, removeCaches, replace, startFiles, toScript, warmUpScript, withSources } from "./node-script.mjs";

const dir = resolve(process.cwd());
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const entries = nodeEntries(pkg);
if (process.argv.includes("--check")) process.exit(0);

const OUT = join(dir, "dist", "bundle");
if (entries.length === 0) {
  rmSync(OUT, { recursive: true, force: true });
  process.exit(0);
}

const WARM_UP = warmUpScript(dir);
/** The namespace of the re-exporting modules (`externalPackages`), and how a source map names them. */
const EXT = "xppg-ext";
const outputs = await withEsbuild();

async function withEsbuild() {
  const { build } = await import("esbuild");
  const options = {
    absWorkingDir: dir,
    entryPoints: entries.map((e) => join(dir, e.source)),
    outbase: join(dir, "src"),
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // `#` imports take their Node source; the `browser` condition is off on platform node.
    conditions: ["source"],
    tsconfig: join(dir, "tsconfig.json"),
    // Bare specifiers (packages, built-ins) stay imports; `#` and relative ones are bundled.
    plugins: [{ name: "external-packages", setup: (b) => b.onResolve({ filter: /^[^./#]/ }, (args) => ({ path: args.path, external: true })) }],
    // Fewer bytes for V8 to scan at load; identifiers are left alone (class names are error names, see below).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    entryNames: "[dir]/[name]",
    chunkNames: "[name]-[hash]",
    logLevel: "warning",
    write: false,
  };
  // A first build with every package import left as it is tells which names of each other `@xppg/*` package the
  // package takes; the second takes them through one module each (`externalPackages`).
  const used = importedNames((await build({ ...options, sourcemap: false, metafile: false })).outputFiles);
  const result = await build({ ...options, plugins: [{ name: "external-packages", setup: (b) => externalPackages(b, used) }] });
  // Each file replaced by a rename, never emptied first, and stale ones removed after: a process that loads
  // the bundle while it is rebuilt (a test's child on a loaded machine) finds the old file or the new one.
  const written = new Set();
  for (const { path, contents } of result.outputFiles) {
    mkdirSync(dirname(path), { recursive: true });
    // A map names each re-exporting module `xppg-ext:<package>`, a file nowhere: it carries that module's text.
    const made = (source) => (source.startsWith(`${EXT}:`) ? reExport(source.slice(EXT.length + 1), used.get(source.slice(EXT.length + 1))) : null);
    replace(path, path.endsWith(".map") ? withSources(new TextDecoder().decode(contents), made) : contents);
    for (let p = path; p.startsWith(OUT) && p !== OUT; p = dirname(p)) written.add(p);
  }
  // The bundle folder's own package.json: Node's ES module loader looks up the package scope of every file it loads
  // and of every file that imports a package (its type, a self-reference), walking up one folder at a time from the
  // file (each step a URL, a path and a package.json lookup): from `dist/bundle/` that walk found the package's own
  // package.json two folders up, and a fresh process walked about 270 steps for the bundles a first connection
  // loads; with this one, about 90. It says what the package's says of these files (ES modules, the same
  // `sideEffects` for bundlers) and nothing else: no name, so no self-reference from here (the bundles import none).
  if (pkg.sideEffects !== undefined && typeof pkg.sideEffects !== "boolean") {
    throw new Error(`${pkg.name}: sideEffects is a list, whose paths the bundle folder's own package.json would have to rewrite: make it a boolean or teach bundle-node.mjs the lists`);
  }
  const scope = join(OUT, "package.json");
  replace(scope, `${JSON.stringify({ type: "module", ...(pkg.sideEffects === undefined ? {} : { sideEffects: pkg.sideEffects }) })}\n`);
  written.add(scope);
  // A package with a warm-up: the files its main entry loads at start become scripts with a code cache (node-script.mjs).
  const main = entries.find((e) => e.subpath === ".");
  if (main !== undefined && existsSync(WARM_UP)) {
    for (const file of startFiles(dir, result.metafile, main.source)) {
      // The script's name in stack traces: the same wherever the package is installed (node-script.mjs).
      const scriptName = `${pkg.name}/${packagePath(dir, file).replace(/\.js$/, ".script.js")}`;
      const dynamicImports = result.metafile.outputs[packagePath(dir, file)].imports.filter((i) => i.kind === "dynamic-import").length;
      for (const path of await toScript(file, build, scriptName, dynamicImports)) written.add(path);
    }
  }
  for (const entry of readdirSync(OUT, { recursive: true })) {
    const path = join(OUT, String(entry));
    // Old code caches go too: every build that keeps scripts makes them again after (code-cache.mjs), or makes none.
    if (!written.has(path)) rmSync(path, { recursive: true, force: true });
  }
  const sources = Object.keys(result.metafile.inputs).map((f) => join(dir, f));
  return [...written].filter((f) => f.endsWith(".js")).map((file) => ({ file, sources }));
}

// Bare specifiers stay imports. Node resolves a specifier once per importing file, and a package's name (its
// folder, its package.json, its exports map) costs about 0.6 M instructions: a package's chunks each importing
// `@xppg/errors` resolved it once each (16 of a fresh dialler's 38 such resolutions repeated one). So every static
// import of another `@xppg/*` package goes through one module of this build (`xppg-ext:`) that re-exports by name
// what the package takes from it; esbuild puts that module in a chunk the importers share, and they take the names
// from that chunk, mostly one they import anyway (@xppg/node has one small chunk more). The bindings are the other
// package's own (`export { a } from` links to the exporting module) and it is still imported by name, so a deduped
// or swapped package still works. `import()` of a package stays as it is (a module of its own would be a chunk).
function externalPackages(b, used) {
  b.onResolve({ filter: /^@xppg\// }, (args) => {
    // A package imported whole somewhere (`import *`, `export *`, a default) or by `import()` is left as it was.
    if (args.namespace === EXT || args.kind !== "import-statement" || !used.has(args.path)) return { path: args.path, external: true };
    return { path: args.path, namespace: EXT };
  });
  b.onResolve({ filter: /^[^./#]/ }, (args) => ({ path: args.path, external: true }));
  // Only the names the package takes, as its imports named them before: a package of another version that lacks one
  // it does not use still links.
  b.onLoad({ filter: /.*/, namespace: EXT }, (args) => ({
    contents: reExport(args.path, used.get(args.path)),
    loader: "js",
    resolveDir: dir,
  }));
}

// Error classes take their `name` from the class (`new.target.name`), and a
// class in a bundle is named by the variable esbuild gives it, renamed only
// when two modules' top-level names clash (`Foo` becomes `Foo2`): refuse that
// rather than ship a wrong name (esbuild's `keepNames` would fix it, at the
// cost of a helper call per function and class at load, and one more file).
const declared = new Set(
  [...new Set(outputs.flatMap((o) => o.sources))].filter((f) => f.endsWith(".ts")).flatMap((f) => [...readFileSync(f, "utf8").matchAll(/\bclass\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1])),
);
for (const { file } of outputs) {
  // A script's own file is not written (node-script.mjs): its facade carries its source, checked here.
  if (!existsSync(file)) continue;
  const code = readFileSync(file, "utf8");
  // Minified, a class is `X=class`, in a declaration list or not, or `class X{` / `class X extends`, anywhere on a line.
  for (const m of code.matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)\s*=\s*class\b|(?<![\w$.])class\s+([A-Za-z_$][\w$]*)\s*(?:\{|extends\b)/g)) {
    const name = m[1] ?? m[2];
    if (!declared.has(name)) {
      throw new Error(`${pkg.name}: the bundle ${file.slice(dir.length + 1)} names a class ${name}, a name no source declares (two modules' classes clash). Rename one of them.`);
    }
  }
}

// The scripts' code caches, made after a warm-up in a fresh process (code-cache.mjs). Without NODE_OPTIONS: V8 flags
// given there would be part of the cache, and a process without them would reject it.
// The Node version is in the build's hash only as XPPG_NODE_VERSION (the root scripts set it): a build run without it,
// or under another Node, makes no caches, so that a cached build never holds caches not made by the Node it is keyed on.
const keyedOnThisNode = process.env.XPPG_NODE_VERSION === process.version;
if (outputs.some((o) => o.file.endsWith(".script.js")) && !keyedOnThisNode) {
  removeCaches(OUT);
  console.warn(`warning: ${pkg.name}: no code caches (XPPG_NODE_VERSION is ${process.env.XPPG_NODE_VERSION ?? "unset"}, this Node ${process.version}): build with \`pnpm run build\` from the repository root to make them.`);
} else if (outputs.some((o) => o.file.endsWith(".script.js"))) {
  const { NODE_OPTIONS: _, ...env } = process.env;
  // A warm-up that fails or stalls (no loopback, a handshake that never ends) leaves the package without caches, with
  // a warning: the scripts run as they are, compiled at run time. The build never waits longer than this.
  try {
    execFileSync(process.execPath, [join(import.meta.dirname, "code-cache.mjs"), dir], { stdio: "inherit", env, timeout: 120_000, killSignal: "SIGKILL" });
  } catch (e) {
    removeCaches(OUT);
    console.warn(`warning: ${pkg.name}: no code caches (the warm-up ${e.code === "ETIMEDOUT" ? "did not finish within 120 s" : "failed"}): the package works, its first connection compiles more. Check that loopback works and build again.`);
  }
}
