import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { tcpTransport } from "../src/index.js";

describe("tcpTransport's argument errors", () => {
  it("listen without an onConnection function: a TypeError with XPPG_ERR_INVALID_ARGUMENT naming onConnection and what it got", async () => {
    const error = await tcpTransport().listen("tcp://127.0.0.1:0", "nope" as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain("onConnection must be a function");
    expect((error as Error).message).toContain("got string");
  });
});
