import type * as NodeCrypto from "node:crypto";

/**
 * `node:crypto`, loaded at its first use instead of with the package: loading
 * it costs about 3 to 4 ms of CPU in a fresh process (issue 15, the first
 * connection), and a node on the `sodium` provider makes its first
 * connection without it (keys, signing, hashing, the handshake's ciphers and
 * random bytes are libsodium's). Taken with `process.getBuiltinModule`, as
 * `@xppg/state`'s store takes `node:zlib`: the same object a `require` or an
 * `import` of it gives.
 */
type NodeCryptoModule = typeof NodeCrypto;

let loaded: NodeCryptoModule | undefined;

/** The `node:crypto` module, loaded on the first call. */
export function nodeCrypto(): NodeCryptoModule {
  return (loaded ??= process.getBuiltinModule("node:crypto"));
}

/** `node:crypto`'s function `name`, looked up when it is first called (so naming it loads nothing). */
export function lazyNodeCrypto<K extends keyof NodeCryptoModule>(name: K): NodeCryptoModule[K] {
  let fn: ((...args: unknown[]) => unknown) | undefined;
  return ((...args: unknown[]) => (fn ??= nodeCrypto()[name] as (...args: unknown[]) => unknown)(...args)) as NodeCryptoModule[K];
}
