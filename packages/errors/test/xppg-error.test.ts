import { describe, expect, it } from "vitest";
import { XppgError, isXppgError, toError, XPPG_ERROR_TAG } from "../src/index.js";

class FrameError extends XppgError {}

describe("XppgError", () => {
  it("carries a stable code, the subclass name and the cause", () => {
    const cause = new Error("low level");
    const err = new FrameError("XPPG_ERR_TEST", "what happened; what to do", { cause, details: { limit: 4 } });
    expect(err.code).toBe("XPPG_ERR_TEST");
    expect(err.name).toBe("FrameError");
    expect(err.cause).toBe(cause);
    expect(err.details).toEqual({ limit: 4 });
    expect(err.toJSON()).toEqual({ name: "FrameError", code: "XPPG_ERR_TEST", message: "what happened; what to do", details: { limit: 4 } });
  });

  it("is recognised through the global symbol tag, not instanceof", () => {
    const foreign = Object.assign(new Error("from another copy"), { code: "XPPG_ERR_X", [Symbol.for("@xppg/error")]: true });
    expect(isXppgError(foreign)).toBe(true);
    expect(isXppgError(foreign, "XPPG_ERR_X")).toBe(true);
    expect(isXppgError(foreign, "XPPG_ERR_Y")).toBe(false);
    expect(isXppgError(new Error("plain"))).toBe(false);
    expect(isXppgError(null)).toBe(false);
    expect(new XppgError("A", "b")[XPPG_ERROR_TAG]).toBe(true);
  });

  it("toError keeps errors and wraps anything else", () => {
    const e = new Error("x");
    expect(toError(e)).toBe(e);
    expect(toError("text").message).toBe("text");
    expect(toError(42).message).toContain("42");
  });
});
