import { describe, expect, it } from "vitest";
import { MAX_GATEWAY_TEXT_CHARS } from "../src/constants.js";
import { gatewayText } from "../src/errors.js";

describe("gatewayText", () => {
  it("turns every run of C0, DEL and C1 controls into one space", () => {
    expect(gatewayText("\u001b[31mred\u001b[0m")).toBe("[31mred [0m");
    expect(gatewayText("a\r\n\tb\u0000c\u007fd\u0085e\u009b2Jf")).toBe("a b c d e 2Jf");
    expect(gatewayText("\u0007\u0008")).toBe("");
  });

  it("keeps ordinary text, including non-Latin letters and emoji", () => {
    expect(gatewayText("ConflictInMappingEntry")).toBe("ConflictInMappingEntry");
    expect(gatewayText("Fehler: Port belegt – 端口 😀")).toBe("Fehler: Port belegt – 端口 😀");
  });

  it(`cuts long text at ${MAX_GATEWAY_TEXT_CHARS} characters, never inside a surrogate pair`, () => {
    const long = gatewayText("x".repeat(100_000));
    expect(long).toBe(`${"x".repeat(MAX_GATEWAY_TEXT_CHARS)}…`);
    const emoji = gatewayText("😀".repeat(300));
    expect(Array.from(emoji)).toHaveLength(MAX_GATEWAY_TEXT_CHARS + 1);
    expect(emoji.endsWith("😀…")).toBe(true);
    expect(gatewayText("abcdef", 3)).toBe("abc…");
    expect(gatewayText("abc", 3)).toBe("abc");
  });
});
