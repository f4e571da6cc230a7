export { FILES_ERROR_CODES, FilesError } from "./errors.js";
export type { FilesErrorCode } from "./errors.js";
export { FileSwarm } from "./swarm.js";
export type { DownloadOptions, DownloadProgress, DownloadResult, FileSwarmOptions, SharedContent } from "./swarm.js";
export type { FilesHost, FilesHostListener } from "./host.js";
export { buildManifest, parseManifest, chunkSizeFor } from "./manifest.js";
export type { Manifest, ManifestLimits } from "./manifest.js";
export { safeFileName } from "./safe-name.js";
export { placeUnique } from "./place.js";
