// A CipherState keeps its key, nonce and AES-GCM byte budget private (#):
// code holding a state (a handshake's result, a record layer's) finds no
// method or property that reads the key, moves the nonce or raises the
// budget past XPPG_ERR_KEY_EXHAUSTED; and neither package entry exports the
// accessors the subclass uses.
import { describe, expect, it } from "vitest";
import * as pageEntry from "../src/browser.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import * as nodeEntry from "../src/index.js";
import { CipherStateBase } from "../src/noise/cipher-state-core.js";
import { CipherState } from "../src/noise/cipher-state.js";

/** Every name on a state and its prototypes, Object's own left out. */
function reachable(state: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = state; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  return [...names].sort();
}

describe("a cipher state's key, nonce and budget", () => {
  it("are out of reach of code that holds a Node CipherState", () => {
    const state = new CipherState(nodeCryptoProvider, new Uint8Array(32), "AESGCM", 100);
    expect(state).toBeInstanceOf(CipherStateBase);
    expect(reachable(state)).toEqual(["cipher", "constructor", "decryptInto", "decryptWithAd", "decryptWithAdAsync", "encryptInto", "encryptParts", "encryptWithAd", "encryptWithAdAsync", "hasKey", "inPlace", "inPlaceFor", "initializeKey", "nonce"]);
    // The budget holds for whoever holds the state.
    expect(() => state.encryptWithAd(new Uint8Array(0), new Uint8Array(101))).toThrow(expect.objectContaining({ code: "XPPG_ERR_KEY_EXHAUSTED" }) as Error);
  });

  it("are out of reach of code that holds a page's CipherStateBase", () => {
    const state = new CipherStateBase(nodeCryptoProvider, new Uint8Array(32), "AESGCM", 100);
    expect(reachable(state)).toEqual(["cipher", "constructor", "decryptWithAd", "decryptWithAdAsync", "encryptWithAd", "encryptWithAdAsync", "hasKey", "initializeKey", "nonce"]);
  });

  it("have accessors neither entry exports", () => {
    expect(Object.keys(nodeEntry).filter((k) => /internal/i.test(k))).toEqual([]);
    expect(Object.keys(pageEntry).filter((k) => /internal/i.test(k))).toEqual([]);
  });
});
