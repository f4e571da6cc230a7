export { PlaygroundProvider, YJS_KIND, DEFAULT_MAX_UPDATE_SIZE, DEFAULT_MAX_PENDING_SIZE, DEFAULT_SYNC_ANSWER_INTERVAL_MS, DEFAULT_SYNC_ANSWER_BYTES_PER_SECOND } from "./playground-provider.js";
export type { PlaygroundProviderOptions } from "./playground-provider.js";
export { YJS_ERROR_CODES, YjsError } from "./errors.js";
export type { YjsErrorCode } from "./errors.js";
