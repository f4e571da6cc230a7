import { describe, expect, it } from "vitest";
import { ERROR_TEXTS, TEXTS_LEFT_OUT, XppgError, isXppgError, toError, valuesMessage, XPPG_ERROR_TAG } from "../src/index.js";

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

  it("takes the values of a text left out in place of its message, and keeps everything else", () => {
    const cause = new Error("low level");
    const err = new FrameError("XPPG_ERR_TEST", ["sent", 70_000, ["nested", 4]], { cause, details: { size: 70_000 } });
    expect(err.message).toBe(`XPPG_ERR_TEST: sent, 70000, nested, 4 — ${TEXTS_LEFT_OUT}`);
    expect(err.code).toBe("XPPG_ERR_TEST");
    expect(err.name).toBe("FrameError");
    expect(err.cause).toBe(cause);
    expect(err.toJSON()).toEqual({ name: "FrameError", code: "XPPG_ERR_TEST", message: err.message, details: { size: 70_000 } });
    expect(new FrameError("XPPG_ERR_TEST", []).message).toBe(`XPPG_ERR_TEST — ${TEXTS_LEFT_OUT}`);
    expect(valuesMessage("", [undefined, null, 0])).toBe(`0 — ${TEXTS_LEFT_OUT}`);
    expect(TEXTS_LEFT_OUT).toContain("@xppg/errors/ERRORS.md");
  });

  it("ends a message with the sentence once, however many messages of texts left out it embeds, and shows no empty value", () => {
    const inner = new Error(valuesMessage("XPPG_ERR_INNER", []));
    const dial = valuesMessage("XPPG_ERR_DIAL_FAILED", ["ws://127.0.0.1:9/", "", `(${inner.message})`]);
    expect(dial).toBe(`XPPG_ERR_DIAL_FAILED: ws://127.0.0.1:9/, (XPPG_ERR_INNER) — ${TEXTS_LEFT_OUT}`);
    expect(dial.split(TEXTS_LEFT_OUT)).toHaveLength(2);
    expect(valuesMessage("XPPG_ERR_RESET", [valuesMessage("XPPG_ERR_WRITE", [valuesMessage("XPPG_ERR_INNER", [3])])])).toBe(`XPPG_ERR_RESET: XPPG_ERR_WRITE: XPPG_ERR_INNER: 3 — ${TEXTS_LEFT_OUT}`);
    expect(valuesMessage("XPPG_ERR_RATE_LIMITED", ["messagesPerSecond", "", undefined])).toBe(`XPPG_ERR_RATE_LIMITED: messagesPerSecond — ${TEXTS_LEFT_OUT}`);
    expect(valuesMessage("XPPG_ERR_TEST", [0, false, null])).toBe(`XPPG_ERR_TEST: 0, false — ${TEXTS_LEFT_OUT}`);
  });

  it("does not repeat a plain error's name, which it shows before its message (its code passed as \"\")", () => {
    const range = new RangeError(valuesMessage("", [65_536, 70_000]));
    expect(String(range)).toBe(`RangeError: 65536, 70000 — ${TEXTS_LEFT_OUT}`);
    const bare = new Error(valuesMessage("", []));
    expect(String(bare)).toBe(`Error: ${TEXTS_LEFT_OUT}`);
    // Embedded in another message, either keeps its values and loses the sentence.
    expect(valuesMessage("XPPG_ERR_DIAL_FAILED", ["ws://h/", String(range), bare.message])).toBe(`XPPG_ERR_DIAL_FAILED: ws://h/, RangeError: 65536, 70000 — ${TEXTS_LEFT_OUT}`);
    expect(valuesMessage("XPPG_ERR_DIAL_FAILED", [String(bare)])).toBe(`XPPG_ERR_DIAL_FAILED: Error — ${TEXTS_LEFT_OUT}`);
  });

  it("shows a symbol value as String() does (a template would throw on it)", () => {
    expect(valuesMessage("XPPG_ERR_TEST", [Symbol("s"), 1])).toBe(`XPPG_ERR_TEST: Symbol(s), 1 — ${TEXTS_LEFT_OUT}`);
  });

  it("has the texts on in Node (a page's production build alone turns them off)", () => {
    expect(ERROR_TEXTS).toBe(true);
  });
});

