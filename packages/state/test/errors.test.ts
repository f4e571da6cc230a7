import { isXppgError, XppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { STATE_ERROR_CODES, StateError } from "../src/index.js";

describe("StateError", () => {
  it("is an XppgError with a stable code, recognised by its tag", () => {
    const error = new StateError(STATE_ERROR_CODES.TOO_MANY_KEYS, "too many", { details: { maxKeys: 1 } });
    expect(error).toBeInstanceOf(XppgError);
    expect(error.name).toBe("StateError");
    expect(isXppgError(error, "XPPG_ERR_STATE_TOO_MANY_KEYS")).toBe(true);
    expect(error.toJSON()).toEqual({ name: "StateError", code: "XPPG_ERR_STATE_TOO_MANY_KEYS", message: "too many", details: { maxKeys: 1 } });
  });

  it("has unique codes, all prefixed XPPG_ERR_STATE_", () => {
    const codes = Object.values(STATE_ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^XPPG_ERR_STATE_[A-Z_]+$/);
  });
});
