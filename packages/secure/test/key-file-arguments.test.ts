import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { loadOrCreateIdentity, loadOrCreateIdentitySync } from "../src/key-file.js";

describe("the key file's path argument", () => {
  it.each([["", '""'], [42, "42"], [undefined, "undefined"], [null, "null"]])("%j: a TypeError with XPPG_ERR_INVALID_ARGUMENT naming path and what it got", async (path, shown) => {
    const asyncError = await loadOrCreateIdentity(path as never).catch((e: unknown) => e);
    let syncError: unknown;
    try {
      loadOrCreateIdentitySync(path as never);
    } catch (e) {
      syncError = e;
    }
    for (const error of [asyncError, syncError]) {
      expect(error).toBeInstanceOf(TypeError);
      expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
      expect((error as Error).message).toContain(`path must be the key file's path, a non-empty string (for example "./identity.key"), got ${shown}.`);
    }
  });
});
