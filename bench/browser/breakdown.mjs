// What the browser entry's first load is made of, module by module: the
// minified bytes each source file became and its share of the gzipped bytes.
// Built as size.mjs builds it, with a source map that says which source file
// each minified byte came from.
//
//   pnpm run build && node bench/browser/breakdown.mjs          (the entry, as size.mjs measures it)
//   node bench/browser/breakdown.mjs --web-chat                 (the web chat's page: what it loads at start)
//   node bench/browser/breakdown.mjs --json
//
// How gzipped bytes are shared out: the minified code is cut into runs of
// bytes from one source file, in order, and deflated as one stream with a
// flush after each run; what the stream grew by during a run is that run's
// cost, with what came before as its dictionary (as in the real file). The
// flushes cost some bytes of their own, so the costs are scaled to the real
// gzipped size; a module's share is then within a few percent.
import { relative, resolve } from "node:path";
import { constants, createDeflateRaw, gzipSync } from "node:zlib";
import { bundleForBrowser } from "./bundle.mjs";
import { ENTRY_CODE } from "./size.mjs";

const repoRoot = resolve(import.meta.dirname, "../..");
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes a source map's `mappings`: per generated line, [column, source index] of each segment. */
function decodeMappings(mappings) {
  const lines = [];
  let source = 0;
  for (const line of mappings.split(";")) {
    const segments = [];
    let column = 0;
    for (const segment of line.split(",")) {
      if (segment === "") continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = shift = 0;
        }
      }
      column += fields[0];
      if (fields.length >= 4) {
        source += fields[1];
        segments.push([column, source]);
      } else segments.push([column, -1]);
    }
    lines.push(segments);
  }
  return lines;
}

/** Short names: `node/src/mesh/plumtree.ts`, `@noble/curves/abstract/edwards.js`. */
function shortName(path) {
  const rel = relative(repoRoot, path);
  const lib = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(rel);
  if (lib) return lib[1];
  return rel.replace(/^packages\//, "").replace(/\/(src|dist)\//, "/");
}

/** The runs of one source file in `code`, in order: [source name, text]. */
function runsOf(code, map, outDir) {
  const sources = map.sources.map((s) => shortName(resolve(outDir, s)));
  const lines = decodeMappings(map.mappings);
  const codeLines = code.split("\n");
  const runs = [];
  const push = (name, text) => {
    if (text.length === 0) return;
    const last = runs.at(-1);
    if (last && last[0] === name) last[1] += text;
    else runs.push([name, text]);
  };
  codeLines.forEach((text, i) => {
    const segments = lines[i] ?? [];
    let at = 0;
    let name = runs.at(-1)?.[0] ?? "(no source: bundler glue)";
    for (const [column, source] of segments) {
      push(name, text.slice(at, column));
      at = column;
      if (source >= 0) name = sources[source];
    }
    push(name, text.slice(at) + (i < codeLines.length - 1 ? "\n" : ""));
  });
  return runs;
}

/** Deflates the runs as one stream, flushing after each, and resolves with each run's compressed bytes. */
async function costOfRuns(runs) {
  const deflate = createDeflateRaw({ level: 9 });
  let produced = 0;
  deflate.on("data", (d) => (produced += d.length));
  const costs = [];
  for (const [, text] of runs) {
    const before = produced;
    deflate.write(text);
    await new Promise((done) => deflate.flush(constants.Z_SYNC_FLUSH, done));
    costs.push(produced - before);
  }
  deflate.end();
  return costs;
}

/** Bundles `code` as size.mjs does and shares the first load's bytes out by source module. */
export async function breakdown({ root = resolve(repoRoot, "packages/node"), code = ENTRY_CODE } = {}) {
  const bundle = await bundleForBrowser({ root, code, sourcemap: true });
  // The code as served: without the comment that points at the map.
  const served = bundle.code.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "");
  const runs = runsOf(served, bundle.map, resolve(root, "dist", "assets"));
  const costs = await costOfRuns(runs);
  const entryGzip = gzipSync(Buffer.from(served), { level: 9 }).length;
  const flushed = costs.reduce((a, b) => a + b, 0);
  const byModule = new Map();
  runs.forEach(([name, text], i) => {
    const m = byModule.get(name) ?? { module: name, minifiedBytes: 0, gzipBytes: 0 };
    m.minifiedBytes += Buffer.byteLength(text);
    m.gzipBytes += (costs[i] * entryGzip) / flushed;
    byModule.set(name, m);
  });
  const modules = [...byModule.values()].map((m) => ({ ...m, gzipBytes: Math.round(m.gzipBytes) })).sort((a, b) => b.gzipBytes - a.gzipBytes);
  return {
    entryMinifiedBytes: Buffer.byteLength(served),
    entryGzipBytes: entryGzip,
    firstLoadGzipBytes: bundle.gzipBytes,
    lazyChunks: bundle.lazyChunks.map((c) => ({ fileName: c.fileName, gzipBytes: c.gzipBytes, modules: c.modules.map(shortName) })),
    modules,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const webChat = process.argv.includes("--web-chat");
  const r = await breakdown(webChat ? { root: resolve(repoRoot, "apps/web-chat/src"), code: `import ${JSON.stringify(resolve(repoRoot, "apps/web-chat/src/main.ts"))};` } : {});
  if (process.argv.includes("--json")) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(`${webChat ? "The web chat's page" : "@xppg/node's browser entry"}: entry chunk ${r.entryMinifiedBytes} bytes minified, ${r.entryGzipBytes} gzipped; first load (entry and its static imports) ${r.firstLoadGzipBytes} gzipped`);
    const byPackage = new Map();
    for (const m of r.modules) {
      const pkg = /^(@[^/]+\/[^/]+|apps\/[^/]+|[^/]+)/.exec(m.module)?.[1] ?? m.module;
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + m.gzipBytes);
    }
    console.log("By package (gzipped bytes):");
    for (const [pkg, n] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${pkg}`);
    console.log("By module (gzipped bytes, minified bytes):");
    for (const m of r.modules) console.log(`  ${String(m.gzipBytes).padStart(7)} ${String(m.minifiedBytes).padStart(8)}  ${m.module}`);
    for (const c of r.lazyChunks) console.log(`Chunk loaded later: ${c.fileName} ${c.gzipBytes} gzipped (${c.modules.join(", ")})`);
  }
}
