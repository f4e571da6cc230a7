import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { memoryTransport } from "../src/index.js";

/** What was thrown (or rejected with) by `fn`. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("nothing was thrown");
}

/** A bad argument's error: still the RangeError or TypeError it was, with XPPG_ERR_INVALID_ARGUMENT and words naming it. */
function expectArgumentError(error: unknown, Kind: typeof RangeError | typeof TypeError, ...words: string[]): void {
  expect(error).toBeInstanceOf(Kind);
  expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
  for (const w of words) expect((error as Error).message).toContain(w);
}

describe("memoryTransport's argument errors", () => {
  it.each([
    ["maxFrameSize", -1, "an integer of at least 0", "-1"],
    ["maxFrameSize", 1.5, "an integer of at least 0", "1.5"],
    ["highWaterMark", 0, "an integer of at least 1", "0"],
    ["highWaterMark", "16", "an integer of at least 1", '"16"'],
  ])("%s %j: a RangeError with XPPG_ERR_INVALID_ARGUMENT naming the option, what it got and what to pass", async (option, value, allowed, shown) => {
    expectArgumentError(
      await thrown(() => memoryTransport({ [option]: value })),
      RangeError,
      `memoryTransport: ${option} must be ${allowed}, got ${shown}. Pass ${allowed}, or leave ${option} out for its default.`,
    );
  });

  it("host: a string of 1 to 200 characters; a long one is shown cut, not whole", async () => {
    expectArgumentError(await thrown(() => memoryTransport({ host: "" })), RangeError, 'memoryTransport: host must be a string of 1 to 200 characters, got "".');
    const long = await thrown(() => memoryTransport({ host: "h".repeat(100_000) }));
    expectArgumentError(long, RangeError, `got "${"h".repeat(60)}..."`);
    expect((long as Error).message.length).toBeLessThan(300);
    expectArgumentError(await thrown(() => memoryTransport({ host: { toString: () => "x" } as never })), RangeError, "got an object");
  });

  it("listen without an onConnection function, or with maxPendingConnections 0; dial with timeoutMs 0", async () => {
    const t = memoryTransport();
    expectArgumentError(await thrown(() => t.listen("memory://", "nope" as never)), TypeError, 'listen(address, onConnection): onConnection must be a function that takes each new connection, got "nope".');
    expectArgumentError(await thrown(() => t.listen("memory://", () => {}, { maxPendingConnections: 0 })), RangeError, "listen: maxPendingConnections must be an integer of at least 1, got 0.");
    const listener = await t.listen("memory://", () => {});
    expectArgumentError(await thrown(() => t.dial(listener.address, { timeoutMs: 0 })), RangeError, "dial: timeoutMs must be an integer from 1 to ");
    await listener.close();
  });
});
