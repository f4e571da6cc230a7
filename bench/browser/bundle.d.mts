/** A chunk split off by a dynamic `import()`. */
export interface LazyChunk {
  fileName: string;
  bytes: number;
  gzipBytes: number;
  /** The modules it holds (absolute paths). */
  modules: string[];
  /** The modules whose `import()` loads it. */
  loadedBy: string[];
}

/** What {@link bundleForBrowser} resolves with. */
export interface BrowserBundle {
  /** The entry chunk's code (with `split: false`, the whole bundle). */
  code: string;
  /** The entry chunk's source map (with `sourcemap: true`). */
  map?: { sources: string[]; mappings: string };
  chunks: number;
  /** Minified (and gzipped) bytes of what a page loads first: the entry and its static imports. */
  bytes: number;
  gzipBytes: number;
  /** The chunks loaded later, by `import()`. */
  lazyChunks: LazyChunk[];
  /** Node built-ins (`node:fs`, `os`...) something in the graph tried to import. */
  builtins: string[];
  /** Every module id loaded (absolute paths). */
  modules: string[];
  /** Rendered (pre-minify) length per module loaded first, largest first. */
  moduleSizes: [string, number][];
  /** Rendered (pre-minify) code per module loaded first. */
  moduleCode: [string, string][];
}

/** Bundles `code` (an ES module's source) for browsers with Vite, in memory. */
export function bundleForBrowser(options: { root: string; code: string; source?: boolean; minify?: boolean; split?: boolean; sourcemap?: boolean }): Promise<BrowserBundle>;
