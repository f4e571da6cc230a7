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

/** A file of the build, as a server serves it. */
export interface BuiltFile {
  /** Its path in the build (`assets/...js`); the `import()`s in other files name it relative to theirs. */
  fileName: string;
  code: string;
  isEntry: boolean;
  /** The files it imports statically, and by `import()`. */
  imports: string[];
  dynamicImports: string[];
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
  /** Every file of the build, the entry first. */
  files: BuiltFile[];
  /** Node built-ins (`node:fs`, `os`...) something in the graph tried to import. */
  builtins: string[];
  /** Every module id loaded (absolute paths). */
  modules: string[];
  /** Rendered (pre-minify) length per module loaded first, largest first. */
  moduleSizes: [string, number][];
  /** Rendered (pre-minify) code per module loaded first. */
  moduleCode: [string, string][];
}

/** A file's bytes gzipped as a server sends it: on its own, level 9. */
export function gzipBytes(code: string): number;

/** Bundles `code` (an ES module's source) for browsers with Vite, in memory. */
export function bundleForBrowser(options: { root: string; code: string; source?: boolean; minify?: boolean; split?: boolean; sourcemap?: boolean; mode?: "production" | "development" }): Promise<BrowserBundle>;
