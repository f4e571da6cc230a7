// The browser provider keeps AES-GCM out of the first download: it is loaded
// when a connection asks for cipher "AESGCM", and not before.
import { describe, expect, it } from "vitest";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";

const KEY = new Uint8Array(32).fill(7);
const EMPTY = new Uint8Array(0);

describe("noble's AES-GCM, loaded on demand", () => {
  it("is not loaded until prepared for AESGCM; ChaChaPoly needs nothing loaded", async () => {
    expect(() => nobleCryptoProvider.aesGcmSeal(KEY, 0, EMPTY, EMPTY)).toThrow(/not loaded yet/);
    expect(nobleCryptoProvider.prepare?.("ChaChaPoly")).toBeUndefined();
    const loading = nobleCryptoProvider.prepare?.("AESGCM");
    expect(loading).toBeInstanceOf(Promise);
    await loading;
    expect(nobleCryptoProvider.prepare?.("AESGCM")).toBeUndefined();
    const plain = new TextEncoder().encode("loaded when asked");
    const sealed = nobleCryptoProvider.aesGcmSeal(KEY, 3, EMPTY, plain);
    expect(nodeCryptoProvider.aesGcmOpen(KEY, 3, EMPTY, sealed)).toEqual(plain);
  });
});
