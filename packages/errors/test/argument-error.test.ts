import { describe, expect, it } from "vitest";
import { TEXTS_LEFT_OUT, argumentError, badArgumentError, isXppgError, XPPG_ERROR_TAG } from "../src/index.js";

describe("argumentError", () => {
  it("is the RangeError or TypeError asked for, with XPPG_ERR_INVALID_ARGUMENT, the tag and XppgError's toJSON", () => {
    for (const Kind of [RangeError, TypeError]) {
      const error = argumentError(Kind, "f(x): x must be 1, got 2. Pass 1.");
      expect(error).toBeInstanceOf(Kind);
      expect(error.name).toBe(Kind.name);
      expect(error.code).toBe("XPPG_ERR_INVALID_ARGUMENT");
      expect(error[XPPG_ERROR_TAG as never]).toBe(true);
      expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
      expect(error.message).toBe("f(x): x must be 1, got 2. Pass 1.");
      expect(JSON.parse(JSON.stringify(error))).toEqual({ name: Kind.name, code: "XPPG_ERR_INVALID_ARGUMENT", message: error.message });
      expect(String(error.stack)).toMatch(new RegExp(`^${Kind.name}: f\\(x\\)`));
      // XppgError's toJSON as a method: not an own enumerable field that logs and spreads show.
      expect(Object.keys(error)).not.toContain("toJSON");
    }
  });

  it("has the stack of the code that passed the bad argument (this file)", () => {
    const thrower = (): never => {
      throw badArgumentError(RangeError, "f", "x", ["1", 2]);
    };
    let caught: unknown;
    try {
      thrower();
    } catch (error) {
      caught = error;
    }
    const lines = String((caught as Error).stack).split("\n").slice(1);
    expect(lines.some((line) => line.includes("argument-error.test.ts"))).toBe(true);
  });
});

describe("badArgumentError", () => {
  it("names the call and the option, shows what it got and what to pass, and for an option that it may be left out", () => {
    const error = badArgumentError(RangeError, "tcpTransport", "maxFrameSize", ["an integer from 0 to 10", -1, true]);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe("XPPG_ERR_INVALID_ARGUMENT");
    expect(error.message).toBe("tcpTransport: maxFrameSize must be an integer from 0 to 10, got -1. Pass an integer from 0 to 10, or leave maxFrameSize out for its default.");
    expect(badArgumentError(TypeError, "identity.sign", "data", ["a Uint8Array", "abc"]).message).toBe('identity.sign: data must be a Uint8Array, got "abc". Pass a Uint8Array.');
  });

  it("shows a value short and printable: a long string cut, objects, arrays, functions and symbols by their kind", () => {
    const shown = (value: unknown): string => badArgumentError(TypeError, "f", "x", ["a number", value]).message.replace(/^f: x must be a number, got (.*)\. Pass a number\.$/s, "$1");
    expect(shown("y".repeat(100_000))).toBe(JSON.stringify(`${"y".repeat(60)}...`));
    expect(shown("line\nbreak")).toBe('"line\\nbreak"');
    expect(shown({ toString: () => "z".repeat(100_000) })).toBe("an object");
    expect(shown([1, 2, 3])).toBe("an array");
    expect(shown(() => 1)).toBe("a function");
    expect(shown(Symbol("s"))).toBe("a symbol");
    expect(shown(Object.create(null))).toBe("an object");
    expect(shown(new Proxy({}, { get: () => { throw new Error("trap"); }, ownKeys: () => { throw new Error("trap"); } }))).toBe("an object");
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    expect(shown(proxy)).toBe("an object");
    expect([shown(undefined), shown(null), shown(1.5), shown(NaN), shown(10n), shown(false)]).toEqual(["undefined", "null", "1.5", "NaN", "10n", "false"]);
  });

  it("without its words (a page's production build passes `ERROR_TEXTS && [...]`, false there): the code, the call and the option", () => {
    const error = badArgumentError(TypeError, "secureConnection", "signal", false);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`XPPG_ERR_INVALID_ARGUMENT: secureConnection, signal — ${TEXTS_LEFT_OUT}`);
  });
});
