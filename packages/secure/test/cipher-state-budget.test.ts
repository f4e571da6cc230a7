// An AES-GCM key seals at most AES_GCM_BYTE_BUDGET bytes (one direction of
// a connection), then refuses with XPPG_ERR_KEY_EXHAUSTED: tested with a
// small budget given to the constructor, on each way a record is sealed.
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { webCryptoAead } from "../src/crypto/web-crypto.js";
import { SECURE_ERROR_CODES } from "../src/index.js";
import { AES_GCM_BYTE_BUDGET, CipherState } from "../src/noise/cipher-state.js";
import { needsSodium, sodiumProvider } from "./sodium.js";

const KEY = new Uint8Array(32).fill(7);
const codeOfThrow = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe("an AES-GCM key's byte budget", () => {
  it("is 2^38 bytes by default", () => {
    expect(AES_GCM_BYTE_BUDGET).toBe(2 ** 38);
  });

  it("refuses the record past the budget with XPPG_ERR_KEY_EXHAUSTED, whichever way it is sealed, and the records within it open", () => {
    const one = new CipherState(nodeCryptoProvider, KEY, "AESGCM", 100);
    const peer = new CipherState(nodeCryptoProvider, KEY, "AESGCM", 100);
    const sealed = one.encryptWithAd(new Uint8Array(0), new Uint8Array(60));
    expect(peer.decryptWithAd(new Uint8Array(0), sealed)?.byteLength).toBe(60);
    expect(codeOfThrow(() => one.encryptWithAd(new Uint8Array(0), new Uint8Array(60)))).toBe(SECURE_ERROR_CODES.KEY_EXHAUSTED);

    // Sealed in parts and in place: the libsodium provider's ways.
    if (!needsSodium("the budget of records sealed in parts and in place (libsodium's ways)")) return;
    const sodium = sodiumProvider!;
    const parts = new CipherState(sodium, KEY, "AESGCM", 100);
    parts.encryptParts(new Uint8Array(100));
    expect(codeOfThrow(() => parts.encryptParts(new Uint8Array(1)))).toBe(SECURE_ERROR_CODES.KEY_EXHAUSTED);

    const inPlace = new CipherState(sodium, KEY, "ChaChaPoly", 50);
    const buf = new Uint8Array(40);
    inPlace.encryptInto(buf, buf, new Uint8Array(16));
    const error = (() => {
      try {
        inPlace.encryptInto(buf, buf, new Uint8Array(16));
      } catch (err) {
        return err as Error & { code?: string };
      }
    })();
    expect(error?.code).toBe(SECURE_ERROR_CODES.KEY_EXHAUSTED);
    expect(error?.message).toContain("open a new connection");
  });

  it("through an AEAD that answers later (a page's), the seal past the budget rejects, and takes no nonce", async () => {
    const aead = webCryptoAead(globalThis.crypto.subtle, nodeCryptoProvider);
    const c = new CipherState(nodeCryptoProvider, KEY, "AESGCM", 64);
    expect((await c.encryptWithAdAsync(aead, new Uint8Array(0), new Uint8Array(64))).byteLength).toBe(80);
    await expect(c.encryptWithAdAsync(aead, new Uint8Array(0), new Uint8Array(1))).rejects.toMatchObject({ code: SECURE_ERROR_CODES.KEY_EXHAUSTED });
    expect(c.nonce).toBe(1);
  });
});
