// Bundles an entry for browsers with Vite (as an app using @xppg/node in a
// page would), in memory. Used by the size report and the bundle test.
import { isBuiltin } from "node:module";
import { gzipSync } from "node:zlib";
import { build, defaultClientConditions } from "vite";

/**
 * Builds `entry` (a file, or a bare specifier through `code`) as one ES module
 * for browsers. `source: true` resolves the workspace packages to their
 * TypeScript sources (as the tests do); otherwise to their built `dist/`.
 * Resolves with the code, its minified and gzipped sizes, the Node
 * built-ins anything tried to import, and the modules it holds.
 */
export async function bundleForBrowser({ root, code, source = false, minify = true }) {
  const builtins = new Set();
  const modules = new Set();
  const result = await build({
    configFile: false,
    logLevel: "silent",
    root,
    resolve: { conditions: [...(source ? ["source"] : []), ...defaultClientConditions] },
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
      lib: { entry: "virtual:xppg-entry", formats: ["es"], fileName: "xppg" },
      reportCompressedSize: false,
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const chunks = outputs.filter((o) => o.type === "chunk");
  const text = chunks.map((c) => c.code).join("\n");
  const bytes = Buffer.from(text);
  return {
    code: text,
    chunks: chunks.length,
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes, { level: 9 }).length,
    builtins: [...builtins],
    modules: [...modules],
    /** Rendered (pre-minify) length per module, largest first. */
    moduleSizes: chunks
      .flatMap((c) => Object.entries(c.modules).map(([id, m]) => [id, m.renderedLength]))
      .sort((a, b) => b[1] - a[1]),
  };
}
