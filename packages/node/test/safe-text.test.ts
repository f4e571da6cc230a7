import { describe, expect, it } from "vitest";
import { safeText } from "../src/index.js";

describe("safeText", () => {
  it("removes C0 and C1 controls and DEL, keeps tabs and line breaks, turns CR into a break", () => {
    expect(safeText("a\u001b[31mb\u0007c\u007f\u0085\u009bd\te\r\nf\rg")).toBe("a[31mbcd\te\nf\ng");
  });

  it("removes bidi embeddings, overrides, isolates and marks", () => {
    expect(safeText("invoice\u202Efdp.exe")).toBe("invoicefdp.exe");
    expect(safeText("\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069h\u200Ei\u200Fj\u061Ck")).toBe("abcdefghijk");
  });

  it("singleLine folds white space and removes line breaks; removeInvisible removes zero-width characters", () => {
    expect(safeText("a \n\t b", { singleLine: true })).toBe("a b");
    expect(safeText("a\u200Bb\u200Dc\u2060d\uFEFFe", { removeInvisible: true })).toBe("abcde");
    expect(safeText("a\u200Bb")).toBe("a\u200Bb");
  });

  it("keeps every script and emoji as they are", () => {
    const text = "שלום مرحبا 你好 🙂 Ünïcödé";
    expect(safeText(text)).toBe(text);
  });
});
