import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { tcpTransport } from "../src/index.js";

describe("tcpTransport's argument errors", () => {
  it("listen without an onConnection function: a TypeError with XPPG_ERR_INVALID_ARGUMENT naming onConnection and what it got", async () => {
    const error = await tcpTransport().listen("tcp://127.0.0.1:0", "nope" as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain("onConnection must be a function");
    expect((error as Error).message).toContain('got "nope"');
    // null shown as null, not as its typeof ("object").
    const none = await tcpTransport().listen("tcp://127.0.0.1:0", null as never).catch((e: unknown) => e);
    expect((none as Error).message).toContain("onConnection must be a function that takes each new connection, got null.");
  });
});

describe("tcpTransport's option errors", () => {
  it.each([
    ["maxFrameSize", -1, "from 0 to"],
    ["highWaterMark", 0, "of at least 1"],
    ["dialTimeoutMs", 1.5, "from 1 to"],
    ["closeTimeoutMs", "5000", "from 1 to"],
    ["keepAliveInitialDelayMs", -5, "from 0 to"],
  ])("%s %j: a RangeError with XPPG_ERR_INVALID_ARGUMENT naming the option, what it got and the range", (option, value, range) => {
    let error: unknown;
    try {
      tcpTransport({ [option]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain(`tcpTransport: ${option} must be an integer ${range}`);
    expect((error as Error).message).toContain(`got ${JSON.stringify(value)}.`);
    expect((error as Error).message).toContain(`or leave ${option} out for its default.`);
  });

  it("listen's maxPendingConnections 0: the same error, naming listen", async () => {
    const error = await tcpTransport().listen("tcp://127.0.0.1:0", () => {}, { maxPendingConnections: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain("listen: maxPendingConnections must be an integer of at least 1, got 0.");
  });
});
