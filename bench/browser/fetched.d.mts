// Types of fetched.mjs, for its tests (bench/test) and the type-aware lint.
import type { BrowserBundle } from "./bundle.mjs";

/** A file of the build as the bench's server serves it. */
export interface ServedFile {
  fileName: string;
  /** Its name without folder and hash (`connection-manager`). */
  name: string;
  /** `entry`, `loaded first, imported by ...`, `import() in <module>` or `shared by ...`. */
  what: string;
  minifiedBytes: number;
  gzipBytes: number;
}

/** A module's short name: `node/browser/connection-manager` for `<root>/packages/node/dist/browser/connection-manager.js`. */
export function moduleName(id: string, root: string): string;
/** A file's name without its folder and hash. */
export function chunkName(fileName: string): string;
/** The files of `bundle` by URL path (`/assets/...js`). */
export function servedFiles(bundle: Pick<BrowserBundle, "files" | "lazyChunks">, root: string): Map<string, ServedFile>;
/** The build's files among `paths`, each once, in order, with their totals. */
export function fetchedScripts(paths: readonly string[], served: Map<string, ServedFile>): { scripts: ServedFile[]; minifiedBytes: number; gzipBytes: number };
