import { describe, expect, it } from "vitest";
import { cleanName, cleanText, parseChatPayload } from "../src/index.js";
import { parseNamePayload } from "../src/chat-message.js";

const limits = { maxNameLength: 8, maxTextLength: 10 };

describe("chat payloads", () => {
  it("cleanName removes controls, zero-width and bidi characters and folds spaces", () => {
    expect(cleanName(" a\u001b[1m \u202eb\u200b\n\tc ")).toBe("a[1m b c");
    expect(cleanName("\u0000\u009f\ufeff")).toBe("");
  });

  it("cleanText keeps tabs and line breaks, turns CR into a break and drops other controls", () => {
    expect(cleanText("a\r\nb\rc\td\u001b[0m\u007f\u0085")).toBe("a\nb\nc\td[0m");
  });

  it("cleanText drops bidi overrides and isolates, so a text cannot show reordered", () => {
    expect(cleanText("pay to \u202Eevil\u202C and \u2067x\u2069")).toBe("pay to evil and x");
  });

  it("accepts { user, text } within the limits, cleaned, extra fields dropped", () => {
    expect(parseChatPayload({ user: " eve ", text: "hi", x: 1 }, limits)).toEqual({ ok: true, value: { user: "eve", text: "hi" } });
    expect(parseChatPayload({ user: "e".repeat(8), text: "t".repeat(10) }, limits)).toMatchObject({ ok: true });
  });

  it("refuses, with a reason, anything else", () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /not an object/],
      ["x", /not an object/],
      [[], /not an object/],
      [new Uint8Array(1), /not an object/],
      [{ text: "x" }, /user name is not a string/],
      [{ user: "e" }, /text is not a string/],
      [{ user: " \u200b", text: "x" }, /user name is empty/],
      [{ user: "e".repeat(9), text: "x" }, /longer than 8/],
      [{ user: "e".repeat(1e6), text: "x" }, /longer than 8/],
      [{ user: "e", text: "t".repeat(11) }, /longer than 10/],
      [{ user: "e", text: " \u001b " }, /text is empty/],
    ];
    for (const [payload, reason] of cases) {
      const parsed = parseChatPayload(payload, limits);
      expect(parsed.ok, JSON.stringify(payload)?.slice(0, 40)).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(reason);
    }
  });
});

describe("parseNamePayload (the name a peer sends when we meet)", () => {
  it("accepts { user } and cleans it", () => {
    expect(parseNamePayload({ user: " bo\u001b[2Jb " }, limits)).toEqual({ ok: true, value: "bo[2Jb" });
  });

  it("refuses what is not a name within the limit", () => {
    for (const payload of [null, "bob", [], { user: 7 }, { user: "" }, { user: "\u200b" }, { user: "x".repeat(9) }, { user: "x".repeat(10_000) }]) {
      expect(parseNamePayload(payload, limits).ok, JSON.stringify(payload)?.slice(0, 30)).toBe(false);
    }
  });
});
