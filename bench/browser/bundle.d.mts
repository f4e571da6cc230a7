/** What {@link bundleForBrowser} resolves with. */
export interface BrowserBundle {
  code: string;
  chunks: number;
  bytes: number;
  gzipBytes: number;
  /** Node built-ins (`node:fs`, `os`...) something in the graph tried to import. */
  builtins: string[];
  /** Every module id loaded (absolute paths). */
  modules: string[];
  /** Rendered (pre-minify) length per module, largest first. */
  moduleSizes: [string, number][];
}

/** Bundles `code` (an ES module's source) for browsers with Vite, in memory. */
export function bundleForBrowser(options: { root: string; code: string; source?: boolean; minify?: boolean }): Promise<BrowserBundle>;
