// Types of smaps.mjs, for its tests (bench/test) and the type-aware lint.

/** Resident bytes by part of an smaps file (`/proc/self/smaps` unless told), read and parsed as bytes. */
export declare function smapsParts(path?: string): { node: number; anon: number; malloc: number; addons: number };
