// What a page of the browser bench fetched: the files of the split build its
// server served, each with what it is (the entry, a chunk loaded first, or
// the code whose `import()` loads it) and its bytes, minified and gzipped on
// its own (as bench/browser/size.mjs counts them).
import { relative } from "node:path";
import { gzipBytes } from "./bundle.mjs";

/** A module's short name: `node/browser/connection-manager` for `<root>/packages/node/dist/browser/connection-manager.js`. */
export function moduleName(id, root) {
  return relative(root, id)
    .replace(/^packages\/([^/]+)\/(?:dist|src)\//, "$1/")
    .replace(/\.[cm]?[jt]s$/, "");
}

/** A file's name without its folder and hash: `protocol` for `assets/protocol-JOoZ5wbQ.js`. */
export function chunkName(fileName) {
  return fileName.replace(/^.*\//, "").replace(/-[\w-]{8}\.js$/, "");
}

/**
 * The files a page may fetch, by URL path (`/assets/...js`): for each, its
 * name, what it is (`what`), and its minified and gzipped bytes. `bundle` is
 * what `bundleForBrowser` resolved with; `root` the checkout it was built from.
 */
export function servedFiles(bundle, root) {
  const loadedBy = new Map(bundle.lazyChunks.map((c) => [c.fileName, c.loadedBy.map((id) => moduleName(id, root))]));
  const what = (f) => {
    if (f.isEntry) return "entry";
    const by = loadedBy.get(f.fileName) ?? [];
    if (by.length > 0) return `import() in ${by.join(", ")}`;
    const importers = bundle.files.filter((o) => o.imports.includes(f.fileName));
    const names = importers.map((o) => (o.isEntry ? "the entry" : chunkName(o.fileName))).join(", ");
    // Not in lazyChunks: a chunk the entry imports statically, loaded first.
    if (!loadedBy.has(f.fileName)) return `loaded first, imported by ${names}`;
    return `shared by ${names}`;
  };
  return new Map(bundle.files.map((f) => [`/${f.fileName}`, { fileName: f.fileName, name: chunkName(f.fileName), what: what(f), minifiedBytes: Buffer.byteLength(f.code), gzipBytes: gzipBytes(f.code) }]));
}

/**
 * The scripts among `paths` (URL paths a page requested, in order), each
 * once, and their totals; paths that are not files of the build (the page,
 * a favicon) are left out.
 */
export function fetchedScripts(paths, served) {
  const scripts = [...new Set(paths)].filter((p) => served.has(p)).map((p) => served.get(p));
  return {
    scripts,
    minifiedBytes: scripts.reduce((n, s) => n + s.minifiedBytes, 0),
    gzipBytes: scripts.reduce((n, s) => n + s.gzipBytes, 0),
  };
}
