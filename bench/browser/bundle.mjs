// Bundles an entry for browsers with Vite (as an app using @xppg/node in a
// page would), in memory. Used by the size report, the bundle test and the
// pages of the browser tests and bench.
//
// It is an app build, not a library build: Vite leaves the whitespace in a
// library's ES output (for the tree shaking of the app that takes it in), so
// only an app build gives the bytes a page downloads. The entry keeps what it
// needs alive itself (`globalThis.x = ...`); an app build drops exports.
import { isBuiltin } from "node:module";
import { gzipSync } from "node:zlib";
import { build, defaultClientConditions } from "vite";

/** A file's bytes gzipped as a server sends it: on its own, level 9. */
export function gzipBytes(code) {
  return gzipSync(Buffer.from(code), { level: 9 }).length;
}

/**
 * Builds the module `code` for browsers, as the script of a page. `source: true` resolves the workspace packages to their
 * TypeScript sources (as the tests do); otherwise to their built `dist/`.
 * `sourcemap: true` gives the entry chunk's source map (`map`).
 * `mode` is `"production"` (a page's production build, the default, as `vite build` makes it: the `production`
 * condition, under which error texts are left out, see @xppg/errors' README) or `"development"` (the `development`
 * condition, as `vite dev` resolves: full error texts). Set here, not left to Vite: Vite takes the condition from
 * `process.env.NODE_ENV`, which its first build sets for the whole process and vitest sets to `test`.
 * `split: false` keeps code loaded by `import()` in the one file (for a test
 * page served as one script); by default it is split off, as an app's build does.
 * Resolves with the code, its minified and gzipped sizes, the Node
 * built-ins anything tried to import, the modules it holds, and every file
 * of the build (to serve a page the split build).
 */
export async function bundleForBrowser({ root, code, source = false, minify = true, split = true, sourcemap = false, mode = "production" }) {
  const builtins = new Set();
  const modules = new Set();
  const result = await build({
    configFile: false,
    logLevel: "silent",
    mode,
    root,
    resolve: { conditions: [...(source ? ["source"] : []), ...defaultClientConditions.map((c) => (c === "development|production" ? mode : c))] },
    plugins: [
      {
        name: "xppg-entry",
        enforce: "pre",
        resolveId(id) {
          if (id.endsWith("virtual:xppg-entry")) return "\0virtual:xppg-entry";
          if (isBuiltin(id)) builtins.add(id);
          return null;
        },
        load(id) {
          if (id === "\0virtual:xppg-entry") return code;
          modules.add(id);
          return null;
        },
      },
    ],
    build: {
      write: false,
      minify,
      target: "es2022",
      modulePreload: false,
      sourcemap,
      reportCompressedSize: false,
      rolldownOptions: { input: "virtual:xppg-entry", output: split ? {} : { codeSplitting: false } },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const chunks = outputs.filter((o) => o.type === "chunk");
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  // What a page loads first: the entry chunk and every chunk it imports statically.
  const initial = new Set();
  const visit = (c) => {
    if (initial.has(c)) return;
    initial.add(c);
    for (const name of c.imports) if (byName.has(name)) visit(byName.get(name));
  };
  visit(chunks.find((c) => c.isEntry));
  const modulesOf = (list) =>
    list
      .flatMap((c) => Object.entries(c.modules).map(([id, m]) => ({ id, renderedLength: m.renderedLength, code: m.code ?? "" })))
      .sort((a, b) => b.renderedLength - a.renderedLength);
  const sizes = (list) => ({
    bytes: list.reduce((n, c) => n + Buffer.byteLength(c.code), 0),
    // Each file is served gzipped on its own.
    gzipBytes: list.reduce((n, c) => n + gzipBytes(c.code), 0),
  });
  const first = [...initial];
  const entryModules = modulesOf(first);
  return {
    /** The entry chunk's code (with `split: false`, the whole bundle). */
    code: first[0].code,
    /** The entry chunk's source map, with `sourcemap: true`. */
    map: first[0].map ?? undefined,
    chunks: chunks.length,
    /** Minified and gzipped bytes of what a page that imports the entry loads first (the entry and its static imports). */
    ...sizes(first),
    /** The chunks split off by dynamic `import()`, loaded only when that code runs, and the modules whose `import()` loads each. */
    lazyChunks: chunks
      .filter((c) => !initial.has(c))
      .map((c) => ({
        fileName: c.fileName,
        ...sizes([c]),
        modules: modulesOf([c]).map((m) => m.id),
        // The modules whose code holds an `import()` of this chunk (its file name is still a placeholder after the chunk's name there).
        loadedBy: chunks.filter((o) => o.dynamicImports.includes(c.fileName)).flatMap((o) => Object.keys(o.modules).filter((id) => (o.modules[id].code ?? "").includes(`import("./${c.name}-`))),
      })),
    /** Every file of the build, the entry first: its name (paths in `import()` are relative to it), code and imports. */
    files: [...first, ...chunks.filter((c) => !initial.has(c))].map((c) => ({ fileName: c.fileName, code: c.code, isEntry: c.isEntry, imports: c.imports, dynamicImports: c.dynamicImports })),
    builtins: [...builtins],
    modules: [...modules],
    /** Rendered (pre-minify) length per module loaded first, largest first. */
    moduleSizes: entryModules.map((m) => [m.id, m.renderedLength]),
    /** Rendered (pre-minify) code per module loaded first. */
    moduleCode: entryModules.map((m) => [m.id, m.code]),
  };
}
