// The provider a page's channels run on: noble's ChaCha20-Poly1305 (WebCrypto
// has none) and AES-GCM, each loaded only when a handshake chooses it (see
// `prepare`), so that neither is in a page's first download. A page's node
// signs, checks and agrees keys with `pageCrypto()` (`web-crypto.ts`),
// asynchronously: this provider's synchronous Ed25519, X25519 and SHA-256
// are not in its download.
import type { CryptoProvider } from "./provider.js";
import { ERROR_TEXTS } from "@xppg/errors";

let aesGcm: typeof import("./noble-aes-gcm.js") | undefined;
let chacha: typeof import("./noble-chacha.js") | undefined;

/** Loads noble's ChaCha20-Poly1305 (a handshake that chooses ChaChaPoly does it itself, through `prepare`). */
export async function loadNobleChaCha(): Promise<void> {
  chacha ??= await import("./noble-chacha.js");
}

/**
 * What a cipher's call says before its code is loaded. (Its short form in a page's production build is a plain
 * string, not `valuesMessage`: an import of it here makes the bundler split @xppg/errors' error module into a chunk
 * of its own, a second script every page loads.)
 */
function notLoaded(cipher: string): never {
  throw new Error(ERROR_TEXTS ? `noble's ${cipher} is not loaded yet: await cryptoProvider.prepare("${cipher}") first (secureConnection does it itself)` : `${cipher} not loaded`);
}

function loadedChaCha(): typeof import("./noble-chacha.js") {
  return chacha ?? notLoaded("ChaChaPoly");
}

/**
 * Loads noble's AES-GCM, which is kept out of the first download: the node
 * and the default cipher never use it. `secureConnection` with
 * `cipher: "AESGCM"` loads it itself (through `prepare`); call this before
 * using the provider's `aesGcmSeal`/`aesGcmOpen` directly.
 */
export async function loadNobleAesGcm(): Promise<void> {
  aesGcm ??= await import("./noble-aes-gcm.js");
}

function loadedAesGcm(): typeof import("./noble-aes-gcm.js") {
  return aesGcm ?? notLoaded("AESGCM");
}

function asynchronousHere(): never {
  throw new Error(ERROR_TEXTS ? "a page's channel provider signs and agrees keys asynchronously, through pageCrypto()" : "use pageCrypto()");
}

/** A page's channel provider: the record ciphers, each loaded by `prepare`; its key and signature methods throw. */
export const pageChannelProvider: CryptoProvider = {
  name: "noble",
  randomBytes: (length) => globalThis.crypto.getRandomValues(new Uint8Array(length)),
  ed25519Signer: asynchronousHere,
  ed25519Verify: asynchronousHere,
  x25519Generate: asynchronousHere,
  x25519PublicKey: asynchronousHere,
  x25519: asynchronousHere,
  sha256: asynchronousHere,
  hmacSha256: asynchronousHere,
  seal: (key, counter, ad, plaintext) => loadedChaCha().chachaSeal(key, counter, ad, plaintext),
  open: (key, counter, ad, ciphertext) => loadedChaCha().chachaOpen(key, counter, ad, ciphertext),
  aesGcmSeal: (key, counter, ad, plaintext) => loadedAesGcm().aesGcmSeal(key, counter, ad, plaintext),
  aesGcmOpen: (key, counter, ad, ciphertext) => loadedAesGcm().aesGcmOpen(key, counter, ad, ciphertext),
  prepare: (cipher) => (cipher === "AESGCM" ? (aesGcm === undefined ? loadNobleAesGcm() : undefined) : chacha === undefined ? loadNobleChaCha() : undefined),
  defer: (fn) => queueMicrotask(fn),
};
