// The page's identity store outside a page: Node has no IndexedDB, so it
// rejects in words (the real-browser tests of @xppg/node and the web chat
// check it in Chromium: the same peer id after a reload, another per name).
import { describe, expect, it } from "vitest";
import { IDENTITY_DB_NAME, loadOrCreateStoredIdentity, storedIdentityProtection } from "../src/index.js";
import * as browser from "../src/browser.js";

describe("loadOrCreateStoredIdentity", () => {
  it("rejects with XPPG_ERR_IDENTITY_STORE where there is no IndexedDB, saying what to do", async () => {
    for (const load of [loadOrCreateStoredIdentity, browser.loadOrCreateStoredIdentity]) {
      await expect(load("my-app")).rejects.toMatchObject({
        code: "XPPG_ERR_IDENTITY_STORE",
        message: expect.stringMatching(new RegExp(`IndexedDB "${IDENTITY_DB_NAME}".*generateIdentity\\(\\)`)) as unknown,
      });
    }
  });

  it("refuses an empty or over-long name before touching storage", async () => {
    for (const name of ["", "x".repeat(257), 7 as unknown as string]) {
      await expect(browser.loadOrCreateStoredIdentity(name)).rejects.toMatchObject({ code: "XPPG_ERR_IDENTITY_STORE", message: expect.stringContaining("1 to 256 characters") as unknown });
    }
  });

  it("seals new keys where WebCrypto exists", () => {
    // Node 20 has globalThis.crypto.subtle, as secure-context pages do.
    expect(storedIdentityProtection()).toBe("webcrypto-wrapped");
  });
});
