/** The size the browser entry aims to stay under, minified and gzipped, in bytes. */
export const TARGET_GZIP_BYTES: number;
/** The most the first load may weigh today, minified and gzipped, in bytes. */
export const CEILING_GZIP_BYTES: number;
/** The measured entry's code: everything `@xppg/node` exports, kept alive. */
export const ENTRY_CODE: string;

/** What {@link measureBrowserEntry} resolves with. */
export interface BrowserEntrySize {
  minifiedBytes: number;
  gzipBytes: number;
  targetGzipBytes: number;
  ceilingGzipBytes: number;
  builtins: string[];
  /** Each package's share of the gzipped first load, in bytes, largest first. */
  gzipShareByPackage: Record<string, number>;
  lazyChunks: { fileName: string; minifiedBytes: number; gzipBytes: number; packages: string[]; loadedBy: string[] }[];
}

/** Bundles the browser entry from the built packages and measures it. */
export function measureBrowserEntry(): Promise<BrowserEntrySize>;
