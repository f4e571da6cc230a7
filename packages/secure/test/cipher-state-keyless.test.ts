// The transport-only methods of a CipherState (encryptParts, encryptInto,
// decryptInto) need a key: called on a state that has none (before the
// handshake's split, or after initializeKey(null)) they throw
// XPPG_ERR_INVALID_KEY and take no nonce, on every provider, rather than
// sealing with no key or failing somewhere inside the provider.
import { describe, expect, it } from "vitest";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { loadSodiumAead } from "../src/crypto/sodium-loader.js";
import { sodiumCryptoProvider } from "../src/crypto/sodium-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { SECURE_ERROR_CODES, SecureError } from "../src/index.js";
import { CipherState } from "../src/noise/cipher-state.js";

const sodium = loadSodiumAead();
const providers: Array<[string, CryptoProvider]> = [
  ["node", nodeCryptoProvider],
  ["noble", nobleCryptoProvider],
  ...(sodium === null ? [] : [["sodium", sodiumCryptoProvider(sodium)] as [string, CryptoProvider]]),
];

/** The error `fn` throws (undefined when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("a CipherState without a key", () => {
  for (const [name, provider] of providers) {
    for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
      it(`${name}, ${cipher}: encryptParts, encryptInto and decryptInto throw XPPG_ERR_INVALID_KEY and take no nonce`, async () => {
        await provider.prepare?.(cipher);
        const fresh = new CipherState(provider, null, cipher);
        const cleared = new CipherState(provider, new Uint8Array(32).fill(1), cipher);
        cleared.initializeKey(null);
        for (const state of [fresh, cleared]) {
          const bytes = new Uint8Array(40);
          const calls: Array<[string, () => unknown]> = [
            ["encryptParts", () => state.encryptParts(bytes)],
            ["encryptInto", () => state.encryptInto(bytes, bytes, new Uint8Array(16))],
            ["decryptInto", () => state.decryptInto(bytes, new Uint8Array(16), bytes)],
          ];
          for (const [method, call] of calls) {
            const error = thrown(call);
            expect(error, method).toBeInstanceOf(SecureError);
            expect((error as SecureError).code, method).toBe(SECURE_ERROR_CODES.INVALID_KEY);
            expect((error as SecureError).message, method).toContain(`CipherState.${method} needs a key`);
          }
          expect(state.nonce).toBe(0);
          // The handshake's keyless use is unchanged: encryption is the identity.
          expect(state.encryptWithAd(new Uint8Array(0), bytes)).toBe(bytes);
        }
      });
    }
  }
});
